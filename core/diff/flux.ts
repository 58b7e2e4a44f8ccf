// What Flux's kustomize-controller adds to and reads from the objects it applies: the owner labels
// of the Flux Kustomization, and the annotations that exclude an object from apply or prune.
import type { Overlay } from "../model/fleet.ts";
import { apiGroupOf, type Manifest } from "../manifests.ts";
import { isRecord } from "../yaml-file.ts";

/** kustomize-controller's field manager for server-side apply. */
export const FLUX_FIELD_MANAGER = "kustomize-controller";

export const FLUX_NAME_LABEL = "kustomize.toolkit.fluxcd.io/name";
export const FLUX_NAMESPACE_LABEL = "kustomize.toolkit.fluxcd.io/namespace";
export const FLUX_RECONCILE_ANNOTATION = "kustomize.toolkit.fluxcd.io/reconcile";
export const FLUX_SSA_ANNOTATION = "kustomize.toolkit.fluxcd.io/ssa";
export const FLUX_PRUNE_ANNOTATION = "kustomize.toolkit.fluxcd.io/prune";

/** The Flux Kustomization object that reconciles one overlay. */
export interface KustomizationName {
  name: string;
  namespace: string;
}

/** How overlays without a Flux Kustomization object in the repository name theirs (gitops-ci.yaml `flux:`). */
export interface KustomizationNaming {
  /** `{layer}` and `{env}` are replaced; default `{layer}`. */
  name: string;
  namespace: string;
}

export const DEFAULT_KUSTOMIZATION_NAMING: KustomizationNaming = { name: "{layer}", namespace: "flux-system" };

export function kustomizationOf(overlay: Overlay, naming: KustomizationNaming = DEFAULT_KUSTOMIZATION_NAMING): KustomizationName {
  if (overlay.flux) return { name: overlay.flux.name, namespace: overlay.flux.namespace };
  return {
    name: naming.name.replaceAll("{layer}", overlay.layer).replaceAll("{env}", overlay.environment),
    namespace: naming.namespace.replaceAll("{layer}", overlay.layer).replaceAll("{env}", overlay.environment),
  };
}

export function ownerSelector(kustomization: KustomizationName): string {
  return `${FLUX_NAME_LABEL}=${kustomization.name},${FLUX_NAMESPACE_LABEL}=${kustomization.namespace}`;
}

/** A copy with the owner labels Flux sets on everything it applies (they are part of what it applies). */
export function withOwnerLabels(object: Record<string, unknown>, kustomization: KustomizationName): Record<string, unknown> {
  const copy = structuredClone(object);
  const metadata = isRecord(copy["metadata"]) ? copy["metadata"] : (copy["metadata"] = {});
  const labels = isRecord(metadata["labels"]) ? metadata["labels"] : (metadata["labels"] = {});
  labels[FLUX_NAME_LABEL] = kustomization.name;
  labels[FLUX_NAMESPACE_LABEL] = kustomization.namespace;
  return copy;
}

/** Label or annotation value, as Flux's selectors match either. */
export function metadataValue(object: Record<string, unknown> | undefined, key: string): string | undefined {
  const metadata = object && isRecord(object["metadata"]) ? object["metadata"] : undefined;
  for (const field of ["annotations", "labels"]) {
    const values = metadata && isRecord(metadata[field]) ? metadata[field] : undefined;
    const value = values?.[key];
    if (typeof value === "string") return value;
  }
  return undefined;
}

/**
 * Why kustomize-controller would leave the object alone, if it would: `reconcile: disabled` on the
 * rendered or the live object, `ssa: Ignore`, or `ssa: IfNotPresent` when the object exists.
 */
export function skipReason(desired: Record<string, unknown>, live: Record<string, unknown> | undefined): string | undefined {
  for (const [object, where] of [
    [desired, "in Git"],
    [live, "in the cluster"],
  ] as const) {
    if (metadataValue(object, FLUX_RECONCILE_ANNOTATION)?.toLowerCase() === "disabled")
      return `${FLUX_RECONCILE_ANNOTATION}: disabled (${where})`;
  }
  const ssa = metadataValue(desired, FLUX_SSA_ANNOTATION)?.toLowerCase();
  if (ssa === "ignore") return `${FLUX_SSA_ANNOTATION}: Ignore`;
  if (ssa === "ifnotpresent" && live) return `${FLUX_SSA_ANNOTATION}: IfNotPresent, and the object exists`;
  return undefined;
}

export function pruneDisabled(live: Record<string, unknown>): boolean {
  return metadataValue(live, FLUX_PRUNE_ANNOTATION)?.toLowerCase() === "disabled";
}

export function isCustomResourceDefinition(manifest: Pick<Manifest, "ref">): boolean {
  return manifest.ref.kind === "CustomResourceDefinition" && apiGroupOf(manifest.ref.apiVersion) === "apiextensions.k8s.io";
}

export function isNamespace(manifest: Pick<Manifest, "ref">): boolean {
  return manifest.ref.kind === "Namespace" && manifest.ref.apiVersion === "v1";
}

/** Apply order within one Kustomization: CRDs and Namespaces first, as kustomize-controller stages them. */
export function applyRank(manifest: Pick<Manifest, "ref">): number {
  if (isCustomResourceDefinition(manifest)) return 0;
  if (isNamespace(manifest)) return 1;
  return 2;
}

/** `group/Kind` pairs and versions a CRD object defines. */
export function crdDefines(object: Record<string, unknown>): { group: string; kind: string; versions: string[] } | undefined {
  const spec = isRecord(object["spec"]) ? object["spec"] : undefined;
  const names = spec && isRecord(spec["names"]) ? spec["names"] : undefined;
  if (!spec || typeof spec["group"] !== "string" || !names || typeof names["kind"] !== "string") return undefined;
  const versions = Array.isArray(spec["versions"])
    ? spec["versions"]
        .filter(isRecord)
        .filter((v) => v["served"] !== false)
        .map((v) => String(v["name"]))
    : [];
  return { group: spec["group"], kind: names["kind"], versions };
}
