// Root reads every file whatever its mode, so a permission test cannot be run as root. Rather than
// skip it there (CI runs as root), the command under test runs as `nobody`, through util-linux's
// setpriv, on a tree that user may read except where the test says otherwise.
import { execFile } from "node:child_process";
import { chmod, readdir } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { PROJECT_ROOT } from "../../core/toolchain.ts";

const NOBODY = "65534";

/** Opens the tree to other users (folders a+rx, files a+r), so `nobody` reads what a user would. */
async function openTree(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const target = path.join(dir, entry.name);
    if (entry.isDirectory()) await openTree(target);
    else if (entry.isFile()) await chmod(target, 0o644);
  }
}

export interface UnprivilegedRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `gitops-ci <args>` as an unprivileged user: `nobody` when the tests run as root, else the
 * current user. `prepare` runs after the tree is opened, to take permissions away again.
 */
export async function runGitopsCiUnprivileged(
  root: string,
  args: readonly string[],
  prepare: () => Promise<void>,
): Promise<UnprivilegedRun> {
  await openTree(root);
  await prepare();
  const command = [process.execPath, path.join(PROJECT_ROOT, "bin", "gitops-ci.js"), ...args];
  const asRoot = process.getuid?.() === 0;
  const [file, ...rest] = asRoot ? ["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "--", ...command] : command;
  try {
    const { stdout, stderr } = await promisify(execFile)(file!, rest, {
      env: { PATH: process.env["PATH"] ?? "", HOME: root },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { exitCode: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof failed.code !== "number") throw error;
    return { exitCode: failed.code, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}
