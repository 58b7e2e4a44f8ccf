import { describe, expect, it } from "vitest";
import { check } from "../../../tasks/check/index.ts";
import { captureContext } from "../../helpers/context.ts";
import { overlayPath, smallFleet } from "../../helpers/small-fleet.ts";
import { makeRepo, type Tree } from "../../helpers/temp-repo.ts";

const certManagerRelease = (namespace = "cert-manager") => `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: cert-manager
  namespace: ${namespace}
spec:
  interval: 1h
  chart:
    spec:
      chart: cert-manager
      version: v1.16.2
      sourceRef: { kind: HelmRepository, name: jetstack }
`;

const issuer = `apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata:
  name: letsencrypt
spec:
  selfSigned: {}
`;

function addResource(tree: Tree, dir: string, file: string, content: string): void {
  tree[`${dir}/${file}`] = content;
  tree[`${dir}/kustomization.yaml`] = tree[`${dir}/kustomization.yaml`]!.replace("resources:\n", `resources:\n  - ${file}\n`);
}

async function contractFindings(tree: Tree) {
  const root = await makeRepo(tree);
  const { context } = captureContext(root);
  const { report } = await check(context, { dir: root, json: false });
  return report.findings.filter((f) => f.check.startsWith("contracts/"));
}

describe("layer contracts", () => {
  it("accepts a custom resource one layer after the HelmRelease that installs its CRD", async () => {
    const tree = smallFleet(["prod"]);
    addResource(tree, "gitops/flux/infrastructure/controllers/base", "cert-manager.yaml", certManagerRelease("ingress"));
    addResource(tree, "gitops/flux/infrastructure/configs/base", "issuer.yaml", issuer);
    expect(await contractFindings(tree)).toEqual([]);
  });

  it("rejects a custom resource in an earlier layer than its CRD", async () => {
    const tree = smallFleet(["prod"]);
    addResource(tree, "gitops/flux/apps/base", "cert-manager.yaml", certManagerRelease("ingress"));
    addResource(tree, "gitops/flux/infrastructure/configs/base", "issuer.yaml", issuer);
    expect(await contractFindings(tree)).toEqual([
      expect.objectContaining({
        severity: "error",
        check: "contracts/crd-order",
        layer: "configs",
        file: "gitops/flux/infrastructure/configs/base/issuer.yaml",
        message: expect.stringContaining("only arrives with layer apps"),
      }),
    ]);
  });

  it("rejects a custom resource in the same layer as the chart that installs its CRD", async () => {
    const tree = smallFleet(["prod"]);
    addResource(tree, "gitops/flux/infrastructure/configs/base", "cert-manager.yaml", certManagerRelease("ingress"));
    addResource(tree, "gitops/flux/infrastructure/configs/base", "issuer.yaml", issuer);
    expect(await contractFindings(tree)).toEqual([expect.objectContaining({ check: "contracts/crd-order", message: expect.stringContaining("whose own HelmRelease installs its CRD") })]);
  });

  it("accepts a CRD rendered in the same layer (kustomize-controller applies CRDs first)", async () => {
    const tree = smallFleet(["prod"]);
    addResource(
      tree,
      "gitops/flux/apps/base",
      "crd.yaml",
      "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  names: { kind: Widget, plural: widgets, singular: widget, listKind: WidgetList }\n  scope: Namespaced\n  versions:\n    - name: v1\n      served: true\n      storage: true\n      schema:\n        openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true }\n",
    );
    addResource(tree, "gitops/flux/apps/base", "widget.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: ingress\n");
    expect(await contractFindings(tree)).toEqual([]);
  });

  it("rejects a custom resource whose CRD no layer installs, with a hint to declare it", async () => {
    const tree = smallFleet(["prod"]);
    addResource(tree, "gitops/flux/apps/base", "monitor.yaml", "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: web\n  namespace: ingress\nspec:\n  selector: {}\n  endpoints: []\n");
    expect(await contractFindings(tree)).toEqual([
      expect.objectContaining({ check: "contracts/crd-order", message: expect.stringContaining("no layer of prod installs"), hint: expect.stringContaining("crds.preinstalled") }),
    ]);
  });

  it("rejects an object whose Namespace is created only by a later layer", async () => {
    const tree = smallFleet(["prod"]);
    addResource(tree, "gitops/flux/apps/base", "namespace.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n");
    addResource(tree, "gitops/flux/infrastructure/configs/base", "shop-settings.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shop\n  namespace: shop\n");
    expect(await contractFindings(tree)).toEqual([
      expect.objectContaining({ check: "contracts/namespace-order", layer: "configs", file: "gitops/flux/infrastructure/configs/base/shop-settings.yaml" }),
    ]);
  });

  it("rejects the same object rendered by two overlays of one environment", async () => {
    const tree = smallFleet(["prod"]);
    const apps = overlayPath("apps", "prod");
    addResource(tree, apps, "settings.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ingress\n");
    expect(await contractFindings(tree)).toEqual([
      expect.objectContaining({ check: "contracts/duplicate-object", layer: "apps", message: expect.stringContaining("configs") }),
    ]);
  });
});
