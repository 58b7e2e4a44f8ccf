// Discovery as Flux does it: start from each cluster's entry point (the bootstrap sync or the
// path a FluxInstance syncs), build it with Flux's own packages, take the Flux Kustomizations
// from its output (with every patch and substitution the parent applied), build each of those,
// and recurse. An environment is a cluster, never a folder.
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { TaskContext } from "../context.ts";
import type { Finding } from "../findings.ts";
import { runEngine, type EngineBuild, type EngineResult } from "../flux/engine.ts";
import { findEntryPoints, type ClusterEntry } from "../flux/entry-points.ts";
import {
  FLUX_KUSTOMIZE_GROUP,
  isFluxKustomization,
  kustomizationKey,
  substituteFromRefs,
  type SourceRef,
} from "../flux/kustomization-object.ts";
import { isYamlFile, listRepoFiles } from "../repo-files.ts";
import { isRecord, parseYaml } from "../yaml-file.ts";
import type { FoundFleet, FoundOverlay } from "./assemble.ts";
import type { SourceLocation } from "./model.ts";

/** One Flux Kustomization a cluster applies, and what building it gave. */
export interface ClusterKustomization {
  cluster: string;
  /** namespace/name */
  key: string;
  name: string;
  namespace: string;
  /** The object as the cluster holds it: after the parent's patches and substitutions. */
  object: Record<string, unknown>;
  /** The repository file it is written in. */
  location: SourceLocation;
  /** The Kustomization that applies it (namespace/name); none for the entry point. */
  parent?: string;
  /** Absent when it was not built (suspended, or a source the repository does not hold). */
  result?: EngineResult;
  /** substituteFrom sources whose values were not known: their variables stayed ${NAME}. */
  unresolved: string[];
}

export interface FluxClusterDiscovery {
  found: FoundFleet;
  kustomizations: ClusterKustomization[];
}

export async function discoverFromFluxClusters(
  context: TaskContext,
  root: string,
  configured: readonly ClusterEntry[] = [],
): Promise<FluxClusterDiscovery | undefined> {
  const entries = configured.length > 0 ? [...configured] : await findEntryPoints(root);
  if (entries.length === 0) return undefined;
  const findings: Finding[] = [];
  const all: ClusterKustomization[] = [];

  const clusters = new Map<string, ClusterState>();
  for (const entry of entries) {
    const state = clusters.get(entry.cluster) ?? newClusterState(entry);
    clusters.set(entry.cluster, state);
    const item = fromObject(entry.cluster, entry.kustomization, entry.location);
    if (state.known.has(item.key)) continue;
    state.known.set(item.key, item);
    state.pending.push(item);
  }

  while ([...clusters.values()].some((state) => state.pending.length > 0)) {
    const wave: { state: ClusterState; item: ClusterKustomization; build: EngineBuild }[] = [];
    for (const state of clusters.values()) {
      for (const item of takeReady(state)) {
        const skip = notBuilt(item, state);
        if (skip) {
          findings.push(skip);
          all.push(item);
          continue;
        }
        wave.push({ state, item, build: buildRequest(item, state, wave.length) });
      }
    }
    const results = await runEngine(context, root, wave.map((entry) => entry.build));
    wave.forEach(({ state, item }, index) => {
      item.result = results[index]!;
      all.push(item);
      for (const object of item.result.objects) {
        if (object["kind"] === "ConfigMap" || object["kind"] === "Secret") state.objects.push(object);
      }
      item.result.objects.forEach((object, position) => {
        if (!isFluxKustomization(object)) return;
        const origin = item.result!.origins?.[position];
        const child = fromObject(state.cluster, object, { file: origin || item.location.file }, item);
        const existing = state.known.get(child.key);
        // A cluster folder applies its own sync Kustomization: that is the same object, not a child.
        if (existing) return;
        child.parent = item.key;
        state.known.set(child.key, child);
        state.pending.push(child);
      });
    });
  }

  findings.push(...(await unappliedKustomizations(root, all)));
  return { found: toFoundFleet(all, entries, findings), kustomizations: all };
}

interface ClusterState {
  cluster: string;
  /** The GitRepository the cluster syncs: this repository. */
  source: SourceRef;
  known: Map<string, ClusterKustomization>;
  pending: ClusterKustomization[];
  /** ConfigMaps and Secrets rendered so far, for substituteFrom. */
  objects: Record<string, unknown>[];
}

function newClusterState(entry: ClusterEntry): ClusterState {
  return { cluster: entry.cluster, source: entry.source, known: new Map(), pending: [], objects: [] };
}

function fromObject(cluster: string, object: Record<string, unknown>, location: SourceLocation, parent?: ClusterKustomization): ClusterKustomization {
  const metadata = isRecord(object["metadata"]) ? object["metadata"] : {};
  const name = String(metadata["name"] ?? "");
  // Children take their namespace from the parent's render; kustomize-controller applies one
  // without a namespace into the parent's.
  const namespace = typeof metadata["namespace"] === "string" ? metadata["namespace"] : (parent?.namespace ?? "flux-system");
  const copy = structuredClone(object);
  if (isRecord(copy["metadata"])) copy["metadata"]["namespace"] = namespace;
  return { cluster, key: kustomizationKey(namespace, name), name, namespace, object: copy, location, unresolved: [] };
}

/**
 * The Kustomizations of this wave: those whose substituteFrom sources are all rendered already.
 * When none is ready, the rest go anyway, with what is not known kept as ${NAME}.
 */
function takeReady(state: ClusterState): ClusterKustomization[] {
  const ready = state.pending.filter((item) => missingSources(item, state).length === 0);
  const taken = ready.length > 0 ? ready : state.pending;
  state.pending = state.pending.filter((item) => !taken.includes(item));
  return taken;
}

function missingSources(item: ClusterKustomization, state: ClusterState): string[] {
  return substituteFromRefs(item.object)
    .filter((ref) => !ref.optional && !findObject(state, ref.kind, item.namespace, ref.name))
    .map((ref) => `${ref.kind}/${ref.name}`);
}

function findObject(state: ClusterState, kind: string, namespace: string, name: string): Record<string, unknown> | undefined {
  return state.objects.find((object) => {
    const metadata = isRecord(object["metadata"]) ? object["metadata"] : {};
    return object["kind"] === kind && metadata["name"] === name && (metadata["namespace"] ?? "default") === namespace;
  });
}

function isSopsEncrypted(object: Record<string, unknown>): boolean {
  // The engine masks SOPS data, so a rendered encrypted Secret holds the mask, not values.
  const data = isRecord(object["data"]) ? Object.values(object["data"]) : [];
  return data.some((value) => value === Buffer.from("**SOPS**").toString("base64"));
}

function buildRequest(item: ClusterKustomization, state: ClusterState, index: number): EngineBuild {
  const refs = substituteFromRefs(item.object);
  const objects: Record<string, unknown>[] = [];
  const unresolved: string[] = [];
  for (const ref of refs) {
    const found = findObject(state, ref.kind, item.namespace, ref.name);
    if (found && !(ref.kind === "Secret" && isSopsEncrypted(found))) objects.push(found);
    else if (found || !ref.optional) unresolved.push(`${ref.kind}/${ref.name}`);
  }
  item.unresolved = unresolved;
  const kustomization = unresolved.length > 0 ? markOptional(item.object, unresolved) : item.object;
  return {
    id: `${state.cluster}\u0000${item.key}\u0000${index}`,
    kustomization,
    resolveSubstituteFrom: true,
    objects,
    placeholders: unresolved.length > 0,
    origins: true,
  };
}

/** The sources we cannot know are made optional, so the build goes on and their variables stay ${NAME}. */
function markOptional(object: Record<string, unknown>, unresolved: readonly string[]): Record<string, unknown> {
  const copy = structuredClone(object);
  const postBuild = isRecord(copy["spec"]) && isRecord(copy["spec"]["postBuild"]) ? copy["spec"]["postBuild"] : undefined;
  const refs = postBuild && Array.isArray(postBuild["substituteFrom"]) ? postBuild["substituteFrom"] : [];
  for (const ref of refs) {
    if (isRecord(ref) && unresolved.includes(`${String(ref["kind"])}/${String(ref["name"])}`)) ref["optional"] = true;
  }
  return copy;
}

/** Why a Kustomization is not built: suspended, or its source is not this repository. */
function notBuilt(item: ClusterKustomization, state: ClusterState): Finding | undefined {
  const spec = isRecord(item.object["spec"]) ? item.object["spec"] : {};
  const where = { environment: state.cluster, layer: item.name, file: item.location.file, ...(item.location.line ? { line: item.location.line } : {}) };
  if (spec["suspend"] === true) {
    return { severity: "info", check: "flux/suspended", ...where, message: `Kustomization ${item.key} is suspended: Flux does not apply it, so its objects were not checked` };
  }
  const ref = isRecord(spec["sourceRef"]) ? spec["sourceRef"] : {};
  const source: SourceRef = { kind: String(ref["kind"] ?? ""), name: String(ref["name"] ?? ""), namespace: typeof ref["namespace"] === "string" ? ref["namespace"] : item.namespace };
  if (source.kind === state.source.kind && source.name === state.source.name && source.namespace === state.source.namespace) return undefined;
  return {
    severity: "warning",
    check: "flux/source-not-checked",
    ...where,
    message: `Kustomization ${item.key} applies ${source.kind}/${source.namespace}/${source.name}, which is not this repository: its objects were not checked`,
    hint: `only the ${state.source.kind} ${state.source.namespace}/${state.source.name} that the cluster syncs is this repository`,
  };
}

/** Flux Kustomizations written in the repository that no cluster applies. */
async function unappliedKustomizations(root: string, applied: readonly ClusterKustomization[]): Promise<Finding[]> {
  const appliedFiles = new Set(applied.map((item) => `${item.location.file}\u0000${item.name}`));
  const findings: Finding[] = [];
  for (const file of (await listRepoFiles(root)).filter(isYamlFile)) {
    const text = await readFile(path.join(root, file), "utf8").catch(() => "");
    if (!text.includes(FLUX_KUSTOMIZE_GROUP)) continue;
    const parsed = parseYaml(text, file);
    for (const document of parsed.documents) {
      if (!isRecord(document.value) || !isFluxKustomization(document.value)) continue;
      const metadata = isRecord(document.value["metadata"]) ? document.value["metadata"] : {};
      const name = String(metadata["name"] ?? "");
      if (appliedFiles.has(`${file}\u0000${name}`)) continue;
      findings.push({
        severity: "info",
        check: "flux/unapplied-kustomization",
        file,
        line: document.line,
        message: `Flux Kustomization ${name} is not applied by any cluster, so it was not checked`,
        hint: "list it in a kustomization that a cluster's sync reaches, or remove it",
      });
    }
  }
  return findings;
}

function toFoundFleet(all: readonly ClusterKustomization[], entries: readonly ClusterEntry[], findings: Finding[]): FoundFleet {
  const clusters = [...new Set(entries.map((entry) => entry.cluster))];
  const overlays: FoundOverlay[] = [];
  for (const cluster of clusters) {
    const own = all.filter((item) => item.cluster === cluster && item.result);
    const names = new Map<string, number>();
    for (const item of own) names.set(item.name, (names.get(item.name) ?? 0) + 1);
    const layerOf = (key: string): string => {
      const [namespace, name] = key.split("/") as [string, string];
      return (names.get(name) ?? 0) > 1 ? `${namespace}/${name}` : name;
    };
    for (const item of own) {
      const spec = isRecord(item.object["spec"]) ? item.object["spec"] : {};
      const dependsOn = Array.isArray(spec["dependsOn"])
        ? spec["dependsOn"].flatMap((dep) =>
            isRecord(dep) && typeof dep["name"] === "string"
              ? [layerOf(kustomizationKey(typeof dep["namespace"] === "string" ? dep["namespace"] : item.namespace, dep["name"]))]
              : [],
          )
        : [];
      // A child cannot be applied before the Kustomization that applies it.
      if (item.parent) dependsOn.push(layerOf(item.parent));
      overlays.push({
        environment: cluster,
        layer: layerOf(item.key),
        path: normalizePath(typeof spec["path"] === "string" ? spec["path"] : "."),
        dependsOn: [...new Set(dependsOn)],
        definedIn: item.location,
        flux: {
          name: item.name,
          namespace: item.namespace,
          location: item.location,
          object: item.object,
          ...(typeof spec["targetNamespace"] === "string" ? { targetNamespace: spec["targetNamespace"] } : {}),
        },
      });
    }
  }
  const layers = [...new Set(overlays.map((overlay) => overlay.layer))].map((name) => ({ name, dependsOn: [] as string[] }));
  return {
    source: "flux-clusters",
    environments: clusters.map((name) => ({ name })),
    layers,
    overlays,
    findings,
    compareEnvironments: false,
    locateMissing: () => undefined,
  };
}

function normalizePath(value: string): string {
  const normalized = path.posix.normalize(value.replace(/^\.\//, "")).replace(/\/+$/, "");
  return normalized === "" || normalized === "/" ? "." : normalized.replace(/^\//, "");
}
