// The files a merge request changes, as GitLab counts them: everything since the merge base with
// the target, plus what is not committed yet (edited, staged or new and not ignored).
import path from "node:path";
import type { TaskContext } from "../context.ts";
import { ToolError, UserError } from "../errors.ts";

export interface ChangedFiles {
  /** The revision asked for. */
  rev: string;
  /** The commit compared with: the merge base of `rev` and HEAD, or `rev` itself without one. */
  base: string;
  /** Whether a merge base was found (a shallow clone may not reach it). */
  mergeBase: boolean;
  /**
   * Changed paths relative to `root`, `/`-separated and sorted; a rename lists both paths. Files
   * outside `root` (still in the repository) keep `../` so a parent `.sops.yaml` is seen.
   */
  files: string[];
}

const FETCH_HINT =
  "the revision must exist in this clone. GitLab CI clones shallowly (GIT_DEPTH) and only the pipeline's ref: " +
  "fetch the target first, e.g. `git fetch --depth=100 origin $CI_MERGE_REQUEST_TARGET_BRANCH_NAME` and pass " +
  "`--changed-since origin/$CI_MERGE_REQUEST_TARGET_BRANCH_NAME`, or set the variable GIT_DEPTH: 0";

/** `option` names the command-line option the revision came from, in messages. */
export async function changedFiles(context: TaskContext, root: string, rev: string, option = "--changed-since"): Promise<ChangedFiles> {
  const git = gitIn(context, root);
  if (rev.trim() === "" || rev.startsWith("-")) {
    throw new UserError(`invalid revision "${rev}" for ${option}`, { hint: "pass a branch, tag or commit, e.g. origin/main" });
  }
  if (/^(0{40}|0{64})$/.test(rev)) {
    throw new UserError(`no revision to compare with: ${rev} is the empty commit GitLab sets on a branch's first pipeline`, {
      hint: "use $CI_MERGE_REQUEST_DIFF_BASE_SHA in merge request pipelines, or check everything when CI_COMMIT_BEFORE_SHA is all zeros",
    });
  }

  const location = await git(["rev-parse", "--show-prefix"]);
  if (location.exitCode !== 0 && /not a git repository/i.test(location.stderr)) {
    throw new UserError(`${root} is not inside a git repository, so changes since ${rev} cannot be listed`, {
      hint:
        option === "--changed-since"
          ? "run in a clone, or drop --changed-since to check everything"
          : `run in a clone: ${option} compares with a git revision`,
    });
  }
  // Anything else (e.g. "dubious ownership" in a CI container) is git's to explain.
  if (location.exitCode !== 0) throw toolError(`git cannot read the repository at ${root}`, location);
  const prefix = location.stdout.trim();

  const commit = await git(["rev-parse", "--verify", "--quiet", `${rev}^{commit}`]);
  if (commit.exitCode !== 0) {
    throw new UserError(`unknown revision ${rev}: git cannot find it in this clone`, { hint: FETCH_HINT });
  }
  const revCommit = commit.stdout.trim();

  // Like a merge request diff: changes on the target since the branch forked do not count.
  const mergeBase = await git(["merge-base", revCommit, "HEAD"]);
  const base = mergeBase.exitCode === 0 ? mergeBase.stdout.trim() : revCommit;
  if (mergeBase.exitCode !== 0) {
    context.output.err(
      `warning: no merge base of ${rev} and HEAD (shallow clone?); comparing with ${rev} itself, which may include its own newer changes`,
    );
  }

  const diff = await git(["diff", "--name-only", "--no-renames", "--no-relative", "--no-ext-diff", "-z", base, "--"]);
  if (diff.exitCode !== 0) throw toolError("git diff failed", diff);
  const untracked = await git(["ls-files", "--others", "--exclude-standard", "--full-name", "-z", "--", ":/"]);
  if (untracked.exitCode !== 0) throw toolError("git ls-files failed", untracked);

  // Both commands print paths from the top of the repository; re-anchor them at root.
  const rootFromTop = prefix.replace(/\/$/, "");
  const files = new Set<string>();
  for (const file of [...splitNul(diff.stdout), ...splitNul(untracked.stdout)]) {
    files.add(path.posix.relative(rootFromTop || ".", file) || ".");
  }
  return { rev, base, mergeBase: mergeBase.exitCode === 0, files: [...files].sort() };
}

function gitIn(context: TaskContext, root: string) {
  // No pager, no prompts, stable (unquoted with -z) paths whatever the user's git config says.
  const env = { GIT_PAGER: "cat", GIT_TERMINAL_PROMPT: "0", GIT_OPTIONAL_LOCKS: "0" };
  return (args: readonly string[]) => context.runner.run("git", ["-c", "core.quotepath=off", ...args], { cwd: root, env });
}

function splitNul(text: string): string[] {
  return text.split("\0").filter((entry) => entry !== "");
}

function toolError(message: string, result: { command: string; exitCode: number; stderr: string }): ToolError {
  return new ToolError(message, { command: result.command, exitCode: result.exitCode, stderr: result.stderr });
}
