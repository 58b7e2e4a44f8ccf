// One environment against its cluster, layer by layer in reconcile order, as kustomize-controller
// would apply it: each object through a server-side apply dry-run with Flux's field manager and
// owner labels, compared with the live object; then the objects Flux would prune.
import { mapWithConcurrency } from "../../core/concurrency.ts";
import {
  applyRank,
  FLUX_FIELD_MANAGER,
  kustomizationOf,
  ownerSelector,
  skipReason,
  withOwnerLabels,
  type KustomizationName,
  type KustomizationNaming,
} from "../../core/diff/flux.ts";
import { crdPolicy, crdSkipReason, isReleased } from "../../core/diff/chart-crds.ts";
import { describeObject, diffProblem, type DiffProblem, type EnvironmentDiff, type ObjectChange } from "../../core/model/object-changes.ts";
import { fieldsThatMatter, sameJson, toDiffYaml } from "../../core/diff/normalize.ts";
import { PendingDefinitions } from "../../core/diff/pending-definitions.ts";
import { pruneChanges } from "../../core/diff/prune.ts";
import { formatSecretKeyChanges, secretKeyChanges, secretValuesOf, withoutSecretValues } from "../../core/diff/secret-changes.ts";
import { unifiedDiff } from "../../core/diff/unified-diff.ts";
import type { ApiResource, KubeObject, KubernetesClient } from "../../core/kubernetes/client.ts";
import { KubernetesApiError } from "../../core/kubernetes/errors.ts";
import { objectKey, resourceRefOf, type Manifest } from "../../core/manifests.ts";
import type { Redactor } from "../../core/redaction.ts";
import { isRecord, scalarText } from "../../core/yaml-file.ts";
import type { RenderedOverlay } from "../../core/model/rendered-overlay.ts";
import { isSecretObject, isSopsEncryptedObject } from "../../core/model/secrets.ts";

export interface EnvironmentDiffInput {
  environment: string;
  /** The environment's overlays, rendered, in reconcile order. */
  rendered: readonly RenderedOverlay[];
  client: KubernetesClient;
  redactor: Redactor;
  naming?: KustomizationNaming;
  /** Chart name → API groups whose CRDs it installs (gitops-ci.yaml crds.providedBy). */
  providedBy?: Readonly<Record<string, readonly string[]>>;
  /** Objects diffed at once (each is a get and a patch; the client bounds requests too). */
  concurrency?: number;
}

/** A failure that says the cluster cannot be read at all: stop, and say so once. */
const FATAL = new Set(["unreachable", "timeout", "unauthorized"]);

interface Prepared {
  manifest: Manifest;
  layer: string;
  kustomization: KustomizationName;
  resource?: ApiResource;
  object: KubeObject;
  ref: Manifest["ref"];
}

export async function diffEnvironment(input: EnvironmentDiffInput): Promise<EnvironmentDiff> {
  const { client, environment } = input;
  const result: EnvironmentDiff = {
    environment,
    context: client.contextName,
    server: client.server,
    layers: input.rendered.map((r) => r.overlay.layer),
    changes: [],
    problems: [],
  };
  // An object, not a `let`: the callbacks below set it, which narrowing cannot see.
  const stop = { aborted: false };
  const fatal = (error: unknown, layer?: string): boolean => {
    if (error instanceof KubernetesApiError && FATAL.has(error.failure)) {
      if (!stop.aborted)
        result.problems.push(diffProblem("diff/cluster", { environment, ...(layer ? { layer } : {}), message: error.message }));
      stop.aborted = true;
      return true;
    }
    return false;
  };

  try {
    await client.version();
  } catch (error) {
    if (fatal(error)) return result;
    throw error;
  }

  const concurrency = input.concurrency ?? 16;
  const pending = new PendingDefinitions(input.providedBy);
  // Resolve every object first: prune needs the keys of everything the environment renders.
  const layers: { overlay: RenderedOverlay; prepared: Prepared[] }[] = [];
  for (const overlay of input.rendered) {
    const layer = overlay.overlay.layer;
    if (!overlay.ok) {
      result.problems.push(
        diffProblem("diff/not-rendered", {
          environment,
          layer,
          file: overlay.overlay.path,
          message: `overlay ${overlay.overlay.path} did not render; its objects were not compared and nothing is reported as pruned`,
          hint: "run gitops-ci check for the render errors",
        }),
      );
      layers.push({ overlay, prepared: [] });
      continue;
    }
    const kustomization = kustomizationOf(overlay.overlay, input.naming);
    let prepared: Prepared[];
    try {
      prepared = await mapWithConcurrency(overlay.manifests, concurrency, (manifest) => prepare(client, manifest, layer, kustomization));
    } catch (error) {
      if (fatal(error, layer)) return result;
      if (!(error instanceof KubernetesApiError)) throw error;
      result.problems.push(diffProblem("diff/discovery", { environment, layer, message: `API discovery failed: ${error.message}` }));
      return result;
    }
    layers.push({ overlay, prepared: prepared.sort((a, b) => applyRank(a.manifest) - applyRank(b.manifest) || compareRefs(a.ref, b.ref)) });
  }
  const renderedKeys = new Set(layers.flatMap((entry) => entry.prepared.map((p) => objectKey(p.ref))));

  // What each layer's Flux Kustomization owns in the cluster, listed by its owner labels: the live
  // objects to compare with (one list per kind instead of one get per object), and what Flux prunes.
  const owned = new Map<string, KubeObject[]>();
  const liveByKey = new Map<string, KubeObject>();
  for (const { overlay } of layers) {
    if (stop.aborted || !overlay.ok) continue;
    const layer = overlay.overlay.layer;
    try {
      const objects = await ownedObjects(kustomizationOf(overlay.overlay, input.naming));
      owned.set(layer, objects);
      for (const object of objects) liveByKey.set(liveKey(object), object);
    } catch (error) {
      if (fatal(error, layer)) return result;
      if (!(error instanceof KubernetesApiError)) throw error;
      // Without the owned objects neither the live state nor prune is known: stop here, say why once.
      result.problems.push(diffProblem("diff/owned-objects", { environment, layer, message: error.message }));
      return result;
    }
  }

  for (const { overlay, prepared } of layers) {
    if (stop.aborted) break;
    const layer = overlay.overlay.layer;
    // CRDs and Namespaces first, as kustomize-controller stages them: later objects may wait on them.
    for (const stage of [prepared.filter((p) => applyRank(p.manifest) < 2), prepared.filter((p) => applyRank(p.manifest) === 2)]) {
      const outcomes = await mapWithConcurrency(stage, concurrency, async (item) => {
        if (stop.aborted) return undefined;
        try {
          return await diffObject(item);
        } catch (error) {
          if (fatal(error, layer)) return undefined;
          if (error instanceof KubernetesApiError)
            return { problem: diffProblem("diff/dry-run", { ...objectScope(item), message: error.message }) };
          throw error;
        }
      });
      for (const [index, outcome] of outcomes.entries()) {
        if (!outcome) continue;
        if ("problem" in outcome) result.problems.push(outcome.problem);
        else {
          result.changes.push(outcome);
          pending.record(stage[index]!.manifest, outcome.action, layer);
        }
      }
    }
    const labelled = owned.get(layer);
    // fatal() may have set it while this layer was diffed; narrowing cannot see that.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
    if (stop.aborted || !labelled) continue;
    result.changes.push(...pruneChanges({ environment, layer, labelled, rendered: renderedKeys }));
  }
  return result;

  /** Where an object's problem points: its environment, layer, resource and the file it is written in. */
  function objectScope(item: Prepared): Pick<DiffProblem, "environment" | "layer" | "resource" | "file" | "line"> {
    const origin = item.manifest.origin;
    return {
      environment,
      layer: item.layer,
      resource: item.ref,
      ...(origin ? { file: origin.file, ...(origin.line ? { line: origin.line } : {}) } : {}),
    };
  }

  async function diffObject(item: Prepared): Promise<ObjectChange | { problem: DiffProblem }> {
    const scope = { environment, layer: item.layer, ref: item.ref, ...(item.manifest.origin ? { file: item.manifest.origin.file } : {}) };
    if (isSopsEncryptedObject(item.object)) {
      return { ...scope, action: "skip", reason: "SOPS-encrypted: Flux decrypts it in the cluster, with a key CI does not hold" };
    }
    if (!item.resource) {
      const provider = pending.kind(item.ref.apiVersion, item.ref.kind);
      if (provider) return { ...scope, action: "wait", waitingOn: provider.layer, reason: `needs ${provider.what}` };
      return {
        problem: diffProblem("diff/unknown-kind", {
          ...objectScope(item),
          message: `${describeObject(item.ref)}: the cluster serves no ${item.ref.kind} in ${item.ref.apiVersion}, and no layer of this change brings its CRD`,
          hint: "install the CRD from an earlier layer (or its chart, see crds.providedBy in gitops-ci.yaml), or fix the apiVersion",
        }),
      };
    }
    const namespace = item.ref.namespace;
    const namespaceProvider = namespace ? pending.namespace(namespace) : undefined;
    if (namespaceProvider)
      return { ...scope, action: "wait", waitingOn: namespaceProvider.layer, reason: `needs ${namespaceProvider.what}` };

    // Listed by owner labels above; an object without them (new, or another owner's) is fetched.
    const live = liveByKey.get(liveKey(item.object)) ?? (await client.get(item.resource, item.ref.name, namespace));
    if (live) registerSecretValues(live);
    const skip = skipReason(item.object, live) ?? (await chartCrdSkip(item, live !== undefined));
    if (skip) return { ...scope, action: "skip", reason: skip };

    let merged: KubeObject;
    try {
      merged = await client.apply(item.resource, item.object, { fieldManager: FLUX_FIELD_MANAGER, dryRun: true, force: true });
    } catch (error) {
      if (error instanceof KubernetesApiError && error.failure === "not-found" && error.status?.details?.kind === "namespaces") {
        return {
          problem: diffProblem("diff/missing-namespace", {
            ...objectScope(item),
            message: `${describeObject(item.ref)}: namespace ${namespace} does not exist in the cluster, and no layer of this change creates it`,
            hint: "add the Namespace to this layer or an earlier one",
          }),
        };
      }
      throw error;
    }
    registerSecretValues(merged);
    const metadata = isRecord(merged["metadata"]) ? merged["metadata"] : {};
    if (!live || !metadata["resourceVersion"]) return { ...scope, action: "create" };

    const before = fieldsThatMatter(live);
    const after = fieldsThatMatter(merged);
    if (sameJson(before, after)) return { ...scope, action: "unchanged" };
    const labels = { oldLabel: `live: ${describeObject(item.ref)}`, newLabel: `after apply: ${describeObject(item.ref)}` };
    const diff = isSecretObject(merged)
      ? [
          unifiedDiff(toDiffYaml(withoutSecretValues(before)), toDiffYaml(withoutSecretValues(after)), labels),
          formatSecretKeyChanges(secretKeyChanges(before, after)),
        ]
          .filter((part) => part !== "")
          .join("\n")
      : unifiedDiff(toDiffYaml(before), toDiffYaml(after), labels);
    return { ...scope, action: "update", diff: input.redactor.redact(diff) };
  }

  /** A chart's CRD under its HelmRelease's CRD policy: the upgrade's when the release is installed in the cluster. */
  async function chartCrdSkip(item: Prepared, exists: boolean): Promise<string | undefined> {
    const owner = item.manifest.chart?.helmRelease;
    if (item.ref.kind !== "CustomResourceDefinition" || !owner) return undefined;
    const rendered = input.rendered
      .flatMap((overlay) => overlay.manifests)
      .find(
        (manifest) => manifest.ref.kind === "HelmRelease" && manifest.ref.name === owner.name && manifest.ref.namespace === owner.namespace,
      );
    if (!rendered) return undefined;
    const resource = await client.resourceFor(rendered.ref.apiVersion, "HelmRelease");
    const live =
      liveByKey.get(liveKey(rendered.object)) ?? (resource ? await client.get(resource, owner.name, owner.namespace) : undefined);
    const released = isReleased(live);
    const reason = crdSkipReason(crdPolicy(rendered.object, released), released, exists);
    return reason ? `HelmRelease ${owner.namespace ? `${owner.namespace}/` : ""}${owner.name}: ${reason}` : undefined;
  }

  function registerSecretValues(object: KubeObject): void {
    for (const value of secretValuesOf(object)) input.redactor.add(value);
  }

  async function ownedObjects(kustomization: KustomizationName): Promise<KubeObject[]> {
    const kinds = new Map<string, ApiResource>();
    const add = (resource: ApiResource | undefined) => {
      if (resource && resource.verbs.includes("list")) kinds.set(`${resource.group}/${resource.plural}`, resource);
    };
    // Every kind the environment renders, and every kind the live Flux Kustomization's inventory holds.
    for (const entry of layers) for (const item of entry.prepared) add(item.resource);
    for (const [apiVersion, kind] of await inventoryKinds(kustomization)) add(await client.resourceFor(apiVersion, kind));
    const selector = ownerSelector(kustomization);
    const labelled = (
      await mapWithConcurrency([...kinds.values()], concurrency, (resource) => client.list(resource, { labelSelector: selector }))
    ).flat();
    for (const object of labelled) registerSecretValues(object);
    return labelled;
  }

  /** apiVersion/kind pairs of the Flux Kustomization's status.inventory, when the cluster runs Flux. */
  async function inventoryKinds(kustomization: KustomizationName): Promise<[string, string][]> {
    const resource = await client.resourceFor("kustomize.toolkit.fluxcd.io/v1", "Kustomization");
    if (!resource) return [];
    const live = await client.get(resource, kustomization.name, kustomization.namespace);
    const status = live && isRecord(live["status"]) ? live["status"] : {};
    const inventory = isRecord(status["inventory"]) ? status["inventory"] : {};
    const entries = Array.isArray(inventory["entries"]) ? inventory["entries"].filter(isRecord) : [];
    const kinds = new Map<string, [string, string]>();
    for (const entry of entries) {
      // id: <namespace>_<name>_<group>_<kind>, v: version
      const parts = scalarText(entry["id"]).split("_");
      if (parts.length !== 4) continue;
      const [, , group, kind] = parts as [string, string, string, string];
      const apiVersion = group ? `${group}/${scalarText(entry["v"])}` : scalarText(entry["v"], "v1");
      kinds.set(`${apiVersion}/${kind}`, [apiVersion, kind]);
    }
    return [...kinds.values()];
  }
}

/** apiVersion, kind, namespace and name: a listed object stands in for a get only in the same version. */
function liveKey(object: KubeObject): string {
  const ref = resourceRefOf(object);
  return `${ref.apiVersion}/${ref.kind}/${ref.namespace ?? ""}/${ref.name}`;
}

async function prepare(client: KubernetesClient, manifest: Manifest, layer: string, kustomization: KustomizationName): Promise<Prepared> {
  const resource = await client.resourceFor(manifest.ref.apiVersion, manifest.ref.kind);
  const object = withOwnerLabels(manifest.object, kustomization);
  const metadata = object["metadata"] as Record<string, unknown>;
  let ref = manifest.ref;
  if (resource?.namespaced && !ref.namespace) {
    // Like kubectl and kustomize-controller: a namespaced object without one goes to the default.
    metadata["namespace"] = client.defaultNamespace;
    ref = { ...ref, namespace: client.defaultNamespace };
  } else if (resource && !resource.namespaced && ref.namespace) {
    delete metadata["namespace"];
    const { namespace: _dropped, ...clusterScoped } = ref;
    ref = clusterScoped;
  }
  return { manifest, layer, kustomization, object, ref, ...(resource ? { resource } : {}) };
}

function compareRefs(a: Manifest["ref"], b: Manifest["ref"]): number {
  return a.kind.localeCompare(b.kind) || (a.namespace ?? "").localeCompare(b.namespace ?? "") || a.name.localeCompare(b.name);
}
