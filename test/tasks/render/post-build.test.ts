import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { render } from "../../../tasks/render/index.ts";
import { captureContext } from "../../helpers/context.ts";
import { examplePath, makeRepo } from "../../helpers/temp-repo.ts";

describe("render with Flux postBuild", () => {
  it("substitutes postBuild.substitute, and substituteFrom from a ConfigMap the cluster renders", async () => {
    const { context } = captureContext(process.cwd());
    const result = await render(context, { dir: examplePath("test/fixtures/fleets/flux-kustomizations") });
    expect(result.findings.filter((f) => f.severity === "error")).toEqual([]);
    for (const env of ["staging", "production"]) {
      const apps = result.rendered.find((r) => r.overlay.environment === env && r.overlay.layer === "apps")!;
      const text = JSON.stringify(apps.manifests.map((m) => m.object));
      expect(text).toContain(`podinfo on ${env}`);
      expect(text).not.toContain("${cluster_env}");
    }
  });

  it("keeps values of plaintext Secret sources out of every output", async () => {
    const canary = "canary-7f3a9e-postbuild-secret";
    const root = await makeRepo({
      "apps/kustomization.yaml": "resources: [cm.yaml]\n",
      "apps/cm.yaml":
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: default\ndata:\n  token: ${token}\n  missing: ${nothing}\n",
      "clusters/prod/apps.yaml":
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  path: ./apps\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  postBuild:\n    substituteFrom:\n      - kind: Secret\n        name: vars\n",
      "clusters/prod/vars.yaml": `apiVersion: v1\nkind: Secret\nmetadata:\n  name: vars\n  namespace: flux-system\nstringData:\n  token: ${canary}\n`,
    });
    const { context, stdout, stderr } = captureContext(root);
    const result = await render(context, { dir: root, outDir: `${root}/out` });
    expect(result.exitCode).toBe(0);
    const cm = result.rendered.find((r) => r.overlay.layer === "apps")!.manifests[0]!;
    expect((cm.object["data"] as Record<string, string>)["token"]).toBe(canary);
    expect(result.findings).toEqual([
      expect.objectContaining({ check: "flux/unset-variable", message: expect.stringContaining("nothing") }),
    ]);
    context.output.out(JSON.stringify(cm.object));
    expect(stdout() + stderr()).not.toContain(canary);
    expect(await readFile(`${root}/out/rendered/prod/02-apps.yaml`, "utf8")).not.toContain(canary);
  });
});
