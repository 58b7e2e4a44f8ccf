// Lists a repository's files the way a reviewer sees them: no VCS, dependency or tool folders.
import type { Dirent } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";

// .gitops-ci-cache: the render cache the GitLab component keeps in the project folder.
const SKIPPED_DIRECTORIES = new Set([".git", "node_modules", ".tools", ".terraform", ".gitops-ci", ".gitops-ci-cache", "vendor"]);

/** Every entry below `under`, sorted per folder, outside the skipped folders; unreadable folders are passed over. */
async function* repoEntries(root: string, under: string): AsyncGenerator<{ relative: string; entry: Dirent }> {
  let entries: Dirent[];
  try {
    entries = await readdir(path.join(root, under), { withFileTypes: true });
  } catch {
    return;
  }
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    const relative = under === "." ? entry.name : path.posix.join(under, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRECTORIES.has(entry.name)) yield* repoEntries(root, relative);
    } else {
      yield { relative, entry };
    }
  }
}

export async function listRepoFiles(root: string, under = "."): Promise<string[]> {
  const files: string[] = [];
  for await (const { relative, entry } of repoEntries(root, under)) if (entry.isFile()) files.push(relative);
  return files;
}

/**
 * Leaves out the files of Helm charts kept in the repository (a folder with a Chart.yaml): their
 * templates are Go templates, not YAML, and what they make is checked in the release's render.
 */
export function withoutChartFiles(files: readonly string[]): string[] {
  const charts = files.filter((file) => path.posix.basename(file) === "Chart.yaml").map((file) => path.posix.dirname(file));
  if (charts.length === 0) return [...files];
  return files.filter((file) => !charts.some((chart) => chart === "." || file.startsWith(`${chart}/`)));
}

export function isYamlFile(file: string): boolean {
  return /\.ya?ml$/i.test(file);
}

export async function pathExists(absolutePath: string): Promise<boolean> {
  try {
    await stat(absolutePath);
    return true;
  } catch {
    return false;
  }
}

export async function isDirectory(absolutePath: string): Promise<boolean> {
  try {
    return (await stat(absolutePath)).isDirectory();
  } catch {
    return false;
  }
}

export async function subdirectories(absolutePath: string): Promise<string[]> {
  try {
    const entries = await readdir(absolutePath, { withFileTypes: true });
    return entries
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith("."))
      .map((entry) => entry.name)
      .sort();
  } catch {
    return [];
  }
}

/** A file's text when it is at most `maxBytes` long; undefined when larger, unreadable or missing. */
export async function readTextUpTo(absolutePath: string, maxBytes: number): Promise<string | undefined> {
  try {
    if ((await stat(absolutePath)).size > maxBytes) return undefined;
    return await readFile(absolutePath, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * Symlinks that never reach a file or folder (a loop, or a chain longer than the system follows):
 * listRepoFiles leaves them out, so they are reported instead of skipped.
 */
export async function symlinkLoops(root: string): Promise<string[]> {
  const loops: string[] = [];
  for await (const { relative, entry } of repoEntries(root, ".")) {
    if (!entry.isSymbolicLink()) continue;
    try {
      await stat(path.join(root, relative));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ELOOP") loops.push(relative);
    }
  }
  return loops;
}
