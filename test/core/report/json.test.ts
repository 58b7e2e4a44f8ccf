import { describe, expect, it } from "vitest";
import { formatJson, REPORT_SCHEMA_VERSION } from "../../../core/report/json.ts";
import { findings, sampleReport, summary } from "./sample-report.ts";

describe("formatJson", () => {
  const text = formatJson(sampleReport());
  const report = JSON.parse(text) as Record<string, unknown>;

  it("leads with a schema version and the tool", () => {
    expect(Object.keys(report).slice(0, 2)).toEqual(["schemaVersion", "tool"]);
    expect(report["schemaVersion"]).toBe(REPORT_SCHEMA_VERSION);
    expect(report["tool"]).toBe("gitops-ci");
  });

  it("carries totals, the summary and every finding", () => {
    expect(report["totals"]).toEqual({ overlays: 4, errors: 5, warnings: 1, info: 1 });
    expect(report["summary"]).toEqual(summary);
    expect(report["findings"]).toHaveLength(findings.length);
    expect(report["layerOrder"]).toEqual(["controllers", "configs", "apps"]);
    expect(report["source"]).toBe("config");
  });

  it("is pretty-printed, ends with a newline, and is byte-for-byte stable whatever order findings arrive in", () => {
    expect(text).toMatch(/^\{\n {2}"schemaVersion": 1,\n/);
    expect(text.endsWith("}\n")).toBe(true);
    const shuffled = { ...sampleReport(), findings: [...findings].reverse() };
    expect(formatJson(shuffled)).toBe(text);
  });

  it("writes findings' fields in one order and nothing the Finding shape does not have", () => {
    const messy = { ...findings[0]!, extra: "not ours", resource: { name: "web", kind: "Deployment", stray: 1 } };
    const [finding] = (JSON.parse(formatJson({ summary: [], findings: [messy] })) as { findings: Record<string, unknown>[] }).findings;
    expect(Object.keys(finding!)).toEqual(["severity", "check", "message", "layer", "environment", "resource", "file", "line", "hint"]);
    expect(finding!["resource"]).toEqual({ kind: "Deployment", name: "web" });
  });

  it("lists errors first, then by file and line", () => {
    const severities = (report["findings"] as { severity: string }[]).map((finding) => finding.severity);
    expect(severities).toEqual(["error", "error", "error", "error", "error", "warning", "info"]);
  });
});
