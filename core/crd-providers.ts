// Who installs which CRDs. HelmReleases are not rendered offline, so the chart table (extended by
// `crds.providedBy` in gitops-ci.yaml) is how the layer contracts know that a cert-manager
// HelmRelease in layer 1 makes ClusterIssuers valid from layer 2 on; Flux's own components install
// theirs with Flux.
export const WELL_KNOWN_CHART_CRDS: Readonly<Record<string, readonly string[]>> = {
  "flux-operator": ["fluxcd.controlplane.io"],
  "cert-manager": ["cert-manager.io", "acme.cert-manager.io"],
  cilium: ["cilium.io"],
  "sealed-secrets": ["bitnami.com"],
  "kube-prometheus-stack": ["monitoring.coreos.com"],
  "prometheus-operator-crds": ["monitoring.coreos.com"],
  "external-secrets": ["external-secrets.io", "generators.external-secrets.io"],
  "external-dns": ["externaldns.k8s.io"],
  metallb: ["metallb.io"],
  traefik: ["traefik.io", "traefik.containo.us", "hub.traefik.io"],
  kyverno: ["kyverno.io", "wgpolicyk8s.io", "reports.kyverno.io"],
  longhorn: ["longhorn.io"],
  velero: ["velero.io"],
  "kube-vip": [],
  "ingress-nginx": [],
  istiod: ["networking.istio.io", "security.istio.io", "telemetry.istio.io"],
  base: ["networking.istio.io", "security.istio.io", "telemetry.istio.io", "extensions.istio.io"],
  "rook-ceph": ["ceph.rook.io", "objectbucket.io"],
  "cloudnative-pg": ["postgresql.cnpg.io"],
  "cnpg": ["postgresql.cnpg.io"],
  keda: ["keda.sh", "eventing.keda.sh"],
  "argo-rollouts": ["argoproj.io"],
  "snapshot-controller": ["snapshot.storage.k8s.io", "groupsnapshot.storage.k8s.io"],
  "gateway-api": ["gateway.networking.k8s.io"],
  "vertical-pod-autoscaler": ["autoscaling.k8s.io"],
  "opentelemetry-operator": ["opentelemetry.io"],
  "grafana-operator": ["grafana.integreatly.org"],
  "loki": [],
  "tempo": [],
};

/** Flux's own CRDs are installed by bootstrap, before any layer. */
export const FLUX_GROUP_SUFFIX = ".toolkit.fluxcd.io";

/** The Flux components and the API groups (or `Kind.group`) whose CRDs each one ships. */
export const FLUX_COMPONENTS: readonly { name: string; serves: readonly string[] }[] = [
  { name: "source-controller", serves: ["source.toolkit.fluxcd.io"] },
  { name: "kustomize-controller", serves: ["kustomize.toolkit.fluxcd.io"] },
  { name: "helm-controller", serves: ["helm.toolkit.fluxcd.io"] },
  { name: "notification-controller", serves: ["notification.toolkit.fluxcd.io"] },
  { name: "image-reflector-controller", serves: ["ImageRepository.image.toolkit.fluxcd.io", "ImagePolicy.image.toolkit.fluxcd.io"] },
  { name: "image-automation-controller", serves: ["ImageUpdateAutomation.image.toolkit.fluxcd.io"] },
  { name: "source-watcher", serves: ["source.extensions.fluxcd.io"] },
];

/** Whether Flux itself installs this group's CRDs (with the controllers, before any layer). */
export function isFluxGroup(group: string): boolean {
  return group.endsWith(FLUX_GROUP_SUFFIX) || FLUX_COMPONENTS.some((component) => component.serves.some((entry) => groupOfEntry(entry) === group));
}

/** `ImagePolicy.image.toolkit.fluxcd.io` → `image.toolkit.fluxcd.io`; a group stays itself. */
function groupOfEntry(entry: string): string {
  return /^[A-Z]/.test(entry) ? entry.slice(entry.indexOf(".") + 1) : entry;
}

/** The Flux component whose CRD defines this kind, e.g. `notification-controller` for Alert. */
export function fluxComponentOf(group: string, kind: string): string | undefined {
  return FLUX_COMPONENTS.find((component) => component.serves.some((entry) => entry === group || entry === `${kind}.${group}`))?.name;
}

/** Chart names that install this group's CRDs: the well-known table and `crds.providedBy`. */
export function chartsProviding(group: string, providedBy: Readonly<Record<string, readonly string[]>> = {}): string[] {
  const table = { ...WELL_KNOWN_CHART_CRDS, ...providedBy };
  return Object.keys(table)
    .filter((chart) => table[chart]!.includes(group))
    .sort();
}
