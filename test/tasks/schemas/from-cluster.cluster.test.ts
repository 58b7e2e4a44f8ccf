import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { schemas } from "../../../tasks/schemas/index.ts";
import { clusterEnv } from "../../cluster/local.ts";
import { captureContext } from "../../helpers/context.ts";
import { makeTempDir } from "../../helpers/temp-repo.ts";

describe("gitops-ci schemas --from-cluster", () => {
  it("writes a schema for every CRD the cluster serves, e.g. Flux's HelmRelease", async () => {
    const out = await makeTempDir();
    const { context } = captureContext(out, clusterEnv());
    const result = await schemas(context, { outDir: out, fromCluster: {} });
    expect(result.exitCode).toBe(0);
    const helm = await readdir(path.join(out, "crds", "helm.toolkit.fluxcd.io"));
    expect(helm).toContain("helmrelease_v2.json");
    const schema = JSON.parse(await readFile(path.join(out, "crds", "helm.toolkit.fluxcd.io", "helmrelease_v2.json"), "utf8")) as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(["spec", "status"]));
  });

  it("fails with exit 2 semantics (a UserError) when no kubeconfig exists", async () => {
    const out = await makeTempDir();
    const { context } = captureContext(out, { KUBECONFIG: path.join(out, "missing") });
    await expect(schemas(context, { outDir: out, fromCluster: {} })).rejects.toThrow(/kubeconfig/);
  });
});
