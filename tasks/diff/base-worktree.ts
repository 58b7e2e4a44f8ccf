// The merge base, checked out beside the working tree (`git worktree add --detach`) for one run and
// removed afterwards, so both sides render from real files through the same engine and cache.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TaskContext } from "../../core/context.ts";
import { ToolError } from "../../core/errors.ts";

export interface BaseWorktree {
  /** The repository root of the checkout. */
  top: string;
  /** Where the fleet's root (`root` inside the working tree) is in the checkout. */
  root: string;
  remove(): Promise<void>;
}

const GIT_ENV = { GIT_PAGER: "cat", GIT_TERMINAL_PROMPT: "0", GIT_OPTIONAL_LOCKS: "0" };

export async function checkoutBase(context: TaskContext, root: string, commit: string): Promise<BaseWorktree> {
  const git = (args: readonly string[], cwd = root) =>
    context.runner.run("git", ["-c", "core.quotepath=off", ...args], { cwd, env: GIT_ENV });
  const prefix = await git(["rev-parse", "--show-prefix"]);
  if (prefix.exitCode !== 0)
    throw new ToolError("git cannot read the repository", { command: prefix.command, exitCode: prefix.exitCode, stderr: prefix.stderr });
  const parent = await mkdtemp(path.join(tmpdir(), "gitops-ci-base-"));
  const top = path.join(parent, "checkout");
  // Deleting the checkout and pruning is what `git worktree remove --force` does, in one git run less.
  const remove = async () => {
    await rm(parent, { recursive: true, force: true });
    await git(["worktree", "prune"]);
  };
  const added = await git(["worktree", "add", "--detach", "--quiet", top, commit]);
  if (added.exitCode !== 0) {
    await remove();
    throw new ToolError(`git could not check out ${commit} to compare with`, {
      command: added.command,
      exitCode: added.exitCode,
      stderr: added.stderr,
    });
  }
  return { top, root: path.join(top, prefix.stdout.trim()), remove };
}
