// The one way tests run git: in a folder, as a fixed author (no global config needed), failing
// with git's stderr.
import { execFileSync } from "node:child_process";

const TEST_AUTHOR = ["-c", "user.name=test", "-c", "user.email=test@example.com"] as const;

/** git's output without its surrounding whitespace (a revision, a status line, a list). */
export function git(cwd: string, ...args: string[]): string {
  return gitText(cwd, ...args).trim();
}

/** git's output as it is, for file contents (`git show REV:FILE`). */
export function gitText(cwd: string, ...args: string[]): string {
  return execFileSync("git", [...TEST_AUTHOR, ...args], { cwd, stdio: "pipe" }).toString();
}
