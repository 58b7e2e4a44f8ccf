// Overlay folders of the bundled examples as the promote core sees them: text by relative path.
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { OverlayFiles } from "../../../core/model/promotion.ts";
import { listRepoFiles } from "../../../core/repo-files.ts";
import { examplePath } from "../../helpers/temp-repo.ts";

export async function readOverlay(root: string, dir: string, environment: string): Promise<OverlayFiles> {
  const files = new Map<string, string>();
  for (const file of await listRepoFiles(root, dir))
    files.set(path.posix.relative(dir, file), await readFile(path.join(root, file), "utf8"));
  return { environment, dir, files };
}

export function exampleOverlay(example: string, dir: string, environment: string): Promise<OverlayFiles> {
  return readOverlay(examplePath(example), dir, environment);
}

/** A copy of an overlay with some files replaced or added. */
export function withFiles(overlay: OverlayFiles, changes: Record<string, string>): OverlayFiles {
  const files = new Map(overlay.files);
  for (const [file, text] of Object.entries(changes)) files.set(file, text);
  return { ...overlay, files };
}

/** The overlay after a promotion wrote its files. */
export function applied(overlay: OverlayFiles, files: ReadonlyMap<string, string>): OverlayFiles {
  return withFiles(overlay, Object.fromEntries(files));
}
