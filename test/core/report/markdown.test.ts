import { describe, expect, it } from "vitest";
import type { Finding, Severity } from "../../../core/model/findings.ts";
import type { CheckSummaryRow } from "../../../core/report/summary.ts";
import { GITLAB_NOTE_LIMIT } from "../../../core/gitlab/note-splitting.ts";
import { formatMarkdown } from "../../../core/report/markdown.ts";
import { codeSpan, escapeMarkdown } from "../../../core/report/markdown-text.ts";
import { findings, sampleReport, summary } from "./sample-report.ts";

const findingLines = (note: string) => note.split("\n").filter((line) => /^- (❌|⚠️|ℹ️) \*\*/.test(line));
/** Table cell separators: pipes not escaped with a backslash. */
const cellBorders = (line: string) => line.match(/(?<!\\)\|/g)?.length ?? 0;

function many(count: number, severity: Severity, environment = "prod"): Finding[] {
  return Array.from({ length: count }, (_, index) => ({
    severity,
    check: "validate/schema",
    layer: "apps",
    environment,
    file: `gitops/apps/base/f${index}.yaml`,
    line: index + 1,
    message: `${severity} number ${index}: ${"x".repeat(80)}`,
  }));
}

describe("formatMarkdown", () => {
  const note = formatMarkdown(sampleReport());

  it("opens with a heading that gives the outcome and the totals", () => {
    expect(note.split("\n")[0]).toBe("### ❌ gitops-ci check failed: 5 errors, 1 warning, 1 not rendered in 4 overlays");
    expect(formatMarkdown({ summary: [summary[0]!], findings: [] }).split("\n")[0]).toBe(
      "### ✅ gitops-ci check passed: 1 overlay, nothing to report",
    );
  });

  it("tabulates every layer × environment with status, objects, errors and warnings", () => {
    const table = note.split("\n").filter((line) => line.startsWith("|"));
    expect(table).toEqual([
      "| Layer | Environment | Status | Objects | Errors | Warnings |",
      "| --- | --- | --- | ---: | ---: | ---: |",
      // The fleet's finding has a row too, so the rows add up to the heading's 5 errors and 1 warning.
      "| _fleet-wide_ |  | ❌ failed | – | 1 | 0 |",
      "| controllers | prod | ✅ passed | 14 | 0 | 0 |",
      "| controllers | staging | ⚠️ warnings | 14 | 0 | 1 |",
      "| apps | prod | ❌ failed | 9 | 3 | 0 |",
      "| apps | staging | ❌ not rendered | – | 1 | 0 |",
    ]);
  });

  it("keeps table rows intact when names hold pipes or markup", () => {
    const odd: CheckSummaryRow = { ...summary[0]!, layer: "a|b", environment: "<i>x</i>" };
    const row = formatMarkdown({ summary: [odd], findings: [] })
      .split("\n")
      .find((line) => line.startsWith("| a"))!;
    expect(cellBorders(row)).toBe(7);
    expect(row).toContain("a\\|b");
    expect(row).not.toContain("<i>");
  });

  it("gives each scope with findings a collapsible section, open when it has errors", () => {
    const summaries = note.split("\n").filter((line) => line.startsWith("<summary>"));
    expect(summaries).toEqual([
      "<summary>❌ <b>fleet</b> · 1 error</summary>",
      "<summary>⚠️ <b>controllers/staging</b> · 1 warning, 1 note · <code>gitops/flux/infrastructure/controllers/overlays/staging</code></summary>",
      "<summary>❌ <b>apps/prod</b> · 3 errors · <code>gitops/flux/apps/overlays/prod</code></summary>",
      "<summary>❌ <b>apps/staging</b> · 1 error · <code>gitops/flux/apps/overlays/staging</code></summary>",
    ]);
    expect(note.match(/<details open>/g)).toHaveLength(3);
    expect(note.match(/<details>/g)).toHaveLength(1);
    expect(note.match(/<\/details>/g)).toHaveLength(4);
  });

  it("lists each finding with location, severity, check, message and hint", () => {
    expect(note).toContain(
      "- ❌ **error** `gitops/flux/apps/base/web.yaml:12` `validate/schema` — Deployment shop/web: spec.replicas: Invalid type. Expected: integer, given: string\n  - 💡 Quote-free numbers: \\`replicas: 3\\`",
    );
    expect(findingLines(note)).toHaveLength(findings.length);
  });

  it("escapes messages so they cannot break the list, inject HTML, or mention and link", () => {
    const line = findingLines(note).find((candidate) => candidate.includes("pipe"))!;
    expect(line).toContain("a \\| pipe");
    expect(line).toContain("\\<script\\>alert(1)\\</script\\>");
    expect(line).toContain("\\`ticks\\`");
    expect(line).toContain("\\@group and \\#12 \\& \\~label");
    // Line breaks stay inside the list item, and a "# …" line cannot become a heading.
    expect(line).toContain("\\~label<br>second line<br>\\# not a heading");
    expect(note).not.toMatch(/<script>/);
    expect(note).not.toMatch(/(?<!\\)@group/);
  });

  it("shows control characters and drops colour codes", () => {
    const line = findingLines(note).find((candidate) => candidate.includes("Widget"))!;
    expect(line).toContain("Widget red and a bell \\\\u0007 and NUL \\\\u0000");
    expect(line).not.toContain("\u001b");
  });

  it("fences code spans past any backticks inside them", () => {
    expect(codeSpan("plain.yaml")).toBe("`plain.yaml`");
    expect(codeSpan("we`ird.yaml")).toBe("``we`ird.yaml``");
    expect(codeSpan("`x``")).toBe("``` `x`` ```");
    expect(escapeMarkdown("*a* _b_ [c](d) ![e]")).toBe("\\*a\\* \\_b\\_ \\[c\\](d) \\!\\[e\\]");
  });

  it("leaves nothing out of the report.md file: every finding, whole, past GitLab's note limit", () => {
    const huge: Finding = { severity: "error", check: "render/kustomize", layer: "apps", environment: "prod", message: "y".repeat(10_000) };
    const input = sampleReport([huge, ...many(12_000, "error")]);
    const report = formatMarkdown(input);
    expect(report.length).toBeGreaterThan(GITLAB_NOTE_LIMIT);
    expect(findingLines(report)).toHaveLength(input.findings.length);
    expect(report).toContain("y".repeat(10_000));
    expect(report).not.toContain("shortened");
    expect(report).not.toContain("more finding");
  });
});
