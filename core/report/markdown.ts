// The check as Markdown: the `report.md` artifact, a file, so nothing is left out. A table of every
// layer × environment, then the findings of each in a collapsible section. The merge request note
// is built in merge-request-note.ts.
import { countBySeverity, describeResource, formatLocation, type Finding, type Severity } from "../model/findings.ts";
import { codeSpan, escapeHtml, escapeMarkdown, escapeMultiline, plural } from "./markdown-text.ts";
import {
  groupByScope,
  overlayStatus,
  type CheckReportInput,
  type CheckSummaryRow,
  type FindingScope,
  type OverlayStatus,
} from "./summary.ts";

export interface MarkdownOptions {
  /** First words of the heading. */
  title?: string;
}

const SEVERITY_ICON: Readonly<Record<Severity, string>> = { error: "❌", warning: "⚠️", info: "ℹ️" };

const STATUS_TEXT: Readonly<Record<OverlayStatus, string>> = {
  passed: "✅ passed",
  warnings: "⚠️ warnings",
  failed: "❌ failed",
  "not-rendered": "❌ not rendered",
};

export function formatMarkdown(input: CheckReportInput, options: MarkdownOptions = {}): string {
  const lines = [formatHeading(input, options.title ?? "gitops-ci check"), ""];
  // Findings no overlay row counts (the fleet's, a layer's) get a row of their own, so the rows add up to the totals.
  const rows = [
    ...groupByScope(input)
      .filter((scope) => !scope.row && scope.findings.length > 0)
      .map(formatScopeRow),
    ...input.summary.map(formatRow),
  ];
  if (rows.length > 0)
    lines.push("| Layer | Environment | Status | Objects | Errors | Warnings |", "| --- | --- | --- | ---: | ---: | ---: |", ...rows, "");
  for (const scope of groupByScope(input)) {
    if (scope.findings.length > 0) lines.push(...formatSection(scope));
  }
  return `${lines.join("\n")}\n`;
}

function formatHeading(input: CheckReportInput, title: string): string {
  const totals = countBySeverity(input.findings);
  const overlays = plural(input.summary.length, "overlay");
  const notRendered = input.summary.filter((row) => !row.rendered).length;
  const counts = [
    totals.error ? plural(totals.error, "error") : "",
    totals.warning ? plural(totals.warning, "warning") : "",
    notRendered ? `${notRendered} not rendered` : "",
  ]
    .filter(Boolean)
    .join(", ");
  if (totals.error > 0 || notRendered > 0) return `### ❌ ${escapeMarkdown(title)} failed: ${counts} in ${overlays}`;
  if (totals.warning > 0) return `### ⚠️ ${escapeMarkdown(title)} passed with ${counts} in ${overlays}`;
  return `### ✅ ${escapeMarkdown(title)} passed: ${overlays}, nothing to report`;
}

function formatRow(row: CheckSummaryRow): string {
  const cells = [
    escapeMarkdown(row.layer),
    escapeMarkdown(row.environment),
    STATUS_TEXT[overlayStatus(row)],
    row.rendered ? String(row.objects) : "–",
    String(row.errors),
    String(row.warnings),
  ];
  return `| ${cells.join(" | ")} |`;
}

/** The fleet-wide findings (or a layer's, or an environment's) as a table row: no status of an overlay, no objects. */
function formatScopeRow(scope: FindingScope): string {
  const counts = countBySeverity(scope.findings);
  const fleetWide = scope.layer === undefined && scope.environment === undefined;
  const status = counts.error > 0 ? STATUS_TEXT.failed : counts.warning > 0 ? STATUS_TEXT.warnings : "ℹ️ notes";
  const cells = [
    fleetWide ? "_fleet-wide_" : escapeMarkdown(scope.layer ?? "*"),
    fleetWide ? "" : escapeMarkdown(scope.environment ?? "*"),
    status,
    "–",
    String(counts.error),
    String(counts.warning),
  ];
  return `| ${cells.join(" | ")} |`;
}

function formatSection(scope: FindingScope): string[] {
  const counts = countBySeverity(scope.findings);
  const icon = counts.error > 0 ? SEVERITY_ICON.error : counts.warning > 0 ? SEVERITY_ICON.warning : SEVERITY_ICON.info;
  const tally = (["error", "warning", "info"] as const)
    .filter((severity) => counts[severity] > 0)
    .map((severity) => plural(counts[severity], severity === "info" ? "note" : severity))
    .join(", ");
  const label = scope.row
    ? `<b>${escapeHtml(scope.label)}</b> · ${tally} · <code>${escapeHtml(scope.row.path)}</code>`
    : `<b>${escapeHtml(scope.label)}</b> · ${tally}`;
  // A blank line after <summary> lets GitLab render the Markdown list inside the HTML block.
  return [
    `<details${counts.error > 0 ? " open" : ""}>\n<summary>${icon} ${label}</summary>\n`,
    ...scope.findings.map(formatFinding),
    "\n</details>\n",
  ];
}

function formatFinding(finding: Finding): string {
  const location = formatLocation(finding);
  const resource = finding.resource ? `${escapeMarkdown(describeResource(finding.resource))}: ` : "";
  const head = `- ${SEVERITY_ICON[finding.severity]} **${finding.severity}** ${location ? `${codeSpan(location)} ` : ""}${codeSpan(finding.check)} — ${resource}${escapeMultiline(finding.message)}`;
  return finding.hint ? `${head}\n  - 💡 ${escapeMultiline(finding.hint)}` : head;
}
