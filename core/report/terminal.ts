// Findings as a person reads them in a job log: one line each, location first, grouped by severity.
import { describeResource, formatLocation, type Finding } from "../model/findings.ts";

const ORDER = { error: 0, warning: 1, info: 2 } as const;

export function formatFindingsForTerminal(findings: readonly Finding[]): string {
  return [...findings]
    .sort((a, b) => ORDER[a.severity] - ORDER[b.severity] || (a.file ?? "").localeCompare(b.file ?? "") || (a.line ?? 0) - (b.line ?? 0))
    .map(formatFinding)
    .join("\n");
}

export function formatFinding(finding: Finding): string {
  const location = formatLocation(finding);
  const scope = [finding.environment, finding.layer].filter(Boolean).join("/");
  const resource = finding.resource ? ` ${describeResource(finding.resource)}:` : "";
  const head = `${finding.severity}${location ? ` ${location}` : ""}${scope ? ` [${scope}]` : ""}${resource} ${finding.message} (${finding.check})`;
  return finding.hint ? `${head}\n    hint: ${finding.hint}` : head;
}

/** A fixed-width table; the last column is not padded. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}
