// Reads and writes an overlay folder as promote and env add see it: text by overlay-relative path.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { OverlayFiles } from "../model/promotion.ts";
import { listRepoFiles } from "../repo-files.ts";

export async function readOverlayFiles(root: string, dir: string, environment: string): Promise<OverlayFiles> {
  const files = new Map<string, string>();
  for (const file of await listRepoFiles(root, dir))
    files.set(path.posix.relative(dir, file), await readFile(path.join(root, file), "utf8"));
  return { environment, dir, files };
}

/** Writes overlay-relative files below `dir`; returns their repository-relative paths. */
export async function writeOverlayFiles(root: string, dir: string, files: ReadonlyMap<string, string>): Promise<string[]> {
  const written: string[] = [];
  for (const [relative, text] of files) {
    const file = path.posix.join(dir, relative);
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), text);
    written.push(file);
  }
  return written;
}
