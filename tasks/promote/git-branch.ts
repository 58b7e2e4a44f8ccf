// The promotion branch: one commit on top of HEAD holding the promoted files, pushed to the
// remote only when its content differs from what the branch already holds. The commit is built in
// a temporary index, so the user's branch, index and other changes stay as they were.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TaskContext } from "../../core/context.ts";
import { ToolError, UserError } from "../../core/errors.ts";
import type { RunResult } from "../../core/process-runner.ts";

export interface GitRemote {
  /** A remote name (`origin`) or URL. */
  name: string;
  /** Extra environment for git (credentials through a helper that reads it; never in arguments). */
  env?: Record<string, string>;
}

export interface PromotionBranch {
  branch: string;
  /** False when the remote branch already holds exactly these files. */
  pushed: boolean;
  /** The commit the remote branch points at after this run. */
  commit: string;
  created: boolean;
}

export class Git {
  readonly #context: TaskContext;
  readonly #cwd: string;

  constructor(context: TaskContext, cwd: string) {
    this.#context = context;
    this.#cwd = cwd;
  }

  /** Runs git; a non-zero exit is a ToolError unless `allowFailure`. */
  async run(
    args: readonly string[],
    options: { env?: Record<string, string | undefined>; allowFailure?: boolean } = {},
  ): Promise<RunResult> {
    const result = await this.#context.runner.run("git", args, { cwd: this.#cwd, ...(options.env ? { env: options.env } : {}) });
    if (result.exitCode !== 0 && !options.allowFailure) {
      throw new ToolError(`git ${args[0]} failed`, { command: result.command, exitCode: result.exitCode, stderr: result.stderr });
    }
    return result;
  }

  async output(args: readonly string[], env?: Record<string, string | undefined>): Promise<string> {
    return (await this.run(args, env ? { env } : {})).stdout.trim();
  }

  async topLevel(): Promise<string> {
    const result = await this.run(["rev-parse", "--show-toplevel"], { allowFailure: true });
    if (result.exitCode !== 0) {
      throw new UserError(`${this.#cwd} is not inside a git repository`, {
        hint: "promote pushes a branch: run it in a clone of the GitOps repository, or pass --dry-run",
      });
    }
    return result.stdout.trim();
  }

  async currentBranch(): Promise<string | undefined> {
    const result = await this.run(["symbolic-ref", "--short", "-q", "HEAD"], { allowFailure: true });
    return result.exitCode === 0 ? result.stdout.trim() || undefined : undefined;
  }

  /** Repository-relative paths below `paths` with uncommitted changes. */
  async uncommitted(paths: readonly string[]): Promise<string[]> {
    const status = await this.output(["status", "--porcelain", "--untracked-files=all", "--", ...paths]);
    return status === "" ? [] : status.split("\n").map((line) => line.slice(3));
  }
}

export interface PushOptions {
  branch: string;
  /** Absolute paths of the files the promotion wrote. */
  files: readonly string[];
  message: string;
  remote: GitRemote;
  author: { name: string; email: string };
}

export async function pushPromotionBranch(git: Git, options: PushOptions): Promise<PromotionBranch> {
  const top = await git.topLevel();
  const relative = options.files.map((file) => path.relative(top, file).split(path.sep).join("/"));
  const scratch = await mkdtemp(path.join(tmpdir(), "gitops-ci-promote-"));
  try {
    const index = { GIT_INDEX_FILE: path.join(scratch, "index") };
    await git.run(["read-tree", "HEAD"], { env: index });
    await git.run(["add", "--", ...relative], { env: index });
    const tree = await git.output(["write-tree"], index);

    const remoteEnv = options.remote.env ?? {};
    const ref = `refs/heads/${options.branch}`;
    const listed = await git.output(["ls-remote", "--heads", options.remote.name, ref], remoteEnv);
    const remoteCommit = listed
      .split("\n")
      .find((line) => line.endsWith(`\t${ref}`))
      ?.split("\t")[0];
    if (remoteCommit) {
      await git.run(["fetch", "--no-tags", "--quiet", options.remote.name, ref], { env: remoteEnv });
      const remoteTree = await git.output(["rev-parse", "FETCH_HEAD^{tree}"]);
      if (remoteTree === tree) return { branch: options.branch, pushed: false, commit: remoteCommit, created: false };
    }

    const identity = {
      GIT_AUTHOR_NAME: options.author.name,
      GIT_AUTHOR_EMAIL: options.author.email,
      GIT_COMMITTER_NAME: options.author.name,
      GIT_COMMITTER_EMAIL: options.author.email,
    };
    const commit = await git.output(["commit-tree", tree, "-p", "HEAD", "-m", options.message], identity);
    // The branch is gitops-ci's own: replace it, unless someone else pushed since we looked.
    await git.run(["push", "--quiet", `--force-with-lease=${ref}:${remoteCommit ?? ""}`, options.remote.name, `${commit}:${ref}`], {
      env: remoteEnv,
    });
    return { branch: options.branch, pushed: true, commit, created: remoteCommit === undefined };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * In a GitLab job the clone's `origin` carries the job token, which may not push. With an access
 * token, push to the project's URL and hand git the token through a credential helper that reads
 * it from the environment: it never appears in a command line or a remote URL.
 */
export function gitLabRemote(env: Readonly<Record<string, string | undefined>>, token: string | undefined): GitRemote {
  const server = env["CI_SERVER_URL"]?.trim();
  const project = env["CI_PROJECT_PATH"]?.trim();
  if (!token || !server || !project) return { name: "origin" };
  return {
    name: `${server.replace(/\/+$/, "")}/${project}.git`,
    env: {
      GIT_CONFIG_COUNT: "2",
      GIT_CONFIG_KEY_0: "credential.helper",
      GIT_CONFIG_VALUE_0: "",
      GIT_CONFIG_KEY_1: "credential.helper",
      GIT_CONFIG_VALUE_1: '!f() { test "$1" = get && echo username=oauth2 && echo "password=$GITOPS_CI_GIT_TOKEN"; }; f',
      GITOPS_CI_GIT_TOKEN: token,
      GIT_TERMINAL_PROMPT: "0",
    },
  };
}
