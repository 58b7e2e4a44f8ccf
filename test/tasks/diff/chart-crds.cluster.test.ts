// A chart's CRDs in the live diff, under helm-controller's CRD policy: once the live HelmRelease
// has a release (status.history), spec.upgrade.crds decides (default Skip: never applied, so not
// compared); CreateReplace compares them. The local cluster serves Flux's own HelmRelease CRD.
import { cp, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { ObjectChange } from "../../../core/model/object-changes.ts";
import { diff } from "../../../tasks/diff/index.ts";
import { FIXTURE_CHARTS } from "../../charts/global-setup.ts";
import { applyFleet, clusterClient, clusterEnv, uniqueName } from "../../cluster/local.ts";
import { clusterFleet } from "../../cluster/fleet.ts";
import { captureContext } from "../../helpers/context.ts";
import { makeRepo } from "../../helpers/temp-repo.ts";

/** One entry of status.history, every field Flux's CRD requires. */
function snapshot(namespace: string): Record<string, unknown> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  return {
    name: "widgets",
    namespace,
    version: 1,
    status: "deployed",
    chartName: "widgets",
    chartVersion: "0.3.0",
    configDigest: `sha256:${"0".repeat(64)}`,
    digest: `sha256:${"1".repeat(64)}`,
    firstDeployed: now,
    lastDeployed: now,
  };
}

async function chartCrdChange(root: string, crdName: string): Promise<ObjectChange | undefined> {
  const captured = captureContext(root, clusterEnv());
  const result = await diff(captured.context, { dir: ".", json: false });
  return result.report.environments
    .flatMap((env) => env.changes)
    .find((change) => change.ref.kind === "CustomResourceDefinition" && change.ref.name === crdName);
}

describe("a chart's CRDs in the live diff", () => {
  it("are not compared on upgrade under spec.upgrade.crds Skip (its default), and are under CreateReplace", async () => {
    const id = uniqueName("crds");
    const group = `${id}.example.com`;
    const release = (upgrade: string) =>
      `apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: widgets\n  namespace: ${id}\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: ./charts/widgets\n      sourceRef:\n        kind: GitRepository\n        name: flux-system\n        namespace: flux-system\n${upgrade}`;
    const tree = clusterFleet({ id });
    const root = await makeRepo({
      ...tree,
      "gitops/controllers/base/kustomization.yaml":
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - namespace.yaml\n  - deployment.yaml\n  - widgets.yaml\n",
      "gitops/controllers/base/widgets.yaml": release(""),
    });
    await cp(path.join(FIXTURE_CHARTS, "widgets"), path.join(root, "charts/widgets"), { recursive: true });
    const crdFile = path.join(root, "charts/widgets/crds/widgets.yaml");
    await writeFile(crdFile, (await readFile(crdFile, "utf8")).replaceAll("example.com", group));

    // The fleet as Flux and helm-controller left it: the chart's CRD installed, the release recorded.
    await applyFleet(root, "test");
    const client = await clusterClient("admin");
    try {
      const helmReleases = (await client.resourceFor("helm.toolkit.fluxcd.io/v2", "HelmRelease"))!;
      await client.apply(
        helmReleases,
        {
          apiVersion: "helm.toolkit.fluxcd.io/v2",
          kind: "HelmRelease",
          metadata: { name: "widgets", namespace: id },
          status: { history: [snapshot(id)] },
        },
        { fieldManager: "helm-controller", dryRun: false, force: true, subresource: "status" },
      );
    } finally {
      client.close();
    }

    // The chart's next version changes its CRD.
    await writeFile(
      crdFile,
      (await readFile(crdFile, "utf8")).replace(
        "                  minimum: 1\n",
        "                  minimum: 1\n                color:\n                  type: string\n",
      ),
    );
    const skipped = await chartCrdChange(root, `widgets.${group}`);
    expect(skipped).toMatchObject({ action: "skip", reason: expect.stringContaining("spec.upgrade.crds: Skip, the upgrade default") });

    await writeFile(path.join(root, "gitops/controllers/base/widgets.yaml"), release("  upgrade:\n    crds: CreateReplace\n"));
    const compared = await chartCrdChange(root, `widgets.${group}`);
    expect(compared).toMatchObject({ action: "update" });
    expect(compared?.action === "update" ? compared.diff : "").toContain("color");
  });
});
