// `check`'s summary as a person reads it: one group per cluster (environment), its overlays in
// reconcile order, columns aligned across every group, status coloured on a terminal. In a GitLab
// job each cluster is a collapsible section holding its rows and findings, open when it failed.
import { countBySeverity, type Finding } from "../../core/model/findings.ts";
import { groupByScope } from "../../core/report/summary.ts";
import { formatFindingsForTerminal } from "../../core/report/terminal.ts";
import { paint, sectionEnd, sectionName, sectionStart } from "../../core/progress.ts";
import type { CheckReport, OverlaySummary } from "./index.ts";

export interface SummaryOptions {
  color: boolean;
  /** GitLab job-log sections per cluster. */
  sections: boolean;
  /** Per overlay (`env/layer`), how long its build took. */
  durations?: ReadonlyMap<string, number>;
  /** Milliseconds, for the section markers. */
  now?: () => number;
}

/** Above this many overlays, only those with findings get a row; the rest are counted. */
export const TERMINAL_ROWS = 40;

const HEADER = ["#", "LAYER", "OVERLAY", "OBJECTS", "ERRORS", "WARNINGS", "STATUS"] as const;
/** Numbers are right-aligned. */
const NUMERIC = new Set([0, 3, 4, 5]);

type Status = "ok" | "warn" | "FAIL" | "unchanged" | "";

interface Row {
  cells: string[];
  status: Status;
}

export function formatCheckSummary(report: CheckReport, options: SummaryOptions): string {
  const color = paint(options.color);
  const now = options.now ?? (() => Date.now());
  const scopes = groupByScope(report).filter((scope) => !scope.row && scope.findings.length > 0);
  const environments = [...new Set(report.summary.map((row) => row.environment))];
  const long = report.summary.length > TERMINAL_ROWS;

  // Findings no overlay row counts (the fleet's, a layer's) get a row of their own, so the rows add up to the totals.
  const strayRows: Row[] = scopes.map((scope) => {
    const counts = countBySeverity(scope.findings);
    const fleetWide = scope.layer === undefined && scope.environment === undefined;
    const label = fleetWide ? "(fleet-wide)" : `${scope.layer ?? "*"} in ${scope.environment ?? "every environment"}`;
    return {
      cells: ["", label, "", "-", String(counts.error), String(counts.warning)],
      status: statusOf(counts.error, counts.warning, true),
    };
  });
  const groups = environments.map((environment) => {
    const rows = report.summary.filter((row) => row.environment === environment);
    const shown = long ? rows.filter((row) => row.errors + row.warnings > 0 || (row.checked && !row.rendered)) : rows;
    return { environment, rows, shown, hidden: rows.length - shown.length };
  });
  const allRows = [...strayRows, ...groups.flatMap((group) => group.shown.map(overlayRow))];
  const widths = HEADER.map((title, column) => Math.max(title.length, ...allRows.map((row) => (row.cells[column] ?? "").length)));
  const line = (row: Row, indent = "  ") => {
    const cells = row.cells.map((cell, column) => (NUMERIC.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)));
    return `${indent}${[...cells, paintStatus(row.status, color)].join("  ")}`.trimEnd();
  };
  const header = color.dim(
    `  ${HEADER.map((title, column) => (column === HEADER.length - 1 ? title : NUMERIC.has(column) ? title.padStart(widths[column]!) : title.padEnd(widths[column]!))).join("  ")}`,
  );

  const lines: string[] = [header];
  if (strayRows.length > 0) lines.push(...strayRows.map((row) => line(row)));
  const strayFindings = new Set(scopes.flatMap((scope) => scope.findings));
  for (const group of groups) {
    const counts = sumRows(group.rows);
    const failed = counts.errors > 0;
    const buildMs = group.rows.reduce((sum, row) => sum + (options.durations?.get(`${row.environment}/${row.layer}`) ?? 0), 0);
    const facts = [
      `${group.rows.length} ${group.rows.length === 1 ? "overlay" : "overlays"}`,
      `${counts.objects} objects`,
      `${counts.errors} ${counts.errors === 1 ? "error" : "errors"}`,
      `${counts.warnings} ${counts.warnings === 1 ? "warning" : "warnings"}`,
      ...(buildMs > 0 ? [`build time ${(buildMs / 1000).toFixed(1)}s`] : []),
    ];
    const title = `${color.bold(group.environment)}  ${failed ? color.red(facts.join(", ")) : counts.warnings > 0 ? color.yellow(facts.join(", ")) : facts.join(", ")}`;
    const name = `gitops_ci_cluster_${sectionName(group.environment)}`;
    if (options.sections) lines.push(trimNewline(sectionStart(name, title, now(), !failed)));
    else lines.push(title);
    lines.push(...group.shown.map((row) => line(overlayRow(row))));
    if (group.hidden > 0) lines.push(color.dim(`  (${group.hidden} more in ${group.environment}, all ok)`));
    if (options.sections) {
      // The cluster's findings inside its section: a failing job's log opens where it failed.
      const own = report.findings.filter((finding) => finding.environment === group.environment && !strayFindings.has(finding));
      if (own.length > 0) lines.push("", formatFindingsForTerminal(own));
      lines.push(trimNewline(sectionEnd(name, now())));
    }
  }
  const totals = countBySeverity(report.findings);
  lines.push("", `${report.summary.length} overlays, ${totals.error} errors, ${totals.warning} warnings`);
  return lines.join("\n");
}

/** The findings to list after the summary: in a GitLab job the clusters' sections hold their own already. */
export function findingsAfterSummary(report: CheckReport, options: Pick<SummaryOptions, "sections">): Finding[] {
  if (!options.sections) return report.findings;
  const environments = new Set(report.summary.map((row) => row.environment));
  const stray = new Set(
    groupByScope(report)
      .filter((scope) => !scope.row)
      .flatMap((scope) => scope.findings),
  );
  return report.findings.filter((finding) => stray.has(finding) || !finding.environment || !environments.has(finding.environment));
}

function overlayRow(row: OverlaySummary): Row {
  return {
    cells: [String(row.order), row.layer, row.path, row.rendered ? String(row.objects) : "-", String(row.errors), String(row.warnings)],
    status: statusOf(row.errors, row.warnings, row.checked),
  };
}

function statusOf(errors: number, warnings: number, checked: boolean): Status {
  if (!checked) return "unchanged";
  return errors > 0 ? "FAIL" : warnings > 0 ? "warn" : "ok";
}

function paintStatus(status: Status, color: ReturnType<typeof paint>): string {
  if (status === "FAIL") return color.red(status);
  if (status === "warn") return color.yellow(status);
  if (status === "ok") return color.green(status);
  return color.dim(status);
}

function sumRows(rows: readonly OverlaySummary[]): { objects: number; errors: number; warnings: number } {
  return rows.reduce(
    (sum, row) => ({ objects: sum.objects + row.objects, errors: sum.errors + row.errors, warnings: sum.warnings + row.warnings }),
    {
      objects: 0,
      errors: 0,
      warnings: 0,
    },
  );
}

function trimNewline(text: string): string {
  return text.endsWith("\n") ? text.slice(0, -1) : text;
}
