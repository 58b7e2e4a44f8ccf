// Throwaway repositories for tests: a tree of files from an object, removed after the test.
import { mkdtemp, mkdir, rm, writeFile, cp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { onTestFinished } from "vitest";
import { PROJECT_ROOT } from "../../core/toolchain.ts";
import { git } from "./git.ts";

export type Tree = Record<string, string>;

export async function makeTempDir(prefix = "gitops-ci-test-"): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export async function writeTree(root: string, tree: Tree): Promise<void> {
  for (const [file, content] of Object.entries(tree)) {
    const target = path.join(root, file);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, content);
  }
}

export async function makeRepo(tree: Tree): Promise<string> {
  const root = await makeTempDir();
  await writeTree(root, tree);
  return root;
}

/** Copies a bundled example so a test can break it without touching the original. */
export async function copyExample(relative: string): Promise<string> {
  const root = await makeTempDir();
  await cp(path.join(PROJECT_ROOT, relative), root, { recursive: true });
  return root;
}

/** A git repository with one commit of the tree, for change detection. */
export async function makeGitRepo(tree: Tree): Promise<string> {
  const root = await makeRepo(tree);
  git(root, "init", "-q", "-b", "main");
  git(root, "add", ".");
  git(root, "commit", "-q", "-m", "initial");
  return root;
}

/** A copy of a fleet (an example or a fixture) with a case of test/fixtures/cases/ laid over it. */
export async function copyCase(base: string, name: string): Promise<string> {
  const root = await copyExample(base);
  await cp(path.join(PROJECT_ROOT, "test/fixtures/cases", name), root, { recursive: true });
  return root;
}

export function examplePath(relative: string): string {
  return path.join(PROJECT_ROOT, relative);
}
