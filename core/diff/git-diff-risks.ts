// What a reviewer of a GitOps merge request must not miss, picked out of the object changes:
// deletions, CRDs, Namespaces, images, chart versions, scale to zero, RBAC, network policies,
// admission webhooks, and Flux objects that the change suspends.
import { apiGroupOf } from "../manifests.ts";
import { isRecord } from "../yaml-file.ts";
import type { GitObjectChange } from "./git-diff.ts";

export type RiskKind =
  | "deletion"
  | "crd"
  | "namespace"
  | "image"
  | "chart-version"
  | "scaled-to-zero"
  | "rbac"
  | "network-policy"
  | "admission-webhook"
  | "suspended";

export interface Risk {
  kind: RiskKind;
  cluster: string;
  layer: string;
  /** `Kind namespace/name`, or the Kustomization when it is suspended as a whole. */
  object: string;
  detail: string;
}

export const RISK_TITLES: Readonly<Record<RiskKind, string>> = {
  deletion: "Prunes and deletions",
  crd: "CRD changes",
  namespace: "Namespace changes",
  image: "Image tag and digest changes",
  "chart-version": "Chart version changes",
  "scaled-to-zero": "Replicas set to 0",
  rbac: "RBAC changes",
  "network-policy": "NetworkPolicy changes",
  "admission-webhook": "Admission webhook changes",
  suspended: "Suspended Kustomizations and HelmReleases",
};

export const RISK_ORDER: readonly RiskKind[] = Object.keys(RISK_TITLES) as RiskKind[];

const NETWORK_POLICY_KINDS = new Set([
  "NetworkPolicy",
  "CiliumNetworkPolicy",
  "CiliumClusterwideNetworkPolicy",
  "GlobalNetworkPolicy",
  "AdminNetworkPolicy",
  "BaselineAdminNetworkPolicy",
]);
const FLUX_SUSPENDABLE = new Set(["kustomize.toolkit.fluxcd.io/Kustomization", "helm.toolkit.fluxcd.io/HelmRelease"]);

/** The objects whose afterYaml is needed (creates) are read from the change's view. */
export function risksOf(change: GitObjectChange, objects: { before?: Record<string, unknown>; after?: Record<string, unknown> }): Risk[] {
  const where = {
    cluster: change.cluster,
    layer: change.layer,
    object: `${change.ref.kind} ${change.ref.namespace ? `${change.ref.namespace}/` : ""}${change.ref.name}`,
  };
  const risks: Risk[] = [];
  const add = (kind: RiskKind, detail: string) => risks.push({ kind, ...where, detail });
  const group = apiGroupOf(change.ref.apiVersion);
  const verb =
    change.action === "delete"
      ? `deleted (${change.deletion}${change.deletionReason ? `: ${change.deletionReason}` : ""})`
      : change.action === "create"
        ? "created"
        : "changed";

  if (change.action === "delete") add("deletion", verb);
  if (change.ref.kind === "CustomResourceDefinition") add("crd", verb);
  if (change.ref.kind === "Namespace" && group === "") add("namespace", verb);
  if (group === "rbac.authorization.k8s.io") add("rbac", verb);
  if (NETWORK_POLICY_KINDS.has(change.ref.kind)) add("network-policy", verb);
  if (group === "admissionregistration.k8s.io") add("admission-webhook", verb);

  for (const field of change.fields ?? []) {
    if (field.secretKey || (field.kind !== "changed" && field.kind !== "added")) continue;
    if (/(^|\.)(containers|initContainers|ephemeralContainers)\[name=[^\]]+\]\.image$/.test(field.path))
      add("image", `${field.path}: ${text(field.before)} → ${text(field.after)}`);
    else if (change.ref.kind === "HelmRelease" && (field.path === "spec.values" || field.path.startsWith("spec.values."))) {
      // A values subtree may arrive whole: look at each of its leaves.
      for (const [path, value] of leaves(field.path, field.after)) {
        if (/\.(tag|digest|image)$/.test(path) && typeof value === "string")
          add("image", `${path}: ${text(path === field.path ? field.before : undefined)} → ${value}`);
      }
    }
    if (isChartVersion(change, field.path)) add("chart-version", `${field.path}: ${text(field.before)} → ${text(field.after)}`);
  }

  const replicasAfter = replicas(objects.after);
  if (replicasAfter === 0 && change.action !== "delete" && replicas(objects.before) !== 0)
    add(
      "scaled-to-zero",
      change.action === "create" ? "created with spec.replicas: 0" : `spec.replicas: ${text(replicas(objects.before))} → 0`,
    );

  if (FLUX_SUSPENDABLE.has(`${group}/${change.ref.kind}`)) {
    const before = suspended(objects.before);
    const after = suspended(objects.after);
    if (after && !before && change.action !== "delete")
      add("suspended", change.action === "create" ? "created suspended" : "spec.suspend: true (Flux stops reconciling it)");
    if (before && !after && change.action === "update") add("suspended", "spec.suspend removed (Flux reconciles it again)");
  }
  return risks;
}

function isChartVersion(change: GitObjectChange, path: string): boolean {
  const group = apiGroupOf(change.ref.apiVersion);
  if (change.ref.kind === "HelmRelease") return path === "spec.chart.spec.version";
  if (change.ref.kind === "HelmChart" && group === "source.toolkit.fluxcd.io") return path === "spec.version";
  if (change.ref.kind === "OCIRepository" && group === "source.toolkit.fluxcd.io") return /^spec\.ref\.(tag|semver|digest)$/.test(path);
  return false;
}

function replicas(object: Record<string, unknown> | undefined): number | undefined {
  const spec = object && isRecord(object["spec"]) ? object["spec"] : undefined;
  return typeof spec?.["replicas"] === "number" ? spec["replicas"] : undefined;
}

function suspended(object: Record<string, unknown> | undefined): boolean {
  const spec = object && isRecord(object["spec"]) ? object["spec"] : undefined;
  return spec?.["suspend"] === true;
}

function leaves(path: string, value: unknown): [string, unknown][] {
  if (!isRecord(value)) return [[path, value]];
  return Object.entries(value).flatMap(([key, inner]) => leaves(`${path}.${key}`, inner));
}

function text(value: unknown): string {
  return value === undefined ? "(none)" : typeof value === "string" ? value : JSON.stringify(value);
}
