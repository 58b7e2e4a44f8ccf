import { describe, expect, it } from "vitest";
import { mergeReportSources, parseChanges, parseCheckReport } from "../../../tasks/report/inputs.ts";
import { formatJson } from "../../../core/report/json.ts";
import { findings, summary } from "../../core/report/sample-report.ts";

describe("parseChanges", () => {
  it("reads diff.json as `gitops-ci diff --out` writes it, the diff's problems as findings", () => {
    const text = JSON.stringify({
      tool: "gitops-ci",
      command: "diff",
      root: "/repo",
      environments: [
        {
          environment: "prod",
          layers: ["apps"],
          changes: [
            {
              environment: "prod",
              layer: "apps",
              ref: { apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "a" },
              action: "update",
              diff: "-a\n+b\n",
              file: "apps/a.yaml",
            },
          ],
          problems: [{ environment: "prod", layer: "apps", message: "the cluster refused the dry run", hint: "check the kubeconfig" }],
        },
      ],
    });
    expect(parseChanges(text, "diff.json")).toEqual({
      changes: [
        {
          environment: "prod",
          layer: "apps",
          ref: { apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "a" },
          action: "update",
          diff: "-a\n+b\n",
          file: "apps/a.yaml",
        },
      ],
      problems: [
        {
          severity: "error",
          check: "diff/incomplete",
          environment: "prod",
          layer: "apps",
          message: "the cluster refused the dry run",
          hint: "check the kubeconfig",
        },
      ],
    });
  });

  it("reads the diff's problems as the findings diff writes (check, resource, file and line kept); older files without severity as diff/incomplete", () => {
    const problem = {
      severity: "error",
      check: "diff/dry-run",
      environment: "prod",
      layer: "apps",
      resource: { apiVersion: "apps/v1", kind: "Deployment", namespace: "web", name: "api" },
      file: "apps/api.yaml",
      line: 4,
      message: "denied",
    };
    const text = JSON.stringify({ environments: [{ environment: "prod", layers: ["apps"], changes: [], problems: [problem] }] });
    expect(parseChanges(text, "diff.json").problems).toEqual([problem]);
  });

  it("names the file and the entry that is wrong", () => {
    expect(() => parseChanges("{", "out/diff.json")).toThrow(/^out\/diff\.json is not valid JSON/);
    expect(() =>
      parseChanges('{"changes":[{"layer":"apps","environment":"prod","ref":{"kind":"X","name":"y"},"action":"explode"}]}', "diff.json"),
    ).toThrow('diff.json: changes[0] has an unknown action "explode"');
  });
});

describe("parseCheckReport", () => {
  it("reads what writeReports wrote, and refuses a newer schema", () => {
    const input = { summary, findings, layerOrder: ["controllers", "apps"], checks: ["render", "validate"], source: "config" };
    expect(parseCheckReport(formatJson(input), "report.json")).toMatchObject({
      summary,
      layerOrder: ["controllers", "apps"],
      checks: ["render", "validate"],
      source: "config",
    });
    expect(() => parseCheckReport('{"tool":"gitops-ci","schemaVersion":99,"summary":[],"findings":[]}', "r.json")).toThrow(
      "r.json has schemaVersion 99, newer than this gitops-ci reads (1)",
    );
    expect(() => parseCheckReport('{"tool":"other"}', "r.json")).toThrow('r.json is not a gitops-ci report.json (no "tool": "gitops-ci")');
  });
});

describe("mergeReportSources", () => {
  it("keeps each overlay and each finding once, in layer order, across jobs", () => {
    const prod = { summary: summary.filter((row) => row.environment === "prod"), findings, layerOrder: ["controllers", "apps"] };
    const all = { summary, findings, layerOrder: ["controllers", "configs", "apps"] };
    const merged = mergeReportSources([
      { dir: "a", check: prod },
      { dir: "b", check: all },
    ]);
    expect(merged.check.summary.map((row) => `${row.layer}/${row.environment}`)).toEqual([
      "controllers/prod",
      "controllers/staging",
      "apps/prod",
      "apps/staging",
    ]);
    expect(merged.check.findings).toHaveLength(findings.length);
    expect(merged.check.layerOrder).toEqual(["controllers", "configs", "apps"]);
    expect(merged.changes).toBeUndefined();
  });
});
