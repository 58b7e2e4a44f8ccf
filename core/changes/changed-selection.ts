// What `--changed-since REV` selects: the overlays whose inputs changed since REV (the merge base
// with it), and their dependents. One function, so that check, the child pipeline generator and
// the report's "not checked" list always agree on the selection.
import type { TaskContext } from "../context.ts";
import type { Fleet } from "../model/fleet.ts";
import { affectedOverlays, type AffectedOverlay } from "./affected-overlays.ts";
import { changedFiles, type ChangedFiles } from "./changed-files.ts";
import { overlayInputsByPath, type OverlayInputs } from "./overlay-inputs.ts";

export interface ChangedSelection {
  affected: AffectedOverlay[];
  changed: ChangedFiles;
  inputs: Map<string, OverlayInputs>;
}

export async function changedSelection(
  context: TaskContext,
  fleet: Fleet,
  rev: string,
  configFile: string | undefined,
): Promise<ChangedSelection> {
  const [inputs, changed] = await Promise.all([
    overlayInputsByPath(fleet, context.concurrency * 4),
    changedFiles(context, fleet.root, rev),
  ]);
  return { affected: affectedOverlays(fleet, inputs, changed.files, configFile ? { configFile } : {}), changed, inputs };
}
