// Turns what a source found (layers, overlays) into an ordered Fleet, checking the graph and that
// every environment has every layer.
import path from "node:path";
import type { Finding } from "../model/findings.ts";
import { isDirectory } from "../repo-files.ts";
import { orderLayers, type LayerNode } from "./layer-graph.ts";
import type { Environment, Fleet, FleetSource, FluxKustomizationRef, Layer, Overlay, SourceLocation } from "../model/fleet.ts";

export interface FoundOverlay {
  environment: string;
  layer: string;
  path: string;
  dependsOn: string[];
  definedIn?: SourceLocation;
  flux?: FluxKustomizationRef;
}

export interface FoundFleet {
  source: FleetSource;
  sourceFile?: string;
  environments: Environment[];
  layers: (Layer & { location?: SourceLocation })[];
  overlays: FoundOverlay[];
  findings: Finding[];
  /**
   * Whether every environment must have every layer (the folder conventions). Clusters that Flux
   * discovery found may differ: each is exactly what its own sync applies.
   */
  compareEnvironments?: boolean;
  /** Where to point a finding about an environment that lacks a layer. */
  locateMissing: (environment: string, layer: string) => SourceLocation | undefined;
}

export interface Discovery {
  fleet: Fleet;
  findings: Finding[];
}

export async function assembleFleet(root: string, found: FoundFleet): Promise<Discovery> {
  const findings = [...found.findings];
  const layerNames = found.layers.map((layer) => layer.name);

  // Global order from the union of every environment's edges; per-environment graphs report problems.
  const union = found.layers.map<LayerNode>((layer) => ({
    name: layer.name,
    dependsOn: unique(
      found.overlays
        .filter((o) => o.layer === layer.name)
        .flatMap((o) => o.dependsOn)
        .concat(layer.dependsOn),
    ).filter((dependency) => layerNames.includes(dependency)),
    ...(layer.location ? { location: layer.location } : {}),
  }));
  const globalOrder = orderLayers(union).ordered;
  const rank = new Map(globalOrder.map((name, index) => [name, index]));

  const overlays: Overlay[] = [];
  for (const environment of found.environments) {
    const own = found.overlays
      .filter((overlay) => overlay.environment === environment.name)
      .sort((a, b) => (rank.get(a.layer) ?? 0) - (rank.get(b.layer) ?? 0));
    const order = orderLayers(
      own.map((overlay) => ({
        name: overlay.layer,
        dependsOn: overlay.dependsOn,
        ...(overlay.definedIn ? { location: overlay.definedIn } : {}),
      })),
      { environment: environment.name },
    );
    findings.push(...order.findings);
    order.ordered.forEach((layer, index) => {
      const overlay = own.find((candidate) => candidate.layer === layer);
      if (overlay) overlays.push({ ...overlay, order: index + 1 });
    });

    for (const layer of found.compareEnvironments === false ? [] : layerNames) {
      if (own.some((overlay) => overlay.layer === layer)) continue;
      const others = found.overlays.filter((o) => o.layer === layer).map((o) => o.environment);
      const location = found.locateMissing(environment.name, layer);
      findings.push({
        severity: "error",
        check: "fleet/missing-overlay",
        environment: environment.name,
        layer,
        ...(location ? { file: location.file, ...(location.line ? { line: location.line } : {}) } : {}),
        message: `environment ${environment.name} has no overlay for layer ${layer} (${unique(others).join(", ")} ${others.length === 1 ? "has" : "have"} one)`,
        hint: `copy an existing overlay of ${layer} and adapt it, or remove ${layer} from the other environments`,
      });
    }
  }

  for (const overlay of overlays) {
    // A Flux-built overlay reports its own missing path (the engine joins it as the controller does).
    if (found.source === "flux-clusters") continue;
    if (!(await isDirectory(path.join(root, overlay.path)))) {
      findings.push({
        severity: "error",
        check: "fleet/missing-path",
        environment: overlay.environment,
        layer: overlay.layer,
        file: overlay.definedIn?.file ?? overlay.path,
        ...(overlay.definedIn?.line ? { line: overlay.definedIn.line } : {}),
        message: `overlay path ${overlay.path} does not exist`,
      });
    }
  }

  const fleet: Fleet = {
    root,
    source: found.source,
    ...(found.sourceFile ? { sourceFile: found.sourceFile } : {}),
    environments: found.environments,
    layers: globalOrder.map((name) => {
      const layer = found.layers.find((candidate) => candidate.name === name)!;
      const entry: Layer = { name, dependsOn: union.find((node) => node.name === name)?.dependsOn ?? [] };
      if (layer.path) entry.path = layer.path;
      return entry;
    }),
    overlays,
  };
  return { fleet, findings };
}

export function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
