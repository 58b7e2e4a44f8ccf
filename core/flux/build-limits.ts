// Bounds on what one build may cost, so a merge request cannot stall the run: no input file over
// MAX_INPUT_BYTES is handed to the engine (its build is a finding instead), and a build that runs
// longer than the build timeout is stopped and reported by the overlay it was for.
import { stat } from "node:fs/promises";
import path from "node:path";
import { overlayInputs, readsFile } from "../changes/overlay-inputs.ts";
import { mapWithConcurrency } from "../concurrency.ts";
import { listRepoFiles } from "../repo-files.ts";
import { isRecord } from "../yaml-file.ts";

/** Largest file a build may read: far above any manifest, values or generator file a fleet holds. */
export const MAX_INPUT_BYTES = 8 * 1024 * 1024;

/** How long one Kustomization's build may take (GITOPS_CI_BUILD_TIMEOUT, in seconds, overrides it). */
export const DEFAULT_BUILD_TIMEOUT_MS = 120_000;

/** Repository-relative files over the limit, with their sizes. */
export async function oversizedFiles(root: string, concurrency = 16): Promise<Map<string, number>> {
  const files = await listRepoFiles(root);
  const sizes = await mapWithConcurrency(files, concurrency, async (file) => {
    try {
      return (await stat(path.join(root, file))).size;
    } catch {
      return 0;
    }
  });
  return new Map(files.flatMap((file, index) => (sizes[index]! > MAX_INPUT_BYTES ? [[file, sizes[index]!] as const] : [])));
}

/** The first oversized file the Kustomization's build would read, found without building it. */
export async function oversizedInput(
  root: string,
  kustomization: Record<string, unknown>,
  oversized: ReadonlyMap<string, number>,
): Promise<string | undefined> {
  if (oversized.size === 0) return undefined;
  const spec = isRecord(kustomization["spec"]) ? kustomization["spec"] : {};
  const specPath = path.posix.normalize(typeof spec["path"] === "string" && spec["path"] !== "" ? spec["path"] : ".").replace(/^\/+/, "");
  if (specPath.startsWith("..")) return undefined;
  const inputs = await overlayInputs(root, specPath);
  return [...oversized.keys()].find((file) => readsFile(inputs, file) || inputs.files.has(file));
}

export function describeSize(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
