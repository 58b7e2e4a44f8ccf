import { cp, readFile, writeFile } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { check } from "../../../tasks/check/index.ts";
import { captureContext } from "../../helpers/context.ts";
import { overlayPath, smallFleet } from "../../helpers/small-fleet.ts";
import { examplePath, makeGitRepo, makeTempDir } from "../../helpers/temp-repo.ts";

describe("gitops-ci check on the bundled examples", () => {
  for (const example of ["examples/layout-a", "examples/layout-b", "test/fixtures/fleets/flux-kustomizations"]) {
    it(`passes ${example} with no errors or warnings and writes every report`, async () => {
      const out = await makeTempDir();
      const { context, stdout } = captureContext(process.cwd());
      const { exitCode, report } = await check(context, { dir: examplePath(example), json: false, outDir: out });
      expect(report.findings.filter((f) => f.severity !== "info")).toEqual([]);
      expect(exitCode).toBe(0);
      expect(stdout()).toMatch(/\d+ overlays, 0 errors, 0 warnings/);
      const junit = await readFile(path.join(out, "junit.xml"), "utf8");
      expect(junit).toMatch(/failures="0"/);
      const issues = JSON.parse(await readFile(path.join(out, "gl-code-quality-report.json"), "utf8")) as { severity: string }[];
      expect(issues.filter((issue) => issue.severity !== "info")).toEqual([]);
      expect(JSON.parse(await readFile(path.join(out, "report.json"), "utf8"))).toMatchObject({ schemaVersion: 1 });
      expect(await readFile(path.join(out, "report.md"), "utf8")).toContain("| Layer | Environment |");
    });
  }
});

describe("gitops-ci check on a broken fleet", () => {
  it("reports a Flux Kustomization whose path does not exist, and checks the other overlays", async () => {
    const root = await makeTempDir();
    await cp(examplePath("test/fixtures/fleets/flux-kustomizations"), root, { recursive: true });
    const kustomization = path.join(root, "clusters/staging/apps.yaml");
    await writeFile(kustomization, (await readFile(kustomization, "utf8")).replace("path: ./apps/staging", "path: ./apps/stagign"));
    const { context } = captureContext(root);
    const { exitCode, report } = await check(context, { dir: root, json: false });
    expect(exitCode).toBe(1);
    expect(report.findings.filter((f) => f.severity === "error")).toEqual([
      expect.objectContaining({ check: "fleet/missing-path", environment: "staging", layer: "apps", file: "clusters/staging/apps.yaml", message: "overlay path apps/stagign does not exist" }),
    ]);
    const rows = report.summary.map((row) => `${row.environment}/${row.layer}: ${row.rendered ? "rendered" : "not rendered"}`);
    expect(rows.filter((row) => row.endsWith("not rendered"))).toEqual(["staging/apps: not rendered"]);
    expect(rows.length).toBeGreaterThan(1);
  });
});

describe("gitops-ci check --changed-since", () => {
  it("checks only the changed overlay and the layers after it, in that environment", async () => {
    const root = await makeGitRepo(smallFleet());
    const git = (...args: string[]) => execFileSync("git", args, { cwd: root, stdio: "pipe" });
    git("checkout", "-q", "-b", "feature");
    const configs = overlayPath("configs", "staging");
    await writeFile(path.join(root, configs, "kustomization.yaml"), (await readFile(path.join(root, configs, "kustomization.yaml"), "utf8")) + "commonLabels:\n  tier: config\n");
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "label configs");

    const { context, stderr } = captureContext(root);
    const { report, exitCode } = await check(context, { dir: root, json: false, changedSince: "main" });
    expect(exitCode).toBe(0);
    expect(report.summary.filter((row) => row.checked).map((row) => `${row.layer}/${row.environment}`)).toEqual(["configs/staging", "apps/staging"]);
    expect(stderr()).toContain(`staging/configs: changed: ${configs}/kustomization.yaml`);
    expect(stderr()).toContain("staging/apps: depends on configs");
  });

  it("fails with a usable message for a revision the clone does not have", async () => {
    const root = await makeGitRepo(smallFleet(["prod"]));
    const { context } = captureContext(root);
    await expect(check(context, { dir: root, json: false, changedSince: "origin/main" })).rejects.toThrow(/origin\/main/);
  });
});
