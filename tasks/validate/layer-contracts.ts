// The reasons a GitOps repository has layers at all, checked per environment:
//  - a custom resource needs its CRD from an earlier layer (or the same layer when the CRD object
//    itself is rendered there: kustomize-controller applies CRDs first), or pre-installed;
//  - a namespaced object needs its Namespace from the same or an earlier layer;
//  - one object belongs to one overlay.
// A chart's CRDs come with its rendered HelmRelease (tasks/render/render-helm-releases.ts): they
// exist once helm-controller installs the release, after its layer's Kustomization applied, so
// they serve the layers after it. A chart that could not be rendered is known only through
// `crds.providedBy`: a custom resource whose CRD nothing rendered provides is a warning that
// names the candidates, never an error. A layer that failed to render says
// nothing about what it would have provided, so the layers after it are not blamed for it.
import { chartsProviding, isFluxGroup } from "../../core/crd-providers.ts";
import type { Finding, ResourceRef } from "../../core/model/findings.ts";
import type { Fleet, Overlay } from "../../core/model/fleet.ts";
import { apiGroupOf, isKubernetesOwnGroup, objectKey, type Manifest } from "../../core/manifests.ts";
import { isRecord } from "../../core/yaml-file.ts";
import type { RenderedOverlay } from "../../core/model/rendered-overlay.ts";

export interface ContractOptions {
  /** True when Kubernetes itself serves this API group (the pinned release's OpenAPI): no CRD needed. */
  isBuiltIn: (apiVersion: string, kind: string) => boolean;
  /** Installed outside the repository: API groups, CRD names (`plural.group`), `Kind.group`, or `*.suffix`. */
  preinstalled: readonly string[];
  /** chart name → CRD groups it installs, for charts that are not rendered (gitops-ci.yaml crds.providedBy). */
  providedBy: Readonly<Record<string, readonly string[]>>;
}

interface Provision {
  overlay: Overlay;
  /** The CRD is rendered as an object (applied first within the layer) or installed by a chart. */
  how: "crd" | "chart" | "namespace" | "helm-create-namespace";
  source: string | undefined;
  /** For a chart: the HelmRelease and its chart name. */
  release?: { name: string; namespace?: string; chart: string };
}

/** The namespace of the sync Kustomization that starts this cluster, for Flux layouts. */
function fluxNamespaceOf(fleet: Fleet, environment: string): string | undefined {
  if (fleet.source !== "flux-clusters") return undefined;
  return fleet.overlays.find((overlay) => overlay.environment === environment && overlay.order === 1)?.flux?.namespace;
}

export function checkLayerContracts(fleet: Fleet, rendered: readonly RenderedOverlay[], options: ContractOptions): Finding[] {
  const findings: Finding[] = [];
  for (const environment of fleet.environments) {
    const results = rendered.filter((result) => result.overlay.environment === environment.name);
    // Layers of this environment that did not render (or were not rendered): their objects are unknown.
    const unknownLayers = new Set(
      fleet.layers.map((layer) => layer.name).filter((layer) => !results.some((result) => result.ok && result.overlay.layer === layer)),
    );
    findings.push(
      ...checkEnvironment(
        fleet,
        results.filter((result) => result.ok),
        unknownLayers,
        options,
      ),
    );
  }
  return findings;
}

function checkEnvironment(
  fleet: Fleet,
  overlays: readonly RenderedOverlay[],
  unknownLayers: ReadonlySet<string>,
  options: ContractOptions,
): Finding[] {
  const findings: Finding[] = [];
  const charts = options.providedBy;
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
          const chart = manifest.chart;
          const provision: Provision = chart
            ? {
                overlay,
                how: "chart",
                source: manifest.origin?.file,
                release: {
                  name: chart.helmRelease.name,
                  ...(chart.helmRelease.namespace ? { namespace: chart.helmRelease.namespace } : {}),
                  chart: chart.chart,
                },
              }
            : { overlay, how: "crd", source: manifest.origin?.file };
          add(kinds, `${names["kind"]}.${spec["group"]}`, provision);
        }
      } else if (manifest.ref.kind === "Namespace") {
        add(namespaces, manifest.ref.name, { overlay, how: "namespace", source: manifest.origin?.file });
      } else if (manifest.ref.kind === "HelmRelease" && isFluxGroup(apiGroupOf(manifest.ref.apiVersion))) {
        const chart = chartNameOf(spec);
        const release = {
          name: manifest.ref.name,
          ...(manifest.ref.namespace ? { namespace: manifest.ref.namespace } : {}),
          chart: chart ?? "",
        };
        for (const group of (chart && charts[chart]) || [])
          add(groups, group, { overlay, how: "chart", source: manifest.origin?.file, release });
        const install = isRecord(spec["install"]) ? spec["install"] : {};
        const target = typeof spec["targetNamespace"] === "string" ? spec["targetNamespace"] : manifest.ref.namespace;
        if (install["createNamespace"] === true && target)
          add(namespaces, target, { overlay, how: "helm-create-namespace", source: manifest.origin?.file });
      }
    }
  }

  // Releases whose chart was not rendered: what they install is unknown (only crds.providedBy tells).
  const unrendered: Provision[] = overlays.flatMap(({ overlay, findings: overlayFindings }) =>
    overlayFindings
      .filter((finding) => finding.check.startsWith("helm/") && finding.severity !== "info" && finding.resource?.kind === "HelmRelease")
      .map((finding) => ({
        overlay,
        how: "chart" as const,
        source: finding.file,
        release: {
          name: finding.resource!.name,
          ...(finding.resource!.namespace ? { namespace: finding.resource!.namespace } : {}),
          chart: "its chart",
        },
      })),
  );
  const seen = new Map<string, { overlay: Overlay; manifest: Manifest }>();
  for (const { overlay, manifests } of overlays) {
    const before = ancestorsOf(fleet, overlay);
    const inTime = (provisions: Provision[] | undefined, sameLayerOk: (p: Provision) => boolean) =>
      (provisions ?? []).some((p) => before.has(p.overlay.layer) || (p.overlay.layer === overlay.layer && sameLayerOk(p)));
    // An earlier layer that did not render may be the one that provides what is missing.
    const failedBefore = [...before].filter((layer) => unknownLayers.has(layer));

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
      const needsCrd =
        !isKubernetesOwnGroup(group) &&
        !isFluxGroup(group) &&
        !options.isBuiltIn(manifest.ref.apiVersion, kind) &&
        !isPreinstalled(options.preinstalled, group, kind);
      if (needsCrd) {
        const crds = kinds.get(`${kind}.${group}`) ?? [];
        const chartProvisions = groups.get(group) ?? [];
        if (!inTime(crds, (p) => p.how === "crd") && !inTime(chartProvisions, () => false) && failedBefore.length === 0) {
          findings.push(
            crds.length > 0
              ? crdTooLate(where, overlay, kind, group, crds)
              : crdNotRendered(where, overlay, kind, group, chartProvisions, unrendered, options),
          );
        }
      }

      const namespace = manifest.ref.namespace;
      // Flux runs in the namespace of the cluster's sync: it exists before any Kustomization applies.
      if (namespace && manifest.ref.kind !== "Namespace" && namespace !== fluxNamespaceOf(fleet, overlay.environment)) {
        const provisions = namespaces.get(namespace);
        if (provisions && !inTime(provisions, (p) => p.how === "namespace") && failedBefore.length === 0) {
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

/** The CRD object is rendered, but by a layer this one does not wait for: certain, an error. */
function crdTooLate(where: Located, overlay: Overlay, kind: string, group: string, crds: readonly Provision[]): Finding {
  const first = crds[0]!;
  if (first.how === "chart" && first.overlay.layer === overlay.layer) {
    return {
      ...where,
      severity: "warning",
      check: "contracts/crd-order",
      message: `${kind} (${group}) is applied in layer ${overlay.layer}, but its CRD comes with chart ${describeRelease(first)} in this same layer, whose CRDs exist only after helm-controller installs it: on a fresh cluster Flux's dry-run of ${overlay.layer} fails first`,
      hint: "move the resource to a layer that depends on this one, or declare the CRD under crds.preinstalled in gitops-ci.yaml if the cluster has it before this layer",
    };
  }
  const earlier = first.overlay.order < overlay.order;
  return {
    ...where,
    severity: "error",
    check: "contracts/crd-order",
    message: earlier
      ? `${kind} (${group}) is applied in layer ${overlay.layer}, but its CRD comes from layer ${describeProvisions(crds)}, which ${overlay.layer} does not depend on`
      : `${kind} (${group}) is applied in layer ${overlay.layer}, but its CRD only arrives with layer ${describeProvisions(crds)}`,
    hint: earlier
      ? `add ${first.overlay.layer} to the dependsOn of ${overlay.layer}`
      : "move the resource to a later layer, or the CRD to an earlier one",
  };
}

/**
 * No rendered object provides the CRD. A chart that was not rendered may, so this is a warning that
 * names the candidates: the HelmReleases of the same or earlier layers whose chart crds.providedBy
 * says installs the group, those that come too late, and the releases whose chart was not rendered.
 */
function crdNotRendered(
  where: Located,
  overlay: Overlay,
  kind: string,
  group: string,
  chartProvisions: readonly Provision[],
  unrendered: readonly Provision[],
  options: ContractOptions,
): Finding {
  const candidates = chartProvisions.filter((p) => p.overlay.order <= overlay.order);
  const later = chartProvisions.filter((p) => p.overlay.order > overlay.order);
  const known = chartsProviding(group, options.providedBy);
  const parts: string[] = [];
  if (candidates.length > 0) {
    parts.push(
      `candidate charts: ${candidates
        .map((p) =>
          p.overlay.layer === overlay.layer
            ? `${describeRelease(p)} in this same layer, whose CRDs exist only after helm-controller installs it: on a fresh cluster Flux's dry-run of ${overlay.layer} fails first`
            : `${describeRelease(p)} in layer ${p.overlay.layer}, which ${overlay.layer} does not depend on`,
        )
        .join("; ")}`,
    );
  }
  if (later.length > 0) parts.push(later.map((p) => `${describeRelease(p)} arrives only with layer ${p.overlay.layer}`).join("; "));
  const unknown = unrendered.filter(
    (p) => p.overlay.order <= overlay.order && !candidates.some((c) => c.release?.name === p.release?.name && c.overlay === p.overlay),
  );
  if (unknown.length > 0) {
    parts.push(
      `not rendered, so what their charts install is unknown: ${unknown.map((p) => `HelmRelease ${p.release!.namespace ? `${p.release!.namespace}/` : ""}${p.release!.name} (layer ${p.overlay.layer})`).join(", ")}`,
    );
  }
  if (parts.length === 0) {
    parts.push(
      known.length > 0
        ? `no layer of ${overlay.environment} has a HelmRelease of a chart that installs it (${known.join(", ")})`
        : `no layer of ${overlay.environment} installs it`,
    );
  }
  return {
    ...where,
    severity: "warning",
    check: "contracts/crd-order",
    message: `${kind} (${group}) is applied in layer ${overlay.layer}, but no layer it depends on renders its CRD: ${parts.join("; ")}`,
    hint:
      candidates.some((p) => p.overlay.layer === overlay.layer) || later.length > 0
        ? "move the resource to a layer after the chart's, or declare the CRD under crds.preinstalled in gitops-ci.yaml if the cluster has it before this layer"
        : `declare it under crds.preinstalled in gitops-ci.yaml if something outside the repository installs it (a bootstrap helmfile, Talos, Terraform), or crds.providedBy for the chart that does`,
  };
}

function describeRelease(provision: Provision): string {
  const release = provision.release!;
  return `${release.chart} (HelmRelease ${release.namespace ? `${release.namespace}/` : ""}${release.name}${provision.source ? `, ${provision.source}` : ""})`;
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

/**
 * `crds.preinstalled` entries: an API group (`monitoring.coreos.com`), a CRD's name
 * (`servicemonitors.monitoring.coreos.com`), `Kind.group` (`ServiceMonitor.monitoring.coreos.com`)
 * or a group suffix (`*.istio.io`).
 */
export function isPreinstalled(preinstalled: readonly string[], group: string, kind: string): boolean {
  const plurals = pluralsOf(kind).map((plural) => `${plural}.${group}`);
  return preinstalled.some(
    (entry) =>
      entry === group ||
      entry === `${kind}.${group}` ||
      plurals.includes(entry.toLowerCase()) ||
      (entry.startsWith("*.") && (group.endsWith(entry.slice(1)) || group === entry.slice(2))),
  );
}

/**
 * The resource names a CRD of this kind is likely named by: Kubernetes' own guess
 * (meta.UnsafeGuessKindToResource: -s, -es after s, -ies for y) and the other English plurals
 * controller-gen produces (-es after x, ch, sh; -ses after s).
 */
function pluralsOf(kind: string): string[] {
  const singular = kind.toLowerCase();
  const guesses = new Set([`${singular}s`]);
  if (singular.endsWith("s")) guesses.add(`${singular}es`);
  if (singular.endsWith("y")) guesses.add(`${singular.slice(0, -1)}ies`);
  if (/(x|ch|sh|z)$/.test(singular)) guesses.add(`${singular}es`);
  return [...guesses];
}

function describeProvisions(provisions: readonly Provision[]): string {
  const first = provisions[0]!;
  return `${first.overlay.layer}${first.source ? ` (${first.source})` : ""}`;
}

type Located = { environment: string; layer: string; resource: ResourceRef; file: string };

function locate(overlay: Overlay, manifest: Manifest): Located {
  return { environment: overlay.environment, layer: overlay.layer, resource: manifest.ref, file: manifest.origin?.file ?? overlay.path };
}
