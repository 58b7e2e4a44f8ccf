// The "must not miss" list from object changes; the renders themselves are tested end to end in
// test/tasks/diff/against.test.ts.
import { describe, expect, it } from "vitest";
import { compareRenders, type RenderSide } from "../../../core/diff/git-diff.ts";
import type { Overlay } from "../../../core/model/fleet.ts";
import { resourceRefOf, type Manifest } from "../../../core/manifests.ts";

const overlay: Overlay = { environment: "prod", layer: "infra", path: "infra", dependsOn: [], order: 1 };

function side(objects: Record<string, unknown>[]): RenderSide {
  return { overlay, ok: true, manifests: objects.map((object): Manifest => ({ ref: resourceRefOf(object), object })) };
}

const object = (apiVersion: string, kind: string, name: string, spec: Record<string, unknown> = {}, namespace?: string) => ({
  apiVersion,
  kind,
  metadata: { name, ...(namespace ? { namespace } : {}) },
  spec,
});

describe("risks of a Git diff", () => {
  it("lists CRDs, Namespaces, RBAC, network policies, webhooks, chart versions, suspensions and scale to zero", () => {
    const before = [
      object("apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com", { group: "example.com", version: "v1" }),
      object("helm.toolkit.fluxcd.io/v2", "HelmRelease", "web", { chart: { spec: { chart: "web", version: "1.0.0" } } }, "apps"),
      object("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "apps", { prune: true }, "flux-system"),
      object("apps/v1", "Deployment", "api", { replicas: 2 }, "apps"),
      object("source.toolkit.fluxcd.io/v1", "OCIRepository", "charts", { ref: { tag: "1.0.0" } }, "flux-system"),
    ];
    const after = [
      object("apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com", { group: "example.com", version: "v2" }),
      object(
        "helm.toolkit.fluxcd.io/v2",
        "HelmRelease",
        "web",
        { chart: { spec: { chart: "web", version: "1.1.0" } }, values: { image: { tag: "2.0" } } },
        "apps",
      ),
      object("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "apps", { prune: true, suspend: true }, "flux-system"),
      object("apps/v1", "Deployment", "api", { replicas: 0 }, "apps"),
      object("source.toolkit.fluxcd.io/v1", "OCIRepository", "charts", { ref: { tag: "1.1.0" } }, "flux-system"),
      object("v1", "Namespace", "payments"),
      object("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "admins"),
      object("networking.k8s.io/v1", "NetworkPolicy", "deny-all", {}, "apps"),
      object("cilium.io/v2", "CiliumNetworkPolicy", "l7", {}, "apps"),
      object("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "policy"),
    ];
    const result = compareRenders([{ cluster: "prod", layer: "infra", base: side(before), head: side(after) }]);
    expect(result.problems).toEqual([]);
    expect(result.risks.map((risk) => `${risk.kind}: ${risk.object}: ${risk.detail}`).sort()).toEqual(
      [
        "admission-webhook: ValidatingWebhookConfiguration policy: created",
        "chart-version: HelmRelease apps/web: spec.chart.spec.version: 1.0.0 → 1.1.0",
        "chart-version: OCIRepository flux-system/charts: spec.ref.tag: 1.0.0 → 1.1.0",
        "crd: CustomResourceDefinition widgets.example.com: changed",
        "image: HelmRelease apps/web: spec.values.image.tag: (none) → 2.0",
        "namespace: Namespace payments: created",
        "network-policy: CiliumNetworkPolicy apps/l7: created",
        "network-policy: NetworkPolicy apps/deny-all: created",
        "rbac: ClusterRoleBinding admins: created",
        "scaled-to-zero: Deployment apps/api: spec.replicas: 2 → 0",
        "suspended: Kustomization flux-system/apps: spec.suspend: true (Flux stops reconciling it)",
      ].sort(),
    );
  });

  it("finds nothing to flag in a plain ConfigMap change", () => {
    const result = compareRenders([
      {
        cluster: "prod",
        layer: "infra",
        base: side([{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" }, data: { x: "1" } }]),
        head: side([{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" }, data: { x: "2" } }]),
      },
    ]);
    expect(result.changes).toHaveLength(1);
    expect(result.risks).toEqual([]);
  });
});
