import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import type { Finding } from "../../../core/model/findings.ts";
import { formatCodeQuality, toCodeQualityIssues } from "../../../core/report/code-quality.ts";
import { findings, summary } from "./sample-report.ts";

// What GitLab documents for a custom Code Quality tool (docs.gitlab.com/ci/testing/code_quality,
// "Implement a custom tool"): description, check_name, fingerprint, severity (info, minor, major,
// critical, blocker), location.path and location.lines.begin. Stricter than GitLab's own parser
// schema (app/validators/json_schemas/codeclimate.json), which only requires description,
// fingerprint, severity and location, so passing this passes that.
const reportSchema = {
  type: "array",
  items: {
    type: "object",
    required: ["description", "check_name", "fingerprint", "severity", "location"],
    properties: {
      description: { type: "string", minLength: 1 },
      check_name: { type: "string", minLength: 1 },
      fingerprint: { type: "string", pattern: "^[0-9a-f]{64}$" },
      severity: { enum: ["info", "minor", "major", "critical", "blocker"] },
      location: {
        type: "object",
        required: ["path", "lines"],
        properties: {
          path: { type: "string", minLength: 1, not: { pattern: "^(/|\\./)" } },
          lines: { type: "object", required: ["begin"], properties: { begin: { type: "integer", minimum: 1 } } },
        },
      },
    },
  },
} as const;

const validate = new Ajv({ allErrors: true, strict: true, strictRequired: false }).compile(reportSchema);

const parse = (json: string): unknown => JSON.parse(json);

describe("formatCodeQuality", () => {
  const report = parse(formatCodeQuality(findings, { summary }));

  it("matches GitLab's documented Code Quality format", () => {
    expect(validate(report), JSON.stringify(validate.errors, null, 2)).toBe(true);
  });

  it("has a schema that rejects what GitLab would drop", () => {
    const [issue] = toCodeQualityIssues([findings[0]!]);
    expect(validate([{ ...issue, severity: "error" }])).toBe(false);
    expect(validate([{ ...issue, location: { path: "a.yaml" } }])).toBe(false);
    expect(validate([{ ...issue, location: { path: "a.yaml", lines: { begin: 0 } } }])).toBe(false);
    expect(validate([{ ...issue, fingerprint: undefined }])).toBe(false);
  });

  it("starts with `[` and no byte order mark, which GitLab's parser rejects", () => {
    expect(formatCodeQuality(findings).charCodeAt(0)).toBe("[".charCodeAt(0));
  });

  it("gives every finding its own fingerprint, so GitLab (which keys issues by fingerprint) keeps them all", () => {
    const issues = toCodeQualityIssues([...findings, findings[0]!, findings[0]!]);
    expect(new Set(issues.map((issue) => issue.fingerprint)).size).toBe(findings.length + 2);
  });

  it("keeps a fingerprint when the finding only moves to another line", () => {
    const [before] = toCodeQualityIssues([findings[0]!]);
    const [after] = toCodeQualityIssues([{ ...findings[0]!, line: 99 }]);
    expect(after!.fingerprint).toBe(before!.fingerprint);
    expect(after!.location.lines.begin).toBe(99);
  });

  it("changes the fingerprint when the check, file, resource, message or environment changes", () => {
    const [base] = toCodeQualityIssues([findings[0]!]);
    const variants: Finding[] = [
      { ...findings[0]!, check: "validate/other" },
      { ...findings[0]!, file: "gitops/flux/apps/base/other.yaml" },
      { ...findings[0]!, resource: { kind: "Deployment", namespace: "shop", name: "api" } },
      { ...findings[0]!, message: "another problem" },
      { ...findings[0]!, environment: "staging" },
    ];
    for (const variant of variants) expect(toCodeQualityIssues([variant])[0]!.fingerprint).not.toBe(base!.fingerprint);
  });

  it("keeps the first of identical findings' fingerprint when a duplicate appears", () => {
    const [alone] = toCodeQualityIssues([findings[0]!]);
    const [first] = toCodeQualityIssues([findings[0]!, findings[0]!]);
    expect(first!.fingerprint).toBe(alone!.fingerprint);
  });

  it("maps error, warning and info to major, minor and info", () => {
    const severities = toCodeQualityIssues(findings).map((issue) => [issue.check_name, issue.severity]);
    expect(severities).toContainEqual(["validate/schema", "major"]);
    expect(severities).toContainEqual(["render/empty-overlay", "minor"]);
    expect(severities).toContainEqual(["validate/skipped-crd", "info"]);
  });

  it("says which overlay and resource in a one-line description", () => {
    const [issue] = toCodeQualityIssues([findings[1]!]);
    expect(issue!.description).toBe(
      "[apps/prod] Deployment shop/web: a | pipe, <script>alert(1)</script>, `ticks`, @group and #12 & ~label second line # not a heading",
    );
  });

  it("points findings without a file at their overlay, then at the repository root", () => {
    const noFile: Finding = { severity: "info", check: "validate/skipped-crd", layer: "controllers", environment: "staging", message: "m" };
    const fleetWide: Finding = { severity: "error", check: "fleet/unknown-layer-order", message: "m" };
    const issues = toCodeQualityIssues([noFile, fleetWide], { summary });
    const overlay = issues.find((issue) => issue.check_name === "validate/skipped-crd");
    const root = issues.find((issue) => issue.check_name === "fleet/unknown-layer-order");
    expect(root!.location).toEqual({ path: ".", lines: { begin: 1 } });
    expect(overlay!.location).toEqual({ path: "gitops/flux/infrastructure/controllers/overlays/staging", lines: { begin: 1 } });
    expect(toCodeQualityIssues([fleetWide], { fallbackPath: "gitops-ci.yaml" })[0]!.location.path).toBe("gitops-ci.yaml");
  });

  it("writes repository-relative paths without a leading ./", () => {
    const [issue] = toCodeQualityIssues([{ ...findings[0]!, file: "./gitops/a.yaml" }]);
    expect(issue!.location.path).toBe("gitops/a.yaml");
  });

  it("is an empty array when there is nothing to report", () => {
    expect(parse(formatCodeQuality([]))).toEqual([]);
  });

  it("is byte-for-byte the same whatever order the findings arrive in", () => {
    expect(formatCodeQuality([...findings].reverse(), { summary })).toBe(formatCodeQuality(findings, { summary }));
  });
});
