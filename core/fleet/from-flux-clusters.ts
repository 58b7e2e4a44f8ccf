// Discovery as Flux does it: start from each cluster's entry point (the bootstrap sync or the
// path a FluxInstance syncs), build it with Flux's own packages, take the Flux Kustomizations
// from its output (with every patch and substitution the parent applied), build each of those,
// and recurse. An environment is a cluster, never a folder. A Kustomization whose source is an
// ExternalArtifact that an ArtifactGenerator of the cluster makes from this repository is built in
// that artifact, made again from the generator's copy rules in a temporary folder.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TaskContext } from "../context.ts";
import type { Finding, ResourceRef } from "../model/findings.ts";
import {
  aliasOf,
  copiedDirOf,
  copiedFileOf,
  isArtifactGenerator,
  materializeArtifact,
  readArtifactGenerator,
  type ArtifactGenerator,
  type CopyOperation,
  type MaterializedArtifact,
} from "../flux/artifact-generator.ts";
import { holdsSopsMask, runEngine, type EngineBuild, type EngineResult } from "../flux/engine.ts";
import { explainSubstitutionFailure } from "../flux/substitution-errors.ts";
import { findEntryPoints, type ClusterEntry } from "../flux/entry-points.ts";
import {
  FLUX_KUSTOMIZE_GROUP,
  isFluxKustomization,
  kustomizationKey,
  substituteFromRefs,
  type SourceRef,
} from "../flux/kustomization-object.ts";
import { isYamlFile, listRepoFiles, readTextUpTo, withoutChartFiles } from "../repo-files.ts";
import { MAX_INPUT_BYTES } from "../flux/build-limits.ts";
import { SourceLocator } from "../source-locator.ts";
import { isRecord, parseYaml, scalarText } from "../yaml-file.ts";
import type { FoundFleet, FoundOverlay } from "./assemble.ts";
import type { SourceLocation } from "../model/fleet.ts";

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
  /**
   * Absent when it was not built (suspended, or a source the repository does not hold). Built from
   * an ExternalArtifact, its origins are repository files; its inputs stay artifact-relative.
   */
  result?: EngineResult;
  /** substituteFrom sources whose values were not known: their variables stayed ${NAME}. */
  unresolved: string[];
  /** Set when it was built from an ExternalArtifact that an ArtifactGenerator makes of this repository. */
  externalArtifact?: ExternalArtifactSource;
}

/** An ExternalArtifact a Kustomization applies, as an ArtifactGenerator of its cluster makes it. */
export interface ExternalArtifactSource {
  /** namespace/name of the ExternalArtifact. */
  key: string;
  /** namespace/name of the ArtifactGenerator, and the file it is written in. */
  generator: string;
  location: SourceLocation;
  /** Its copy operations and the aliases that name this repository: materializeArtifact makes it again. */
  copy: CopyOperation[];
  aliases: string[];
  /** The repository folder the Kustomization's spec.path was copied from, when the copy rules tell. */
  path?: string;
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
    const state = clusters.get(entry.cluster) ?? newClusterState(entry, clusters.size);
    clusters.set(entry.cluster, state);
    const item = fromObject(entry.cluster, entry.kustomization, entry.location);
    if (state.known.has(item.key)) continue;
    state.known.set(item.key, item);
    state.pending.push(item);
  }

  // Children are located by the line of their document in the file they came from.
  const locator = new SourceLocator(root);
  const workspace = new ArtifactWorkspace();
  try {
    while ([...clusters.values()].some((state) => state.pending.length > 0)) {
      const wave: WaveEntry[] = [];
      for (const state of clusters.values()) {
        for (const item of takeReady(state)) {
          const skip = notBuilt(item, state);
          const source = skip ?? (await sourceOf(root, item, state, workspace, findings));
          if ("severity" in source) {
            findings.push(source);
            all.push(item);
            continue;
          }
          if (source.artifact) item.externalArtifact = source.artifact.source;
          wave.push({
            state,
            item,
            build: buildRequest(item, state, wave.length),
            root: source.root,
            artifact: source.artifact?.materialized,
          });
        }
      }
      // The engine confines every read to the root it is given: the repository, or one artifact.
      for (const buildRoot of new Set(wave.map((entry) => entry.root))) {
        const entries = wave.filter((entry) => entry.root === buildRoot);
        const results = await runEngine(
          context,
          buildRoot,
          entries.map((entry) => entry.build),
        );
        entries.forEach((entry, index) => {
          const result = explainSubstitutionFailure(entry.build, results[index]!);
          entry.item.result = entry.artifact ? inRepository(result, entry.artifact) : result;
        });
      }
      for (const { state, item } of wave) {
        const result = item.result!;
        all.push(item);
        if (result.errorKind === "path-not-found") findings.push(missingPath(item, state));
        for (const object of result.objects) {
          if (object["kind"] === "ConfigMap" || object["kind"] === "Secret") state.objects.push(object);
        }
        for (const [position, object] of result.objects.entries()) {
          // Only Flux's own objects need a location: reading every origin file would cost a parse each.
          if (!isArtifactGenerator(object) && !isFluxKustomization(object)) continue;
          const origin = result.origins?.[position];
          const file = origin || item.location.file;
          const line = origin ? await locator.lineOf(origin, resourceOf(object)) : undefined;
          const location: SourceLocation = { file, ...(line ? { line } : {}) };
          if (isArtifactGenerator(object)) state.generators.push({ generator: readArtifactGenerator(object, item.namespace), location });
          if (!isFluxKustomization(object)) continue;
          const child = fromObject(state.cluster, object, location, item);
          // A cluster folder applies its own sync Kustomization: that is the same object, not a child.
          if (state.known.has(child.key)) continue;
          child.parent = item.key;
          state.known.set(child.key, child);
          state.pending.push(child);
        }
      }
    }
  } finally {
    await workspace.remove();
  }

  findings.push(...(await unappliedKustomizations(root, all)));
  return { found: toFoundFleet(all, entries, findings), kustomizations: all };
}

interface ClusterState {
  cluster: string;
  /** Position among the clusters: names the cluster's folder of artifacts. */
  index: number;
  /** The GitRepository the cluster syncs: this repository. */
  source: SourceRef;
  known: Map<string, ClusterKustomization>;
  pending: ClusterKustomization[];
  /** ConfigMaps and Secrets rendered so far, for substituteFrom. */
  objects: Record<string, unknown>[];
  /** ArtifactGenerators rendered so far, and the file each is written in. */
  generators: { generator: ArtifactGenerator; location: SourceLocation }[];
  /** ExternalArtifacts made so far (namespace/name), each made once. */
  artifacts: Map<string, Promise<ArtifactOutcome>>;
}

interface WaveEntry {
  state: ClusterState;
  item: ClusterKustomization;
  build: EngineBuild;
  root: string;
  artifact: MaterializedArtifact | undefined;
}

function newClusterState(entry: ClusterEntry, index: number): ClusterState {
  return {
    cluster: entry.cluster,
    index,
    source: entry.source,
    known: new Map(),
    pending: [],
    objects: [],
    generators: [],
    artifacts: new Map(),
  };
}

function fromObject(
  cluster: string,
  object: Record<string, unknown>,
  location: SourceLocation,
  parent?: ClusterKustomization,
): ClusterKustomization {
  const metadata = isRecord(object["metadata"]) ? object["metadata"] : {};
  const name = scalarText(metadata["name"]);
  // Children take their namespace from the parent's render; kustomize-controller applies one
  // without a namespace into the parent's.
  const namespace = typeof metadata["namespace"] === "string" ? metadata["namespace"] : (parent?.namespace ?? "flux-system");
  const copy = structuredClone(object);
  if (isRecord(copy["metadata"])) copy["metadata"]["namespace"] = namespace;
  return { cluster, key: kustomizationKey(namespace, name), name, namespace, object: copy, location, unresolved: [] };
}

/**
 * The Kustomizations of this wave: those whose substituteFrom sources are all rendered already, and
 * whose ExternalArtifact has a generator rendered already. When none is ready, those that wait only
 * for substituteFrom go (what is not known kept as ${NAME}): their objects may hold the generator
 * others wait for. When only those waiting for an artifact are left, they go and are not built.
 */
function takeReady(state: ClusterState): ClusterKustomization[] {
  const awaitsArtifact = (item: ClusterKustomization) => {
    const source = sourceRefOf(item);
    return source.kind === "ExternalArtifact" && !producerOf(state, source);
  };
  const ready = state.pending.filter((item) => missingSources(item, state).length === 0 && !awaitsArtifact(item));
  const unblocked = state.pending.filter((item) => !awaitsArtifact(item));
  const taken = ready.length > 0 ? ready : unblocked.length > 0 ? unblocked : state.pending;
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

function buildRequest(item: ClusterKustomization, state: ClusterState, index: number): EngineBuild {
  const refs = substituteFromRefs(item.object);
  const objects: Record<string, unknown>[] = [];
  const unresolved: string[] = [];
  for (const ref of refs) {
    const found = findObject(state, ref.kind, item.namespace, ref.name);
    if (found && !(ref.kind === "Secret" && holdsSopsMask(found))) objects.push(found);
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

/**
 * Why a Kustomization is not built: suspended, or its source is neither this repository nor an
 * ExternalArtifact (which sourceOf resolves).
 */
function notBuilt(item: ClusterKustomization, state: ClusterState): Finding | undefined {
  const spec = isRecord(item.object["spec"]) ? item.object["spec"] : {};
  if (spec["suspend"] === true) {
    return {
      severity: "info",
      check: "flux/suspended",
      ...whereOf(item, state),
      message: `Kustomization ${item.key} is suspended: Flux does not apply it, so its objects were not checked`,
    };
  }
  const source = sourceRefOf(item);
  if (isRepository(source, state) || source.kind === "ExternalArtifact") return undefined;
  return notChecked(
    item,
    state,
    `applies ${describeSource(source)}, which is not this repository`,
    `only the ${state.source.kind} ${state.source.namespace}/${state.source.name} that the cluster syncs is this repository`,
  );
}

/** The Kustomization's path is not in its source: kustomize-controller fails it the same way. */
function missingPath(item: ClusterKustomization, state: ClusterState): Finding {
  const spec = isRecord(item.object["spec"]) ? item.object["spec"] : {};
  const where = item.externalArtifact ? ` in ExternalArtifact ${item.externalArtifact.key}` : "";
  return {
    severity: "error",
    check: "fleet/missing-path",
    ...whereOf(item, state),
    message: `the path ${normalizePath(typeof spec["path"] === "string" ? spec["path"] : ".")} of Kustomization ${item.key} does not exist${where}`,
  };
}

function resourceOf(object: Record<string, unknown>): ResourceRef {
  const metadata = isRecord(object["metadata"]) ? object["metadata"] : {};
  return {
    kind: scalarText(object["kind"]),
    name: scalarText(metadata["name"]),
    ...(typeof object["apiVersion"] === "string" ? { apiVersion: object["apiVersion"] } : {}),
    ...(typeof metadata["namespace"] === "string" ? { namespace: metadata["namespace"] } : {}),
  };
}

function sourceRefOf(item: ClusterKustomization): SourceRef {
  const spec = isRecord(item.object["spec"]) ? item.object["spec"] : {};
  const ref = isRecord(spec["sourceRef"]) ? spec["sourceRef"] : {};
  return {
    kind: scalarText(ref["kind"]),
    name: scalarText(ref["name"]),
    namespace: typeof ref["namespace"] === "string" ? ref["namespace"] : item.namespace,
  };
}

function isRepository(source: SourceRef, state: ClusterState): boolean {
  return source.kind === state.source.kind && source.name === state.source.name && source.namespace === state.source.namespace;
}

function describeSource(source: SourceRef): string {
  return `${source.kind}/${source.namespace}/${source.name}`;
}

function whereOf(item: ClusterKustomization, state: ClusterState): Pick<Finding, "environment" | "layer" | "file" | "line"> {
  return {
    environment: state.cluster,
    layer: item.name,
    file: item.location.file,
    ...(item.location.line ? { line: item.location.line } : {}),
  };
}

function notChecked(item: ClusterKustomization, state: ClusterState, why: string, hint: string): Finding {
  return {
    severity: "warning",
    check: "flux/source-not-checked",
    ...whereOf(item, state),
    message: `Kustomization ${item.key} ${why}: its objects were not checked`,
    hint,
  };
}

/** The generator rendered in the cluster that makes this ExternalArtifact (the first, if several do). */
function producerOf(state: ClusterState, source: SourceRef): { generator: ArtifactGenerator; location: SourceLocation } | undefined {
  return state.generators.find(
    ({ generator }) => generator.namespace === source.namespace && generator.artifacts.some((artifact) => artifact.name === source.name),
  );
}

type ArtifactOutcome =
  { ok: true; materialized: MaterializedArtifact; source: Omit<ExternalArtifactSource, "path"> } | { ok: false; why: string; hint: string };

/** Where a Kustomization is built: the repository, or the ExternalArtifact it applies; or why it is not. */
async function sourceOf(
  root: string,
  item: ClusterKustomization,
  state: ClusterState,
  workspace: ArtifactWorkspace,
  findings: Finding[],
): Promise<Finding | { root: string; artifact?: { materialized: MaterializedArtifact; source: ExternalArtifactSource } }> {
  const source = sourceRefOf(item);
  if (source.kind !== "ExternalArtifact") return { root };
  const producer = producerOf(state, source);
  if (!producer) {
    return notChecked(
      item,
      state,
      `applies ${describeSource(source)}, which no ArtifactGenerator in cluster ${state.cluster} produces`,
      "gitops-ci makes an ExternalArtifact from the copy rules of the ArtifactGenerator (source.extensions.fluxcd.io) that produces it from this repository; one another controller makes cannot be known here",
    );
  }
  const key = kustomizationKey(source.namespace, source.name);
  let outcome = state.artifacts.get(key);
  if (!outcome) {
    outcome = makeArtifact(root, state, producer, source.name, workspace, findings);
    state.artifacts.set(key, outcome);
  }
  const made = await outcome;
  if (!made.ok) return notChecked(item, state, `applies ${describeSource(source)}, which ${made.why}`, made.hint);
  const spec = isRecord(item.object["spec"]) ? item.object["spec"] : {};
  const folder = copiedDirOf(made.materialized, normalizePath(typeof spec["path"] === "string" ? spec["path"] : "."));
  return {
    root: made.materialized.dir,
    artifact: { materialized: made.materialized, source: { ...made.source, ...(folder ? { path: folder.path } : {}) } },
  };
}

/**
 * Makes one ExternalArtifact as source-watcher does, from this repository only. A generator that
 * copies from another source, or that Flux would fail to run, leaves it unmade; symlinks are left
 * out (source-controller's artifact has none) and reported.
 */
async function makeArtifact(
  root: string,
  state: ClusterState,
  producer: { generator: ArtifactGenerator; location: SourceLocation },
  name: string,
  workspace: ArtifactWorkspace,
  findings: Finding[],
): Promise<ArtifactOutcome> {
  const { generator, location } = producer;
  const generatorKey = kustomizationKey(generator.namespace, generator.name);
  const artifact = generator.artifacts.find((candidate) => candidate.name === name)!;
  const local = generator.sources.filter((source) => isRepository(source, state)).map((source) => source.alias);
  for (const operation of artifact.copy) {
    const foreign = generator.sources.find((source) => source.alias === aliasOf(operation.from) && !local.includes(source.alias));
    if (foreign) {
      return {
        ok: false,
        why: `ArtifactGenerator ${generatorKey} makes from ${describeSource(foreign)}, not from this repository`,
        hint: `only copies from the ${state.source.kind} ${state.source.namespace}/${state.source.name} that the cluster syncs are made here`,
      };
    }
  }
  const dir = path.join(await workspace.dir(), String(state.index), generator.namespace, name);
  const made = await materializeArtifact(artifact.copy, new Map(local.map((alias) => [alias, root])), dir);
  const scope = { environment: state.cluster, file: location.file, ...(location.line ? { line: location.line } : {}) };
  for (const link of made.ok ? made.artifact.skipped : made.skipped) {
    findings.push(
      link.outside
        ? {
            severity: "error",
            check: "render/outside-repository",
            environment: state.cluster,
            file: link.path,
            message: `${link.path} is a symlink to ${link.target}, outside the repository: ArtifactGenerator ${generatorKey} does not copy it into ExternalArtifact ${generator.namespace}/${name}`,
            hint: "every file an ArtifactGenerator copies must be inside the repository; source-controller leaves symlinks out of the GitRepository artifact",
          }
        : {
            severity: "warning",
            check: "flux/symlink-not-copied",
            environment: state.cluster,
            file: link.path,
            message: `${link.path} is a symlink (to ${link.target}): source-controller leaves symlinks out of the GitRepository artifact, so ArtifactGenerator ${generatorKey} does not copy it into ExternalArtifact ${generator.namespace}/${name}`,
            hint: "copy the target's folder or file in the generator's rules instead of linking to it",
          },
    );
  }
  if (!made.ok) {
    if (made.reason === "invalid") {
      findings.push({
        severity: "error",
        check: "flux/artifact-generator",
        ...scope,
        message: `ArtifactGenerator ${generatorKey} cannot make ExternalArtifact ${generator.namespace}/${name}: ${made.message}`,
        hint: "source-watcher fails the generator the same way, and the Kustomizations that apply the artifact stall",
      });
    }
    return {
      ok: false,
      why: `ArtifactGenerator ${generatorKey} could not be made here (${made.message})`,
      hint:
        made.reason === "invalid"
          ? "see the flux/artifact-generator error"
          : "make the artifact with copy rules gitops-ci supports to have it checked",
    };
  }
  return {
    ok: true,
    materialized: made.artifact,
    source: { key: kustomizationKey(generator.namespace, name), generator: generatorKey, location, copy: artifact.copy, aliases: local },
  };
}

/** A result built in an artifact, with its origins turned into the repository files they were copied from. */
function inRepository(result: EngineResult, artifact: MaterializedArtifact): EngineResult {
  if (!result.origins) return result;
  return { ...result, origins: result.origins.map((origin) => (origin ? (copiedFileOf(artifact, origin)?.path ?? "") : origin)) };
}

/** The temporary folder artifacts are made in during one discovery, made when first needed. */
class ArtifactWorkspace {
  #dir: Promise<string> | undefined;

  dir(): Promise<string> {
    this.#dir ??= mkdtemp(path.join(tmpdir(), "gitops-ci-artifacts-"));
    return this.#dir;
  }

  async remove(): Promise<void> {
    if (this.#dir) await rm(await this.#dir, { recursive: true, force: true });
  }
}

/** Flux Kustomizations written in the repository that no cluster applies. */
async function unappliedKustomizations(root: string, applied: readonly ClusterKustomization[]): Promise<Finding[]> {
  const appliedFiles = new Set(applied.map((item) => `${item.location.file}\u0000${item.name}`));
  const findings: Finding[] = [];
  for (const file of withoutChartFiles(await listRepoFiles(root)).filter(isYamlFile)) {
    const text = (await readTextUpTo(path.join(root, file), MAX_INPUT_BYTES)) ?? "";
    if (!text.includes(FLUX_KUSTOMIZE_GROUP)) continue;
    const parsed = parseYaml(text, file);
    for (const document of parsed.documents) {
      if (!isRecord(document.value) || !isFluxKustomization(document.value)) continue;
      const metadata = isRecord(document.value["metadata"]) ? document.value["metadata"] : {};
      const name = scalarText(metadata["name"]);
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
        // Built in an ExternalArtifact, its path is the repository folder the artifact's was copied from.
        path: item.externalArtifact?.path ?? normalizePath(typeof spec["path"] === "string" ? spec["path"] : "."),
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
