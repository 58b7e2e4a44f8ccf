// Git steps for change-detection tests: branch, edit, commit, as a merge request would.
import { cp, mkdir, rm, writeFile, appendFile } from "node:fs/promises";
import path from "node:path";
import { PROJECT_ROOT } from "../../../core/toolchain.ts";
import { git } from "../../helpers/git.ts";
import { makeTempDir } from "../../helpers/temp-repo.ts";

export { git };

/** A git repository holding a copy of a bundled example (optionally in a sub-folder), committed on main. */
export async function gitRepoFromExample(relative: string, subfolder = ""): Promise<{ repo: string; root: string }> {
  const repo = await makeTempDir();
  const root = path.join(repo, subfolder);
  await cp(path.join(PROJECT_ROOT, relative), root, { recursive: true });
  git(repo, "init", "-q", "-b", "main");
  git(repo, "add", ".");
  git(repo, "commit", "-q", "-m", "initial");
  return { repo, root };
}

export function branch(root: string, name = "feature"): void {
  git(root, "checkout", "-q", "-b", name);
}

export async function edit(root: string, file: string, line = "# edited\n"): Promise<void> {
  await mkdir(path.dirname(path.join(root, file)), { recursive: true });
  await appendFile(path.join(root, file), line);
}

export async function write(root: string, file: string, content: string): Promise<void> {
  await mkdir(path.dirname(path.join(root, file)), { recursive: true });
  await writeFile(path.join(root, file), content);
}

export async function remove(root: string, file: string): Promise<void> {
  await rm(path.join(root, file), { recursive: true });
}

export function commitAll(root: string, message = "change"): void {
  git(root, "add", "-A");
  git(root, "commit", "-q", "-m", message);
}
