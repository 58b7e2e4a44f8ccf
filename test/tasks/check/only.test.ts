import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { check } from "../../../tasks/check/index.ts";
import { captureContext } from "../../helpers/context.ts";
import { overlayPath, smallFleet } from "../../helpers/small-fleet.ts";
import { makeGitRepo, makeRepo, makeTempDir } from "../../helpers/temp-repo.ts";
import { git } from "../../helpers/git.ts";

const checkedRows = (summary: { layer: string; environment: string; checked: boolean }[]) =>
  summary.filter((row) => row.checked).map((row) => `${row.environment}/${row.layer}`);

describe("gitops-ci check --only ENV/LAYER", () => {
  it("checks only the named overlay and reports only its findings, while rendering the layers before it", async () => {
    const tree = smallFleet();
    // A finding in another environment must not reach this overlay's report.
    tree[`${overlayPath("apps", "prod")}/kustomization.yaml`] =
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - missing.yaml\n";
    const root = await makeRepo(tree);
    const out = await makeTempDir();
    const { context } = captureContext(root);

    const { report, exitCode } = await check(context, { dir: root, json: false, only: ["staging/configs"], outDir: out });

    expect(exitCode).toBe(0);
    expect(checkedRows(report.summary)).toEqual(["staging/configs"]);
    expect(report.findings.filter((f) => f.severity === "error")).toEqual([]);
    // The ConfigMap lives in the namespace the controllers layer creates: no contracts/namespace-order finding
    // means the controllers overlay was rendered for the contract check.
    expect(report.findings.map((f) => f.check)).not.toContain("contracts/namespace-order");
    const written = JSON.parse(await readFile(path.join(out, "report.json"), "utf8")) as { summary: unknown[] };
    expect(written.summary).toHaveLength(1);
  });

  it("fails the job of a broken overlay with its findings", async () => {
    const tree = smallFleet();
    tree[`${overlayPath("controllers", "prod")}/kustomization.yaml`] =
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - missing.yaml\n";
    const root = await makeRepo(tree);
    const { context } = captureContext(root);

    const broken = await check(context, { dir: root, json: false, only: ["prod/controllers"] });
    expect(broken.exitCode).toBe(1);
    expect(broken.report.findings.some((f) => f.severity === "error" && f.environment === "prod" && f.layer === "controllers")).toBe(true);

    const other = await check(captureContext(root).context, { dir: root, json: false, only: ["staging/controllers"] });
    expect(other.exitCode).toBe(0);
  });

  it("leaves no finding between the jobs: a layer's base goes to that layer's jobs, a finding no overlay owns to every job", async () => {
    const tree = smallFleet();
    // A file of the apps layer's base that no kustomization lists: no environment, no layer.
    tree["gitops/flux/apps/base/stray.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: stray\n";
    // An environment with a configs overlay only: its controllers and apps overlays are missing.
    tree[`${overlayPath("configs", "qa")}/kustomization.yaml`] =
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\nnameSuffix: -qa\n";
    const root = await makeRepo(tree);
    const checksOf = async (only: string[]) =>
      (await check(captureContext(root).context, { dir: root, json: false, only })).report.findings.map(
        (f) => `${f.check} ${f.environment ?? "-"}/${f.layer ?? "-"}`,
      );

    const everything = (await check(captureContext(root).context, { dir: root, json: false })).report.findings.map(
      (f) => `${f.check} ${f.environment ?? "-"}/${f.layer ?? "-"}`,
    );
    expect(everything).toEqual(expect.arrayContaining(["standards/unlisted-file -/-", "fleet/missing-overlay qa/controllers"]));

    const prodApps = await checksOf(["prod/apps"]);
    expect(prodApps).toContain("standards/unlisted-file -/-");
    expect(prodApps).toContain("fleet/missing-overlay qa/controllers");
    const prodControllers = await checksOf(["prod/controllers"]);
    expect(prodControllers).not.toContain("standards/unlisted-file -/-");
    expect(prodControllers).toContain("fleet/missing-overlay qa/controllers");
    // Together the jobs report everything a full run does.
    const all = new Set<string>();
    for (const overlay of ["prod", "staging"]
      .flatMap((env) => ["controllers", "configs", "apps"].map((layer) => `${env}/${layer}`))
      .concat("qa/configs")) {
      for (const finding of await checksOf([overlay])) all.add(finding);
    }
    expect([...all].sort()).toEqual([...new Set(everything)].sort());
  });

  it("accepts several overlays and intersects with --changed-since", async () => {
    const root = await makeGitRepo(smallFleet());
    git(root, "checkout", "-q", "-b", "feature");
    const file = path.join(root, overlayPath("configs", "staging"), "kustomization.yaml");
    await writeFile(file, (await readFile(file, "utf8")) + "commonLabels:\n  tier: config\n");

    const { context } = captureContext(root);
    const { report } = await check(context, {
      dir: root,
      json: false,
      changedSince: "main",
      only: ["staging/apps", "prod/apps", "staging/controllers"],
    });
    // staging/apps depends on the changed configs overlay; prod/apps and staging/controllers did not change.
    expect(checkedRows(report.summary)).toEqual(["staging/apps"]);
  });

  it("rejects a name that is not an overlay of the plan, listing the ones that are", async () => {
    const root = await makeRepo(smallFleet(["prod"]));
    const { context } = captureContext(root);
    await expect(check(context, { dir: root, json: false, only: ["qa/apps"] })).rejects.toThrow(/--only "qa\/apps" is not an overlay/);
    await expect(check(context, { dir: root, json: false, only: ["prod"] })).rejects.toMatchObject({
      hint: expect.stringContaining("prod/controllers"),
    });
  });
});
