// The oracle for every unified diff we print: `git diff --no-index` on two files.
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

/** `git diff --no-index`'s hunks (its header lines dropped), Myers without git's indent heuristic. */
export function gitDiffNoIndex(cwd: string, a: string, b: string, context = 3): string {
  let text = "";
  try {
    execFileSync("git", ["diff", "--no-index", "--no-color", "--diff-algorithm=myers", "--no-indent-heuristic", `-U${context}`, a, b], {
      cwd,
      stdio: "pipe",
      maxBuffer: 256 * 1024 * 1024,
    });
  } catch (error) {
    // Exit 1: the files differ.
    const failed = error as { status?: number; stdout: Buffer };
    if (failed.status !== 1) throw error;
    text = String(failed.stdout);
  }
  const lines = text.split("\n");
  const first = lines.findIndex((line) => line.startsWith("@@"));
  if (first < 0) return "";
  return lines
    .slice(first)
    .filter((line) => line !== "" && !line.startsWith("\\"))
    .map((line) => (line.startsWith("@@") ? line.replace(/^(@@ [^@]+ @@).*$/, "$1") : line))
    .join("\n");
}

/** The oracle's hunks for two texts, written to a temporary folder. */
export async function gitDiffOfTexts(before: string, after: string, context = 3): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "gitops-ci-oracle-"));
  try {
    await writeFile(path.join(dir, "before.yaml"), before);
    await writeFile(path.join(dir, "after.yaml"), after);
    return gitDiffNoIndex(dir, "before.yaml", "after.yaml", context);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
