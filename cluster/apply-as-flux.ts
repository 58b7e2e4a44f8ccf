// Puts a rendered overlay into the local cluster the way kustomize-controller would: owner labels,
// its field manager, CRDs and Namespaces first, and the Flux Kustomization object with the
// inventory of what it applied in its status. The "current state" of tests, demo and benchmark.
import { mapWithConcurrency } from "../core/concurrency.ts";
import { applyRank, FLUX_FIELD_MANAGER, isCustomResourceDefinition, withOwnerLabels, type KustomizationName } from "../core/diff/flux.ts";
import type { KubernetesClient } from "../core/kubernetes/client.ts";
import { apiGroupOf, type Manifest } from "../core/manifests.ts";
import { installCrds } from "./crds.ts";
import { isSopsEncryptedObject } from "../core/model/secrets.ts";

export interface ApplyAsFluxOptions {
  /** Also write the Flux Kustomization object and its status.inventory (default true, when its CRD is served). */
  inventory?: boolean;
  concurrency?: number;
}

/** Returns how many objects were applied (SOPS-encrypted ones are left out: Flux would decrypt them first). */
export async function applyAsFlux(
  client: KubernetesClient,
  manifests: readonly Manifest[],
  kustomization: KustomizationName,
  options: ApplyAsFluxOptions = {},
): Promise<number> {
  const applicable = manifests.filter((manifest) => !isSopsEncryptedObject(manifest.object));
  const crds = applicable.filter(isCustomResourceDefinition);
  if (crds.length > 0) {
    await installCrds(
      client,
      crds.map((crd) => withOwnerLabels(crd.object, kustomization)),
    );
    client.forgetDiscovery();
  }
  const rest = applicable.filter((manifest) => !isCustomResourceDefinition(manifest));
  const inventory: { id: string; v: string }[] = [];
  for (const rank of [1, 2]) {
    await mapWithConcurrency(
      rest.filter((manifest) => applyRank(manifest) === rank),
      options.concurrency ?? 16,
      async (manifest) => {
        const resource = await client.resourceFor(manifest.ref.apiVersion, manifest.ref.kind);
        if (!resource) throw new Error(`the local cluster does not serve ${manifest.ref.apiVersion} ${manifest.ref.kind}`);
        const object = withOwnerLabels(manifest.object, kustomization);
        const metadata = object["metadata"] as Record<string, unknown>;
        if (resource.namespaced && !manifest.ref.namespace) metadata["namespace"] = client.defaultNamespace;
        if (!resource.namespaced) delete metadata["namespace"];
        await client.apply(resource, object, { fieldManager: FLUX_FIELD_MANAGER, dryRun: false, force: true });
        inventory.push({
          id: `${resource.namespaced ? String(metadata["namespace"]) : ""}_${manifest.ref.name}_${resource.group}_${resource.kind}`,
          v: resource.version,
        });
      },
    );
  }
  for (const crd of crds) inventory.push({ id: `_${crd.ref.name}_${apiGroupOf(crd.ref.apiVersion)}_${crd.ref.kind}`, v: "v1" });
  if (options.inventory !== false) await recordInventory(client, kustomization, inventory);
  return applicable.length;
}

/** The Flux Kustomization object, with status.inventory as kustomize-controller keeps it. */
async function recordInventory(
  client: KubernetesClient,
  kustomization: KustomizationName,
  entries: { id: string; v: string }[],
): Promise<void> {
  const resource = await client.resourceFor("kustomize.toolkit.fluxcd.io/v1", "Kustomization");
  const namespaces = await client.resourceFor("v1", "Namespace");
  if (!resource || !namespaces) return;
  await client.apply(
    namespaces,
    { apiVersion: "v1", kind: "Namespace", metadata: { name: kustomization.namespace } },
    { fieldManager: "gitops-ci-local-cluster", dryRun: false, force: true },
  );
  const metadata = { name: kustomization.name, namespace: kustomization.namespace };
  const object = { apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", metadata };
  await client.apply(
    resource,
    { ...object, spec: { interval: "10m", prune: true, sourceRef: { kind: "GitRepository", name: "local" } } },
    { fieldManager: FLUX_FIELD_MANAGER, dryRun: false, force: true },
  );
  const sorted = [...entries].sort((a, b) => a.id.localeCompare(b.id));
  await client.apply(
    resource,
    { ...object, status: { inventory: { entries: sorted } } },
    { fieldManager: FLUX_FIELD_MANAGER, dryRun: false, force: true, subresource: "status" },
  );
}
