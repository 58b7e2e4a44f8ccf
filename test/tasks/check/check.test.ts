import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Finding } from "../../../core/model/findings.ts";
import { countBySeverity } from "../../../core/model/findings.ts";
import { buildMergeRequestNote } from "../../../core/report/merge-request-note.ts";
import { check, reportInput } from "../../../tasks/check/index.ts";
import { captureContext } from "../../helpers/context.ts";
import { layerPath, overlayPath, smallFleet } from "../../helpers/small-fleet.ts";
import { copyCase, examplePath, makeGitRepo, makeRepo, makeTempDir } from "../../helpers/temp-repo.ts";
import { git } from "../../helpers/git.ts";

describe("gitops-ci check on the bundled examples", () => {
  for (const example of ["examples/layout-a", "examples/layout-b", "test/fixtures/fleets/flux-kustomizations"]) {
    it(`passes ${example} with no errors or warnings and writes every report`, async () => {
      const out = await makeTempDir();
      const { context, stdout } = captureContext(process.cwd());
      const { exitCode, report } = await check(context, { dir: examplePath(example), json: false, outDir: out });
      // The examples vendor their charts; the fixture's come from public repositories, not fetched in
      // tests: each is a warning, and so is a custom resource whose CRD only such a chart would install.
      const offline = (f: Finding) =>
        f.check === "helm/chart-not-cached" ||
        (f.check === "contracts/crd-order" && f.message.includes("not rendered, so what their charts install is unknown"));
      const uncached = report.findings.filter(offline);
      if (example.startsWith("examples/")) expect(uncached).toEqual([]);
      else expect(uncached.filter((f) => f.check === "helm/chart-not-cached")).not.toEqual([]);
      expect(report.findings.filter((f) => f.severity !== "info" && !offline(f))).toEqual([]);
      expect(exitCode).toBe(0);
      expect(stdout()).toMatch(new RegExp(`\\d+ overlays, 0 errors, ${uncached.length} warnings`));
      const junit = await readFile(path.join(out, "junit.xml"), "utf8");
      expect(junit).toMatch(/failures="0"/);
      const issues = JSON.parse(await readFile(path.join(out, "gl-code-quality-report.json"), "utf8")) as { severity: string }[];
      expect(issues.filter((issue) => issue.severity !== "info")).toHaveLength(uncached.length);
      expect(JSON.parse(await readFile(path.join(out, "report.json"), "utf8"))).toMatchObject({ schemaVersion: 1 });
      expect(await readFile(path.join(out, "report.md"), "utf8")).toContain("| Layer | Environment |");
    });
  }
});

describe("gitops-ci check on a broken fleet", () => {
  it("reports a Flux Kustomization whose path does not exist, and checks the other overlays", async () => {
    const root = await copyCase("test/fixtures/fleets/flux-kustomizations", "missing-kustomization-path");
    const { context } = captureContext(root);
    const { exitCode, report } = await check(context, { dir: root, json: false });
    expect(exitCode).toBe(1);
    expect(report.findings.filter((f) => f.severity === "error")).toEqual([
      expect.objectContaining({
        check: "fleet/missing-path",
        environment: "staging",
        layer: "apps",
        file: "clusters/staging/apps.yaml",
        message: expect.stringMatching(/apps\/stagign .*does not exist/),
      }),
    ]);
    const rows = report.summary.map((row) => `${row.environment}/${row.layer}: ${row.rendered ? "rendered" : "not rendered"}`);
    expect(rows.filter((row) => row.endsWith("not rendered"))).toEqual(["staging/apps: not rendered"]);
    expect(rows.length).toBeGreaterThan(1);
  });
});

describe("gitops-ci check --changed-since", () => {
  it("checks only the changed overlay and the layers after it, in that environment", async () => {
    const root = await makeGitRepo(smallFleet());
    git(root, "checkout", "-q", "-b", "feature");
    const configs = overlayPath("configs", "staging");
    await writeFile(
      path.join(root, configs, "kustomization.yaml"),
      (await readFile(path.join(root, configs, "kustomization.yaml"), "utf8")) + "commonLabels:\n  tier: config\n",
    );
    git(root, "commit", "-qam", "label configs");

    const { context, stderr } = captureContext(root);
    const { report, exitCode } = await check(context, { dir: root, json: false, changedSince: "main" });
    expect(exitCode).toBe(0);
    expect(report.summary.filter((row) => row.checked).map((row) => `${row.layer}/${row.environment}`)).toEqual([
      "configs/staging",
      "apps/staging",
    ]);
    expect(stderr()).toContain(`staging/configs: changed: ${configs}/kustomization.yaml`);
    expect(stderr()).toContain("staging/apps: depends on configs");
  });

  it("fails with a usable message for a revision the clone does not have", async () => {
    const root = await makeGitRepo(smallFleet(["prod"]));
    const { context } = captureContext(root);
    await expect(check(context, { dir: root, json: false, changedSince: "origin/main" })).rejects.toThrow(/origin\/main/);
  });
});

describe("gitops-ci check: a YAML error counts in the rows of the overlays that read the file", () => {
  /** An indentation error in the apps layer's base, and another in a file no overlay reads. */
  async function brokenFleet(): Promise<string> {
    const tree = smallFleet();
    tree[`${layerPath("apps")}/base/service.yaml`] =
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n namespace: ingress\nspec:\n  ports:\n    - port: 80\n";
    tree[`${layerPath("apps")}/examples/sample.yaml`] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sample\n labels: {}\n";
    return makeRepo(tree);
  }
  /** A Markdown table row's cells, bold markers removed. */
  const numbers = (line: string) => line.split("|").map((cell) => cell.trim().replace(/^\*\*(.*)\*\*$/, "$1"));

  it("copies it to each overlay reading the base, keeps the unread file fleet-wide, and every table adds up", async () => {
    const root = await brokenFleet();
    const out = await makeTempDir();
    const { context, stdout } = captureContext(root);
    const { report } = await check(context, { dir: root, json: false, outDir: out });

    const syntax = report.findings.filter((finding) => finding.check === "yaml/syntax");
    expect(syntax.map((finding) => `${finding.file}:${finding.line} ${finding.environment ?? "-"}/${finding.layer ?? "-"}`).sort()).toEqual(
      [
        `${layerPath("apps")}/base/service.yaml:5 prod/apps`,
        `${layerPath("apps")}/base/service.yaml:5 staging/apps`,
        `${layerPath("apps")}/examples/sample.yaml:5 -/-`,
      ],
    );
    // yaml's own text (its wording is the library's), without its dangling "at line 5, column 1:".
    for (const finding of syntax)
      expect(finding).toMatchObject({ severity: "error", line: 5, message: expect.not.stringMatching(/line \d|column \d|:$/) });

    const rows = report.summary.filter((row) => row.checked);
    const apps = rows.filter((row) => row.layer === "apps");
    for (const row of apps)
      expect(row.errors).toBeGreaterThanOrEqual(
        1 +
          report.findings.filter(
            (f) => f.environment === row.environment && f.layer === "apps" && f.check !== "yaml/syntax" && f.severity === "error",
          ).length,
      );
    const fleetWide = countBySeverity(
      report.findings.filter((finding) => finding.environment === undefined && finding.layer === undefined),
    );
    expect(fleetWide.error).toBe(1);
    const totals = countBySeverity(report.findings);
    expect(rows.reduce((sum, row) => sum + row.errors, 0) + fleetWide.error).toBe(totals.error);
    expect(rows.reduce((sum, row) => sum + row.warnings, 0) + fleetWide.warning).toBe(totals.warning);

    // The terminal table: a fleet-wide row, and its ERRORS column adds up to the totals line.
    const table = stdout().split("\n");
    const totalsLine = table.find((line) => /^\d+ overlays, \d+ errors, \d+ warnings$/.test(line))!;
    expect(totalsLine).toBe(`6 overlays, ${totals.error} errors, ${totals.warning} warnings`);
    // Rows are indented under their environment's heading; the fleet-wide row comes first.
    const tableRows = table.slice(1, table.indexOf("")).filter((line) => line.startsWith("  "));
    expect(tableRows[0]).toMatch(/^\s+\(fleet-wide\)\s+-\s+1\s+0\s+FAIL$/);
    expect(tableRows.reduce((sum, line) => sum + Number(line.trim().split(/\s+/).at(-3)), 0)).toBe(totals.error);
    for (const env of ["prod", "staging"])
      expect(table).toContainEqual(expect.stringMatching(new RegExp(`^${env}  3 overlays, \\d+ objects, \\d+ errors?, \\d+ warnings?`)));

    // report.md: the rows add up to the heading's count.
    const markdown = await readFile(path.join(out, "report.md"), "utf8");
    const markdownRows = markdown
      .split("\n")
      .filter((line) => line.startsWith("| ") && !line.startsWith("| Layer") && !line.startsWith("| ---"));
    expect(markdownRows[0]).toBe("| _fleet-wide_ |  | ❌ failed | – | 1 | 0 |");
    expect(markdownRows.reduce((sum, line) => sum + Number(numbers(line)[5]), 0)).toBe(totals.error);
    expect(markdown.split("\n")[0]).toContain(`failed: ${totals.error} errors`);

    // The merge request note: the apps rows count the copies, and the Total row is the heading's count.
    const note = buildMergeRequestNote({ check: reportInput(report) });
    const noteRows = note.split("\n").filter((line) => line.startsWith("| ") && !line.startsWith("| Layer") && !line.startsWith("| ---"));
    const invalid = (label: string) => Number(numbers(noteRows.find((line) => line.startsWith(label))!)[4]);
    expect(invalid("| _fleet-wide_")).toBe(1);
    for (const env of ["prod", "staging"]) expect(invalid(`| apps | ${env}`)).toBe(apps.find((row) => row.environment === env)!.errors);
    expect(invalid("| **Total**")).toBe(
      noteRows.filter((line) => !line.startsWith("| **Total**")).reduce((sum, line) => sum + Number(numbers(line)[4]), 0),
    );
    expect(note.split("\n")[0]).toMatch(new RegExp(`: ${invalid("| **Total**")} errors, .* in 6 overlays$`));
  });

  it("under --only, each overlay's job reports its own copy", async () => {
    const root = await brokenFleet();
    const { report } = await check(captureContext(root).context, { dir: root, json: false, only: ["staging/apps"] });
    const base = report.findings.filter((finding) => finding.check === "yaml/syntax" && finding.file?.endsWith("base/service.yaml"));
    expect(base.map((finding) => `${finding.environment}/${finding.layer}`)).toEqual(["staging/apps"]);
    expect(report.summary.find((row) => row.environment === "staging" && row.layer === "apps")!.errors).toBeGreaterThanOrEqual(1);
  });

  it("reuses the overlay inputs --changed-since computed, and keeps a changed base file's error in the overlays it selected", async () => {
    const root = await makeGitRepo(smallFleet());
    git(root, "checkout", "-q", "-b", "feature");
    await writeFile(
      path.join(root, layerPath("apps"), "base/service.yaml"),
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n namespace: ingress\n",
    );
    git(root, "commit", "-qam", "break the service");

    const { report } = await check(captureContext(root).context, { dir: root, json: false, changedSince: "main" });
    expect(report.summary.filter((row) => row.checked).map((row) => `${row.layer}/${row.environment}`)).toEqual([
      "apps/prod",
      "apps/staging",
    ]);
    expect(
      report.findings
        .filter((finding) => finding.check === "yaml/syntax")
        .map((finding) => `${finding.environment}/${finding.layer}`)
        .sort(),
    ).toEqual(["prod/apps", "staging/apps"]);
  });
});
