// Which API groups a Helm chart installs CRDs for. HelmReleases are not rendered offline, so this
// table (extended by `crds.providedBy` in gitops-ci.yaml) is how the layer contracts know that a
// cert-manager HelmRelease in layer 1 makes ClusterIssuers valid from layer 2 on.
export const WELL_KNOWN_CHART_CRDS: Readonly<Record<string, readonly string[]>> = {
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
