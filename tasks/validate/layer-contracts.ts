// The reasons the seed has layers at all, checked per environment:
//  - a custom resource needs its CRD from an earlier layer (or the same layer when the CRD object
//    itself is rendered there: kustomize-controller applies CRDs first), or pre-installed;
//  - a namespaced object needs its Namespace from the same or an earlier layer;
//  - one object belongs to one overlay.
import type { Finding, ResourceRef } from "../../core/findings.ts";
import { FLUX_GROUP_SUFFIX, WELL_KNOWN_CHART_CRDS } from "../../core/crd-providers.ts";
import type { Fleet, Overlay } from "../../core/fleet/model.ts";
import { apiGroupOf, isKubernetesOwnGroup, objectKey, type Manifest } from "../../core/manifests.ts";
import { isRecord } from "../../core/yaml-file.ts";
import type { RenderedOverlay } from "../render/render-overlay.ts";

export interface ContractOptions {
  /** True when the Kubernetes API itself serves this kind (a core schema exists for it). */
  isBuiltIn: (apiVersion: string, kind: string) => boolean;
  /** Groups or `Kind.group` entries installed outside the repository. */
  preinstalled: readonly string[];
  /** chart name → CRD groups it installs, on top of the well-known table. */
  providedBy: Readonly<Record<string, readonly string[]>>;
}

interface Provision {
  overlay: Overlay;
  /** The CRD is rendered as an object (applied first within the layer) or installed by a chart. */
  how: "crd" | "chart" | "namespace" | "helm-create-namespace";
  source: string | undefined;
}

export function checkLayerContracts(fleet: Fleet, rendered: readonly RenderedOverlay[], options: ContractOptions): Finding[] {
  const findings: Finding[] = [];
  for (const environment of fleet.environments) {
    const overlays = rendered.filter((result) => result.ok && result.overlay.environment === environment.name);
    findings.push(...checkEnvironment(fleet, overlays, options));
  }
  return findings;
}

function checkEnvironment(fleet: Fleet, overlays: readonly RenderedOverlay[], options: ContractOptions): Finding[] {
  const findings: Finding[] = [];
  const charts = { ...WELL_KNOWN_CHART_CRDS, ...options.providedBy };
  const groups = new Map<string, Provision[]>();
  const kinds = new Map<string, Provision[]>();
  const namespaces = new Map<string, Provision[]>();
  const add = (map: Map<string, Provision[]>, key: string, provision: Provision) => map.set(key, [...(map.get(key) ?? []), provision]);

  for (const { overlay, manifests } of overlays) {
    for (const manifest of manifests) {
      const spec = isRecord(manifest.object["spec"]) ? manifest.object["spec"] : {};
      if (manifest.ref.kind === "CustomResourceDefinition") {
        const names = isRecord(spec["names"]) ? spec["names"] : {};
        if (typeof spec["group"] === "string" && typeof names["kind"] === "string") {
          add(kinds, `${names["kind"]}.${spec["group"]}`, { overlay, how: "crd", source: manifest.origin?.file });
        }
      } else if (manifest.ref.kind === "Namespace") {
        add(namespaces, manifest.ref.name, { overlay, how: "namespace", source: manifest.origin?.file });
      } else if (manifest.ref.kind === "HelmRelease" && apiGroupOf(manifest.ref.apiVersion).endsWith(FLUX_GROUP_SUFFIX)) {
        const chart = chartNameOf(spec);
        for (const group of (chart && charts[chart]) || []) add(groups, group, { overlay, how: "chart", source: manifest.origin?.file });
        const install = isRecord(spec["install"]) ? spec["install"] : {};
        const target = typeof spec["targetNamespace"] === "string" ? spec["targetNamespace"] : manifest.ref.namespace;
        if (install["createNamespace"] === true && target) add(namespaces, target, { overlay, how: "helm-create-namespace", source: manifest.origin?.file });
      }
    }
  }

  const seen = new Map<string, { overlay: Overlay; manifest: Manifest }>();
  for (const { overlay, manifests } of overlays) {
    const before = ancestorsOf(fleet, overlay);
    const usable = (provisions: Provision[] | undefined, sameLayerOk: (p: Provision) => boolean) =>
      (provisions ?? []).some((p) => before.has(p.overlay.layer) || (p.overlay.layer === overlay.layer && sameLayerOk(p)));

    for (const manifest of manifests) {
      const where = locate(overlay, manifest);
      const key = objectKey(manifest.ref);
      const other = seen.get(key);
      if (other && other.overlay !== overlay) {
        findings.push({
          ...where,
          severity: "error",
          check: "contracts/duplicate-object",
          message: `rendered by two overlays of ${overlay.environment}: ${other.overlay.layer} (${other.manifest.origin?.file ?? other.overlay.path}) and ${overlay.layer}`,
          hint: "two Flux Kustomizations would fight over this object, and pruning one deletes it for the other",
        });
      } else if (!other) {
        seen.set(key, { overlay, manifest });
      }

      const group = apiGroupOf(manifest.ref.apiVersion);
      const kind = manifest.ref.kind;
      // Kubernetes' own groups need no CRD; an unserved kind there is validate/unserved-api.
      if (!isKubernetesOwnGroup(group) && !group.endsWith(FLUX_GROUP_SUFFIX) && !options.isBuiltIn(manifest.ref.apiVersion, kind) && !isPreinstalled(options.preinstalled, group, kind)) {
        const crd = kinds.get(`${kind}.${group}`);
        const chart = groups.get(group);
        if (!usable(crd, (p) => p.how === "crd") && !usable(chart, () => false)) {
          const later = [...(crd ?? []), ...(chart ?? [])];
          findings.push({
            ...where,
            severity: "error",
            check: "contracts/crd-order",
            message: later.some((p) => p.overlay.layer === overlay.layer)
              ? `${kind} (${group}) is applied in layer ${overlay.layer}, whose own HelmRelease installs its CRD (${describeProvisions(later)}): on a fresh cluster Flux's dry-run fails before helm-controller has installed the chart`
              : later.length
                ? `${kind} (${group}) is applied in layer ${overlay.layer}, but its CRD only arrives with layer ${describeProvisions(later)}`
                : `${kind} (${group}) needs a CRD that no layer of ${overlay.environment} installs`,
            hint: later.length
              ? later.some((p) => p.overlay.layer === overlay.layer)
                ? "move this resource to a layer that dependsOn this one, or declare the group under crds.preinstalled if the cluster's bootstrap installs it"
                : "move the resource to a later layer, or the CRD to an earlier one"
              : `declare it under crds.preinstalled (or crds.providedBy for the chart that installs it) in gitops-ci.yaml`,
          });
        }
      }

      const namespace = manifest.ref.namespace;
      if (namespace && manifest.ref.kind !== "Namespace") {
        const provisions = namespaces.get(namespace);
        if (provisions && !usable(provisions, (p) => p.how === "namespace")) {
          findings.push({
            ...where,
            severity: "error",
            check: "contracts/namespace-order",
            message: `namespace ${namespace} is created only by layer ${describeProvisions(provisions)}, after ${overlay.layer}`,
            hint: "create the Namespace in this layer or an earlier one",
          });
        }
      }
    }
  }
  return findings;
}

/** Layers an overlay waits for, transitively, within its environment. */
function ancestorsOf(fleet: Fleet, overlay: Overlay): Set<string> {
  const result = new Set<string>();
  const pending = [...overlay.dependsOn];
  while (pending.length > 0) {
    const layer = pending.pop()!;
    if (result.has(layer)) continue;
    result.add(layer);
    const next = fleet.overlays.find((o) => o.environment === overlay.environment && o.layer === layer);
    pending.push(...(next?.dependsOn ?? []));
  }
  return result;
}

function chartNameOf(spec: Record<string, unknown>): string | undefined {
  const chart = isRecord(spec["chart"]) && isRecord(spec["chart"]["spec"]) ? spec["chart"]["spec"] : undefined;
  if (chart && typeof chart["chart"] === "string") return chart["chart"].split("/").at(-1);
  // chartRef to an OCIRepository/HelmChart: the referenced name is the best available hint.
  const ref = isRecord(spec["chartRef"]) ? spec["chartRef"] : undefined;
  return ref && typeof ref["name"] === "string" ? ref["name"] : undefined;
}

function isPreinstalled(preinstalled: readonly string[], group: string, kind: string): boolean {
  return preinstalled.some((entry) => entry === group || entry === `${kind}.${group}` || (entry.startsWith("*.") && group.endsWith(entry.slice(1))));
}

function describeProvisions(provisions: readonly Provision[]): string {
  const first = provisions[0]!;
  return `${first.overlay.layer}${first.source ? ` (${first.source})` : ""}`;
}

function locate(overlay: Overlay, manifest: Manifest): { environment: string; layer: string; resource: ResourceRef; file: string } {
  return { environment: overlay.environment, layer: overlay.layer, resource: manifest.ref, file: manifest.origin?.file ?? overlay.path };
}
