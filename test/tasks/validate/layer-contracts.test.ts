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

const widgetCrd =
  "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  names: { kind: Widget, plural: widgets, singular: widget, listKind: WidgetList }\n  scope: Namespaced\n  versions:\n    - name: v1\n      served: true\n      storage: true\n      schema:\n        openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true }\n";
const widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: ingress\n";
const serviceMonitor =
  "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: web\n  namespace: ingress\nspec:\n  selector: {}\n  endpoints: []\n";

function addResource(tree: Tree, dir: string, file: string, content: string): void {
  tree[`${dir}/${file}`] = content;
  tree[`${dir}/kustomization.yaml`] = tree[`${dir}/kustomization.yaml`]!.replace("resources:\n", `resources:\n  - ${file}\n`);
}

/** The cert-manager chart of these trees is not rendered (its HelmRepository is not in them): crds.providedBy names its group. */
const PROVIDED_BY = "apiVersion: gitops-ci/v1\nkind: Config\ncrds:\n  providedBy:\n    cert-manager: [cert-manager.io]\n";

async function contractFindings(tree: Tree) {
  const root = await makeRepo(tree);
  const { context } = captureContext(root);
  const { report } = await check(context, { dir: root, json: false });
  return report.findings.filter((f) => f.check.startsWith("contracts/"));
}

describe("layer contracts", () => {
  it("accepts a custom resource one layer after the HelmRelease whose chart crds.providedBy says installs its CRD", async () => {
    const tree = smallFleet(["prod"]);
    tree["gitops-ci.yaml"] = PROVIDED_BY;
    addResource(tree, "gitops/flux/infrastructure/controllers/base", "cert-manager.yaml", certManagerRelease("ingress"));
    addResource(tree, "gitops/flux/infrastructure/configs/base", "issuer.yaml", issuer);
    expect(await contractFindings(tree)).toEqual([]);
  });

  it("warns about a custom resource in an earlier layer than the unrendered chart crds.providedBy says installs its CRD", async () => {
    const tree = smallFleet(["prod"]);
    tree["gitops-ci.yaml"] = PROVIDED_BY;
    addResource(tree, "gitops/flux/apps/base", "cert-manager.yaml", certManagerRelease("ingress"));
    addResource(tree, "gitops/flux/infrastructure/configs/base", "issuer.yaml", issuer);
    expect(await contractFindings(tree)).toEqual([
      expect.objectContaining({
        severity: "warning",
        check: "contracts/crd-order",
        layer: "configs",
        file: "gitops/flux/infrastructure/configs/base/issuer.yaml",
        message:
          "ClusterIssuer (cert-manager.io) is applied in layer configs, but no layer it depends on renders its CRD: cert-manager (HelmRelease ingress/cert-manager-prod, gitops/flux/apps/base/cert-manager.yaml) arrives only with layer apps",
      }),
    ]);
  });

  it("warns about a custom resource in the same layer as the chart that installs its CRD, naming the chart", async () => {
    const tree = smallFleet(["prod"]);
    tree["gitops-ci.yaml"] = PROVIDED_BY;
    addResource(tree, "gitops/flux/infrastructure/configs/base", "cert-manager.yaml", certManagerRelease("ingress"));
    addResource(tree, "gitops/flux/infrastructure/configs/base", "issuer.yaml", issuer);
    expect(await contractFindings(tree)).toEqual([
      expect.objectContaining({
        severity: "warning",
        check: "contracts/crd-order",
        message: expect.stringContaining(
          "candidate charts: cert-manager (HelmRelease ingress/cert-manager-prod, gitops/flux/infrastructure/configs/base/cert-manager.yaml) in this same layer",
        ),
      }),
    ]);
  });

  it("rejects a custom resource whose CRD object is rendered only by a later layer (certain, so an error)", async () => {
    const tree = smallFleet(["prod"]);
    addResource(tree, "gitops/flux/apps/base", "crd.yaml", widgetCrd);
    addResource(tree, "gitops/flux/infrastructure/configs/base", "widget.yaml", widget);
    expect(await contractFindings(tree)).toEqual([
      expect.objectContaining({
        severity: "error",
        check: "contracts/crd-order",
        layer: "configs",
        message:
          "Widget (example.com) is applied in layer configs, but its CRD only arrives with layer apps (gitops/flux/apps/base/crd.yaml)",
      }),
    ]);
  });

  it("accepts a CRD rendered in the same layer (kustomize-controller applies CRDs first)", async () => {
    const tree = smallFleet(["prod"]);
    addResource(tree, "gitops/flux/apps/base", "crd.yaml", widgetCrd);
    addResource(tree, "gitops/flux/apps/base", "widget.yaml", widget);
    expect(await contractFindings(tree)).toEqual([]);
  });

  it("warns about a custom resource whose CRD nothing in the repository installs, with a hint to declare it", async () => {
    const tree = smallFleet(["prod"]);
    addResource(tree, "gitops/flux/apps/base", "monitor.yaml", serviceMonitor);
    expect(await contractFindings(tree)).toEqual([
      expect.objectContaining({
        severity: "warning",
        check: "contracts/crd-order",
        message: expect.stringContaining(
          "ServiceMonitor (monitoring.coreos.com) is applied in layer apps, but no layer it depends on renders its CRD: no layer of prod installs it",
        ),
        hint: expect.stringContaining("crds.preinstalled"),
      }),
    ]);
  });

  it("takes Kubernetes' own API groups from the pinned release's OpenAPI: no CRD for MutatingAdmissionPolicy, DeviceClass or StorageVersionMigration", async () => {
    const tree = smallFleet(["prod"]);
    addResource(
      tree,
      "gitops/flux/apps/base",
      "builtin.yaml",
      [
        "apiVersion: admissionregistration.k8s.io/v1beta1\nkind: MutatingAdmissionPolicy\nmetadata:\n  name: add-label\nspec:\n  failurePolicy: Fail\n",
        "apiVersion: resource.k8s.io/v1\nkind: DeviceClass\nmetadata:\n  name: gpu\nspec: {}\n",
        'apiVersion: storagemigration.k8s.io/v1beta1\nkind: StorageVersionMigration\nmetadata:\n  name: secrets\nspec:\n  resource: { group: "", resource: secrets }\n',
        // A version of a Kubernetes group that this release no longer serves: no CRD can bring it back.
        "apiVersion: resource.k8s.io/v1alpha2\nkind: ResourceClass\nmetadata:\n  name: old\ndriverName: gpu.example.com\n",
        // A .k8s.io group Kubernetes does not serve is a CRD's, like any other.
        "apiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshot\nmetadata:\n  name: data\n  namespace: ingress\nspec:\n  source: { persistentVolumeClaimName: data }\n",
      ].join("---\n"),
    );
    const root = await makeRepo(tree);
    const { context } = captureContext(root);
    const { report } = await check(context, { dir: root, json: false });
    expect(report.findings.filter((f) => f.check.startsWith("contracts/"))).toEqual([
      expect.objectContaining({
        severity: "warning",
        resource: expect.objectContaining({ kind: "VolumeSnapshot" }),
        message: expect.stringContaining("no layer of prod installs it"),
      }),
    ]);
    expect(report.findings.filter((f) => f.resource?.kind === "ResourceClass")).toEqual([
      expect.objectContaining({
        severity: "error",
        check: "validate/unserved-api",
        message: expect.stringMatching(/^Kubernetes \d+\.\d+\.\d+ serves no ResourceClass in resource\.k8s\.io\/v1alpha2$/),
      }),
    ]);
  });

  it("takes crds.preinstalled as API groups, CRD names, Kind.group or *.suffix (CRDs installed by a bootstrap helmfile, Talos, Terraform)", async () => {
    const tree = smallFleet(["prod"]);
    addResource(
      tree,
      "gitops/flux/apps/base",
      "preinstalled.yaml",
      [
        serviceMonitor,
        "apiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshot\nmetadata:\n  name: data\n  namespace: ingress\nspec:\n  source: { persistentVolumeClaimName: data }\n",
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: deny\n  namespace: ingress\nspec:\n  endpointSelector: {}\n",
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: web\n  namespace: ingress\nspec: {}\n",
        "apiVersion: policy.example.com/v1\nkind: Policy\nmetadata:\n  name: strict\n  namespace: ingress\nspec: {}\n",
      ].join("---\n"),
    );
    tree["gitops-ci.yaml"] = [
      "apiVersion: gitops-ci/v1",
      "kind: Config",
      "crds:",
      "  preinstalled:",
      "    - monitoring.coreos.com                      # an API group",
      "    - volumesnapshots.snapshot.storage.k8s.io    # a CRD's name, as `kubectl get crd` lists it",
      "    - CiliumNetworkPolicy.cilium.io              # Kind.group",
      '    - "*.istio.io"                              # every group under a domain',
      "    - policies.policy.example.com                # -ies plural",
      "",
    ].join("\n");
    expect(await contractFindings(tree)).toEqual([]);
  });

  it("does not blame a layer for a CRD that an earlier layer, which failed to render, may provide", async () => {
    const tree = smallFleet(["prod"]);
    addResource(tree, "gitops/flux/infrastructure/controllers/base", "cert-manager.yaml", certManagerRelease("ingress"));
    addResource(tree, "gitops/flux/infrastructure/configs/base", "issuer.yaml", issuer);
    addResource(tree, "gitops/flux/apps/base", "monitor.yaml", serviceMonitor);
    // The controllers layer no longer renders: its HelmRelease is unknown, so configs' and apps' custom resources are not reported.
    tree["gitops/flux/infrastructure/controllers/base/kustomization.yaml"] =
      tree["gitops/flux/infrastructure/controllers/base/kustomization.yaml"]! + "  - missing.yaml\n";
    const root = await makeRepo(tree);
    const { context } = captureContext(root);
    const { report } = await check(context, { dir: root, json: false });
    expect(report.findings.filter((f) => f.check.startsWith("render/")).map((f) => f.layer)).toEqual(["controllers"]);
    expect(report.findings.filter((f) => f.check.startsWith("contracts/"))).toEqual([]);
  });

  it("rejects an object whose Namespace is created only by a later layer", async () => {
    const tree = smallFleet(["prod"]);
    addResource(tree, "gitops/flux/apps/base", "namespace.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n");
    addResource(
      tree,
      "gitops/flux/infrastructure/configs/base",
      "shop-settings.yaml",
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shop\n  namespace: shop\n",
    );
    expect(await contractFindings(tree)).toEqual([
      expect.objectContaining({
        check: "contracts/namespace-order",
        layer: "configs",
        file: "gitops/flux/infrastructure/configs/base/shop-settings.yaml",
      }),
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
