// Discovery by folder convention, for the two layouts our users keep (see docs/layouts.md):
//   A: gitops/flux/<...>/<layer>/{base,overlays/<env>}
//   B: clusters/base/<layer>/ with clusters/<env>/<layer>/
import path from "node:path";
import type { Finding } from "../model/findings.ts";
import { isDirectory, subdirectories } from "../repo-files.ts";
import type { FoundFleet, FoundOverlay } from "./assemble.ts";

/** The usual reconcile order: software and CRDs first, then what configures them, then workloads. */
const CONVENTIONAL_ORDER = [
  ["controllers", "infrastructure", "infra", "crds"],
  ["configs", "config", "observability", "monitoring"],
  ["apps", "applications", "workloads", "tenants"],
] as const;

export async function discoverLayoutA(root: string): Promise<FoundFleet | undefined> {
  const fluxRoot = "gitops/flux";
  if (!(await isDirectory(path.join(root, fluxRoot)))) return undefined;
  const layerDirs = await findLayerRoots(root, fluxRoot, 3);
  if (layerDirs.length === 0) return undefined;
  const findings: Finding[] = [];
  const layers: { name: string; path: string }[] = [];
  for (const dir of layerDirs) {
    if (!(await isDirectory(path.join(root, dir, "base")))) {
      findings.push({
        severity: "error",
        check: "fleet/missing-base",
        file: `${dir}/`,
        layer: path.posix.basename(dir),
        message: `layer ${path.posix.basename(dir)} has overlays but no base/ folder`,
        hint: "every overlay must build on a common base (the layout with base/ and overlays/<env>/)",
      });
    }
    layers.push({ name: path.posix.basename(dir), path: dir });
  }
  const environments = new Set<string>();
  const overlays: FoundOverlay[] = [];
  for (const layer of layers) {
    for (const env of await subdirectories(path.join(root, layer.path, "overlays"))) {
      environments.add(env);
      overlays.push({ environment: env, layer: layer.name, path: `${layer.path}/overlays/${env}`, dependsOn: [] });
    }
  }
  return finishConventional("layout-a", layers, [...environments].sort(), overlays, findings, (env, layer) => ({
    file: `${layers.find((l) => l.name === layer)?.path ?? layer}/overlays/`,
  }));
}

export async function discoverLayoutB(root: string): Promise<FoundFleet | undefined> {
  const base = "clusters/base";
  if (!(await isDirectory(path.join(root, base)))) return undefined;
  const layerNames = await subdirectories(path.join(root, base));
  if (layerNames.length === 0) return undefined;
  const findings: Finding[] = [];
  const envNames = (await subdirectories(path.join(root, "clusters"))).filter((name) => name !== "base");
  const overlays: FoundOverlay[] = [];
  const environments: string[] = [];
  const overlayLayers = new Set<string>();
  for (const env of envNames) {
    const present = await subdirectories(path.join(root, "clusters", env));
    const layersHere = present.filter((name) => layerNames.includes(name));
    if (layersHere.length === 0) continue;
    environments.push(env);
    for (const layer of layersHere) {
      overlays.push({ environment: env, layer, path: `clusters/${env}/${layer}`, dependsOn: [] });
    }
    for (const extra of present.filter((name) => !layerNames.includes(name) && !name.startsWith("flux-system"))) {
      overlayLayers.add(extra);
      findings.push({
        severity: "error",
        check: "fleet/missing-base",
        environment: env,
        layer: extra,
        file: `clusters/${env}/${extra}/`,
        message: `clusters/${env}/${extra} has no base: clusters/base/${extra} does not exist`,
        hint: "every overlay must build on a common base (the layout with base/ and overlays/<env>/)",
      });
    }
  }
  const layers = layerNames.map((name) => ({ name, path: `${base}/${name}` }));
  return finishConventional("layout-b", layers, environments, overlays, findings, (env, layer) => ({
    file: `clusters/${env}/`,
    ...(layer ? {} : {}),
  }));
}

function finishConventional(
  source: "layout-a" | "layout-b",
  layers: { name: string; path: string }[],
  environments: string[],
  overlays: FoundOverlay[],
  findings: Finding[],
  locateMissing: FoundFleet["locateMissing"],
): FoundFleet {
  const ranked = layers.map((layer) => ({ ...layer, rank: conventionalRank(layer.name) }));
  const unknown = ranked.filter((layer) => layer.rank === undefined);
  for (const layer of unknown) {
    findings.push({
      severity: "error",
      check: "fleet/unknown-layer-order",
      layer: layer.name,
      file: `${layer.path}/`,
      message: `cannot tell where layer ${layer.name} goes in the reconcile order`,
      hint: "declare the layers and their dependsOn in gitops-ci.yaml",
    });
  }
  ranked.sort((a, b) => (a.rank ?? 99) - (b.rank ?? 99));
  const withDeps = ranked.map((layer, index) => {
    const previous = ranked.slice(0, index).filter((candidate) => candidate.rank !== undefined && candidate.rank < (layer.rank ?? 99));
    const last = previous.at(-1);
    return { name: layer.name, path: layer.path, dependsOn: last && layer.rank !== undefined ? [last.name] : [] };
  });
  for (const overlay of overlays) overlay.dependsOn = withDeps.find((layer) => layer.name === overlay.layer)?.dependsOn ?? [];
  return {
    source,
    environments: environments.map((name) => ({ name })),
    layers: withDeps,
    overlays,
    findings,
    locateMissing,
  };
}

function conventionalRank(name: string): number | undefined {
  const index = CONVENTIONAL_ORDER.findIndex((names) => (names as readonly string[]).includes(name));
  return index >= 0 ? index : undefined;
}

/** Folders below `under` that hold an overlays/ folder: the roots of layers. */
async function findLayerRoots(root: string, under: string, depth: number): Promise<string[]> {
  if (depth < 0) return [];
  if (await isDirectory(path.join(root, under, "overlays"))) return [under];
  const found: string[] = [];
  for (const child of await subdirectories(path.join(root, under))) {
    if (child === "base") continue;
    found.push(...(await findLayerRoots(root, `${under}/${child}`, depth - 1)));
  }
  return found;
}
