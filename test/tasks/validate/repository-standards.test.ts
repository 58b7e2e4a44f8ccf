import { describe, expect, it } from "vitest";
import { check } from "../../../tasks/check/index.ts";
import { captureContext } from "../../helpers/context.ts";
import { overlayPath, smallFleet } from "../../helpers/small-fleet.ts";
import { makeRepo, type Tree } from "../../helpers/temp-repo.ts";

async function standardFindings(tree: Tree) {
  const root = await makeRepo(tree);
  const { context } = captureContext(root);
  const { report } = await check(context, { dir: root, json: false });
  return report.findings.filter((f) => f.check.startsWith("standards/") || f.check.startsWith("yaml/"));
}

describe("repository standards", () => {
  it("warns about a manifest that its folder's kustomization does not list", async () => {
    const tree = smallFleet(["prod"]);
    tree["gitops/flux/apps/base/forgotten.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: forgotten\n";
    tree["gitops/flux/apps/base/values.yaml"] = "replicaCount: 2\n"; // not a manifest: not a finding
    expect(await standardFindings(tree)).toEqual([
      expect.objectContaining({ severity: "warning", check: "standards/unlisted-file", file: "gitops/flux/apps/base/forgotten.yaml" }),
    ]);
  });

  it("warns about a folder of manifests that no kustomization covers", async () => {
    const tree = smallFleet(["prod"]);
    tree["gitops/flux/apps/base/extras/job.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n";
    expect(await standardFindings(tree)).toEqual([
      expect.objectContaining({ check: "standards/missing-kustomization", file: "gitops/flux/apps/base/extras/" }),
    ]);
  });

  it("rejects a copied overlay that kept another environment's nameSuffix, at its line", async () => {
    const tree = smallFleet(["prod", "staging"]);
    const staging = overlayPath("apps", "staging");
    tree[`${staging}/kustomization.yaml`] = tree[`${staging}/kustomization.yaml`]!.replace("nameSuffix: -staging", "nameSuffix: -prod");
    const findings = await standardFindings(tree);
    expect(findings).toEqual([
      expect.objectContaining({
        severity: "error",
        check: "standards/name-suffix",
        file: `${staging}/kustomization.yaml`,
        line: 5,
        environment: "staging",
      }),
    ]);
  });

  it("rejects an overlay that does not build on its layer's base", async () => {
    const tree = smallFleet(["prod"]);
    const prod = overlayPath("configs", "prod");
    tree[`${prod}/kustomization.yaml`] =
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - settings.yaml\nnameSuffix: -prod\n";
    tree[`${prod}/settings.yaml`] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ingress\n";
    expect(await standardFindings(tree)).toEqual([
      expect.objectContaining({ check: "standards/overlay-uses-base", file: prod, layer: "configs" }),
    ]);
  });

  it("reports duplicate keys with their line, even where kustomize would accept the file", async () => {
    const tree = smallFleet(["prod"]);
    tree["gitops/flux/apps/base/service.yaml"] =
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: ingress\nspec:\n  ports:\n    - port: 80\n  type: ClusterIP\n  type: NodePort\n";
    const findings = await standardFindings(tree);
    expect(findings).toContainEqual(
      expect.objectContaining({ check: "yaml/duplicate-key", file: "gitops/flux/apps/base/service.yaml", line: 10 }),
    );
  });

  it("lets gitops-ci.yaml switch a rule off or change its severity", async () => {
    const tree = smallFleet(["prod"]);
    tree["gitops/flux/apps/base/forgotten.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: forgotten\n";
    tree["gitops/flux/apps/base/extras/job.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n";
    tree["gitops-ci.yaml"] =
      "apiVersion: gitops-ci/v1\nkind: Config\nlayers:\n  - name: controllers\n    path: gitops/flux/infrastructure/controllers\n  - name: configs\n    path: gitops/flux/infrastructure/configs\n    dependsOn: [controllers]\n  - name: apps\n    path: gitops/flux/apps\n    dependsOn: [configs]\nrules:\n  standards/unlisted-file: off\n  standards/missing-kustomization: error\n";
    expect(await standardFindings(tree)).toEqual([
      expect.objectContaining({ severity: "error", check: "standards/missing-kustomization" }),
    ]);
  });
});
