// Which overlays a change can break: those that read a changed file, the later layers of the same
// environment (their contracts rest on the earlier ones), and all of them when a file that shapes
// the whole fleet changed.
import path from "node:path";
import { CONFIG_FILE_NAMES } from "../config.ts";
import type { Fleet, Overlay } from "../model/fleet.ts";
import { readsFile, type OverlayInputs } from "./overlay-inputs.ts";

export interface AffectedOverlay {
  overlay: Overlay;
  /** Why, for the job log: `changed: <file>`, `depends on <layer>`, `config changed: <file>`, … */
  reasons: string[];
}

export interface AffectedOptions {
  /** The gitops-ci config file in use (repository-relative), when the fleet did not come from it. */
  configFile?: string;
  /**
   * Also the later layers of the same environment (default): their checks rest on the earlier
   * ones. A render comparison leaves them out: an overlay's render depends on its own inputs only.
   */
  dependents?: boolean;
}

/**
 * `inputsByOverlay` is keyed by overlay path (see `overlayInputsByPath`); `changed` holds
 * repository-relative paths (see `changedFiles`). Overlays come back in fleet order.
 */
export function affectedOverlays(
  fleet: Fleet,
  inputsByOverlay: ReadonlyMap<string, OverlayInputs>,
  changed: readonly string[],
  options: AffectedOptions = {},
): AffectedOverlay[] {
  const reasons = new Map<Overlay, string[]>();
  const add = (overlay: Overlay, reason: string): void => {
    const list = reasons.get(overlay) ?? [];
    if (!list.includes(reason)) list.push(reason);
    reasons.set(overlay, list);
  };

  const global = fleetWideReasons(fleet, changed, options);
  for (const overlay of fleet.overlays) for (const reason of global) add(overlay, reason);

  const direct: Overlay[] = [];
  for (const overlay of fleet.overlays) {
    const inputs = inputsByOverlay.get(overlay.path);
    if (!inputs) {
      add(overlay, "inputs unknown: not computed");
    } else {
      for (const problem of inputs.problems) add(overlay, `inputs unknown: ${problem.message}`);
      for (const file of changed) if (readsFile(inputs, file)) add(overlay, `changed: ${file}`);
    }
    if (reasons.has(overlay) && global.length === 0) direct.push(overlay);
  }

  for (const changedOverlay of options.dependents === false ? [] : direct) {
    for (const dependent of dependentsOf(fleet, changedOverlay)) add(dependent, `depends on ${changedOverlay.layer}`);
  }

  return fleet.overlays.flatMap((overlay) => {
    const list = reasons.get(overlay);
    return list ? [{ overlay, reasons: list }] : [];
  });
}

/** Changes that reach every overlay: the config, SOPS rules, and the Flux Kustomizations themselves. */
function fleetWideReasons(fleet: Fleet, changed: readonly string[], options: AffectedOptions): string[] {
  const configFiles = new Set<string>([
    ...CONFIG_FILE_NAMES,
    ...(fleet.sourceFile ? [fleet.sourceFile] : []),
    ...(options.configFile ? [options.configFile] : []),
  ]);
  const fluxFiles = new Set<string>();
  for (const overlay of fleet.overlays) {
    if (overlay.flux) fluxFiles.add(overlay.flux.location.file);
    if (overlay.definedIn) fluxFiles.add(overlay.definedIn.file);
  }
  const reasons: string[] = [];
  for (const file of changed) {
    if (configFiles.has(file)) reasons.push(`config changed: ${file}`);
    else if (path.posix.basename(file) === ".sops.yaml") reasons.push(`SOPS rules changed: ${file}`);
    else if (fluxFiles.has(file)) reasons.push(`Flux Kustomization changed: ${file}`);
  }
  return reasons;
}

/** Overlays of the same environment that wait for `overlay`, directly or through other layers. */
function dependentsOf(fleet: Fleet, overlay: Overlay): Overlay[] {
  const sameEnvironment = fleet.overlays.filter((candidate) => candidate.environment === overlay.environment);
  const reached = new Set<string>([overlay.layer]);
  const found: Overlay[] = [];
  for (let grew = true; grew;) {
    grew = false;
    for (const candidate of sameEnvironment) {
      if (reached.has(candidate.layer) || !candidate.dependsOn.some((layer) => reached.has(layer))) continue;
      reached.add(candidate.layer);
      found.push(candidate);
      grew = true;
    }
  }
  return found;
}
