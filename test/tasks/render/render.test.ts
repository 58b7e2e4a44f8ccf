import { describe, expect, it } from "vitest";
import { render } from "../../../tasks/render/index.ts";
import { captureContext } from "../../helpers/context.ts";
import { overlayPath, smallFleet } from "../../helpers/small-fleet.ts";
import { makeRepo, type Tree } from "../../helpers/temp-repo.ts";

async function renderTree(tree: Tree) {
  const root = await makeRepo(tree);
  const { context } = captureContext(root);
  return render(context, { dir: root });
}

function otherOverlaysStillRender(result: Awaited<ReturnType<typeof renderTree>>, broken: string) {
  const others = result.rendered.filter((r) => r.overlay.path !== broken);
  expect(others).toHaveLength(5);
  for (const other of others) expect(other.ok, other.overlay.path).toBe(true);
}

describe("render", () => {
  it("renders every overlay, tracing objects to their source file", async () => {
    const result = await renderTree(smallFleet());
    expect(result.findings).toEqual([]);
    const prod = result.rendered.find((r) => r.overlay.path === overlayPath("controllers", "prod"))!;
    expect(prod.manifests.map((m) => `${m.ref.kind}/${m.ref.name}`)).toEqual(["Namespace/ingress", "Deployment/ingress-prod"]);
    expect(prod.manifests[1]!.origin?.file).toBe("gitops/flux/infrastructure/controllers/base/deployment.yaml");
    // Origin annotations are ours, not the user's: they must not reach what Flux would apply.
    expect(JSON.stringify(prod.manifests)).not.toContain("config.kubernetes.io/origin");
  });

  it("reports a missing base with the kustomization file and line, and renders the rest", async () => {
    const tree = smallFleet();
    const broken = overlayPath("configs", "staging");
    tree[`${broken}/kustomization.yaml`] =
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../bsae\nnameSuffix: -staging\n";
    const result = await renderTree(tree);
    expect(result.findings).toEqual([
      expect.objectContaining({
        severity: "error",
        check: "render/missing-base",
        file: `${broken}/kustomization.yaml`,
        line: 4,
        environment: "staging",
        layer: "configs",
      }),
    ]);
    otherOverlaysStillRender(result, broken);
  });

  it("reports a YAML syntax error in a resource", async () => {
    const tree = smallFleet();
    tree["gitops/flux/apps/base/service.yaml"] = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n   namespace: [\n";
    const result = await renderTree(tree);
    const findings = result.findings.filter((f) => f.layer === "apps");
    expect(findings.length).toBe(2);
    for (const finding of findings)
      expect(finding).toMatchObject({ severity: "error", check: "render/invalid-yaml", file: "gitops/flux/apps/base/service.yaml" });
    expect(result.rendered.filter((r) => r.ok)).toHaveLength(4);
  });

  it("reports an empty overlay", async () => {
    const tree = smallFleet();
    const broken = overlayPath("apps", "prod");
    tree[`${broken}/kustomization.yaml`] = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnameSuffix: -prod\n";
    const result = await renderTree(tree);
    expect(result.findings).toEqual([expect.objectContaining({ check: "render/empty-overlay", file: broken, environment: "prod" })]);
    otherOverlaysStillRender(result, broken);
  });

  it("reports a patch that targets nothing", async () => {
    const tree = smallFleet();
    const broken = overlayPath("controllers", "prod");
    tree[`${broken}/kustomization.yaml`] =
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\nnameSuffix: -prod\npatches:\n  - path: replicas-patch.yaml\n";
    tree[`${broken}/replicas-patch.yaml`] =
      "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ingres\n  namespace: ingress\nspec:\n  replicas: 3\n";
    const result = await renderTree(tree);
    expect(result.findings).toEqual([
      expect.objectContaining({ severity: "error", check: "render/patch-target", environment: "prod", layer: "controllers" }),
    ]);
    expect(result.findings[0]!.file).toMatch(new RegExp(`^${broken}/`));
    otherOverlaysStillRender(result, broken);
  });

  it("reports any other kustomize error with kustomize's words and repository-relative paths", async () => {
    const tree = smallFleet();
    const broken = overlayPath("apps", "staging");
    tree[`${broken}/kustomization.yaml`] =
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\nreplicas:\n  - count: two\n";
    const result = await renderTree(tree);
    expect(result.findings).toHaveLength(1);
    expect(result.findings[0]).toMatchObject({ severity: "error", environment: "staging", layer: "apps" });
    expect(result.findings[0]!.message).toMatch(/^kustomize build failed: /);
    expect(result.findings[0]!.message).not.toContain("/tmp/");
    otherOverlaysStillRender(result, broken);
  });

  it("renders a path without kustomization.yaml as Flux does, from every manifest in it", async () => {
    const tree = smallFleet(["prod"]);
    const overlay = overlayPath("apps", "prod");
    delete tree[`${overlay}/kustomization.yaml`];
    tree[`${overlay}/extra/config.yaml`] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: ingress\n";
    const result = await renderTree(tree);
    const apps = result.rendered.find((r) => r.overlay.path === overlay)!;
    expect(apps.ok).toBe(true);
    expect(apps.manifests.map((m) => m.ref.name)).toEqual(["extra"]);
  });
});
