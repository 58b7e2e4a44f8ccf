// The check as a merge request note: a table of every layer × environment, then the findings of
// each in a collapsible section. Fits GitLab's note limit by leaving findings out, errors last,
// and always says how many were left out and where they are.
import { countBySeverity, describeResource, formatLocation, type Finding, type Severity } from "../model/findings.ts";
import { groupByScope, overlayStatus, SEVERITY_RANK, stripAnsi, type CheckReportInput, type CheckSummaryRow, type FindingScope, type OverlayStatus } from "./summary.ts";

/** GitLab rejects notes longer than this many characters. */
export const GITLAB_NOTE_LIMIT = 1_000_000;

/** One message longer than this is cut, visibly, so a single tool dump cannot crowd out the rest. */
const MESSAGE_LIMIT = 4_000;

export interface MarkdownOptions {
  /**
   * Upper bound on the note's length. Counted in UTF-16 code units, which is never less than the
   * characters GitLab counts, so a note within it is within GitLab's limit too.
   */
  maxLength?: number;
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

interface Section {
  scope: FindingScope;
  open: string;
  close: string;
  items: string[];
  /** Longest the "n more findings" line of this section can be. */
  noteBound: number;
  chosen: boolean[];
  opened: boolean;
}

export function formatMarkdown(input: CheckReportInput, options: MarkdownOptions = {}): string {
  const limit = options.maxLength ?? GITLAB_NOTE_LIMIT;
  const totals = countBySeverity(input.findings);
  const heading = formatHeading(input, options.title ?? "gitops-ci check");
  // Room for the closing notice is set aside first, sized for the worst case: everything left out.
  // Findings no overlay row counts (the fleet's, a layer's) get a row of their own, so the rows add up to the totals.
  const rows = [
    ...groupByScope(input)
      .filter((scope) => !scope.row && scope.findings.length > 0)
      .map(formatScopeRow),
    ...input.summary.map(formatRow),
  ];
  const footerBound = footer(limit, totals, rows.length).length + 1;

  const budget = new Budget(limit, footerBound);
  const lines: string[] = [];
  const add = (text: string) => {
    budget.take(text);
    lines.push(text);
  };
  if (!budget.fits(heading)) throw new RangeError(`a merge request note needs more than ${limit} characters for its heading`);
  add(heading);
  add("");

  // The table: findings outside the overlays first, then every overlay in the check's order, while it fits.
  let rowsLeftOut = 0;
  if (rows.length > 0) {
    const tableHead = "| Layer | Environment | Status | Objects | Errors | Warnings |\n| --- | --- | --- | ---: | ---: | ---: |";
    if (budget.fits(tableHead)) {
      add(tableHead);
      for (const line of rows) {
        // Rows stop at the first that does not fit, so the table never skips one in the middle.
        if (rowsLeftOut === 0 && budget.fits(line)) add(line);
        else rowsLeftOut += 1;
      }
      add("");
    } else {
      rowsLeftOut = rows.length;
    }
  }

  // The findings: choose the most severe first across all sections, then write the sections in order.
  const sections = groupByScope(input)
    .filter((scope) => scope.findings.length > 0)
    .map(prepareSection);
  const queue = sections
    .flatMap((section, sectionIndex) => section.items.map((_, itemIndex) => ({ section, sectionIndex, itemIndex })))
    .sort(
      (a, b) =>
        SEVERITY_RANK[a.section.scope.findings[a.itemIndex]!.severity] - SEVERITY_RANK[b.section.scope.findings[b.itemIndex]!.severity] ||
        a.sectionIndex - b.sectionIndex ||
        a.itemIndex - b.itemIndex,
    );
  for (const { section, itemIndex } of queue) {
    const item = section.items[itemIndex]!;
    const cost = item.length + 1 + (section.opened ? 0 : section.open.length + 1 + section.close.length + 1 + section.noteBound + 1);
    if (!budget.fitsCost(cost)) continue;
    budget.takeCost(cost);
    section.opened = true;
    section.chosen[itemIndex] = true;
  }

  const leftOut: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const section of sections) {
    const omitted = section.scope.findings.filter((_, index) => !section.chosen[index]);
    for (const finding of omitted) leftOut[finding.severity] += 1;
    if (!section.opened) continue;
    lines.push(section.open, ...section.items.filter((_, index) => section.chosen[index]));
    if (omitted.length > 0) lines.push(sectionNote(section.scope, omitted.length));
    lines.push(section.close);
  }

  const shortened = rowsLeftOut > 0 || leftOut.error + leftOut.warning + leftOut.info > 0;
  if (shortened) lines.push(footer(limit, leftOut, rowsLeftOut));
  const note = `${lines.join("\n")}\n`;
  if (note.length > limit) throw new Error(`internal: merge request note is ${note.length} characters, over its ${limit} budget`);
  return note;
}

function formatHeading(input: CheckReportInput, title: string): string {
  const totals = countBySeverity(input.findings);
  const overlays = plural(input.summary.length, "overlay");
  const notRendered = input.summary.filter((row) => !row.rendered).length;
  const counts = [totals.error ? plural(totals.error, "error") : "", totals.warning ? plural(totals.warning, "warning") : "", notRendered ? `${notRendered} not rendered` : ""]
    .filter(Boolean)
    .join(", ");
  if (totals.error > 0 || notRendered > 0) return `### ❌ ${escapeMarkdown(title)} failed: ${counts} in ${overlays}`;
  if (totals.warning > 0) return `### ⚠️ ${escapeMarkdown(title)} passed with ${counts} in ${overlays}`;
  return `### ✅ ${escapeMarkdown(title)} passed: ${overlays}, nothing to report`;
}

function formatRow(row: CheckSummaryRow): string {
  const cells = [escapeMarkdown(row.layer), escapeMarkdown(row.environment), STATUS_TEXT[overlayStatus(row)], row.rendered ? String(row.objects) : "–", String(row.errors), String(row.warnings)];
  return `| ${cells.join(" | ")} |`;
}

/** The fleet-wide findings (or a layer's, or an environment's) as a table row: no status of an overlay, no objects. */
function formatScopeRow(scope: FindingScope): string {
  const counts = countBySeverity(scope.findings);
  const fleetWide = scope.layer === undefined && scope.environment === undefined;
  const status = counts.error > 0 ? STATUS_TEXT.failed : counts.warning > 0 ? STATUS_TEXT.warnings : "ℹ️ notes";
  const cells = [fleetWide ? "_fleet-wide_" : escapeMarkdown(scope.layer ?? "*"), fleetWide ? "" : escapeMarkdown(scope.environment ?? "*"), status, "–", String(counts.error), String(counts.warning)];
  return `| ${cells.join(" | ")} |`;
}

function prepareSection(scope: FindingScope): Section {
  const counts = countBySeverity(scope.findings);
  const icon = counts.error > 0 ? SEVERITY_ICON.error : counts.warning > 0 ? SEVERITY_ICON.warning : SEVERITY_ICON.info;
  const tally = (["error", "warning", "info"] as const)
    .filter((severity) => counts[severity] > 0)
    .map((severity) => plural(counts[severity], severity === "info" ? "note" : severity))
    .join(", ");
  const label = scope.row ? `<b>${escapeHtml(scope.label)}</b> · ${tally} · <code>${escapeHtml(scope.row.path)}</code>` : `<b>${escapeHtml(scope.label)}</b> · ${tally}`;
  return {
    scope,
    // A blank line after <summary> lets GitLab render the Markdown list inside the HTML block.
    open: `<details${counts.error > 0 ? " open" : ""}>\n<summary>${icon} ${label}</summary>\n`,
    close: "\n</details>\n",
    items: scope.findings.map(formatFinding),
    noteBound: sectionNote(scope, scope.findings.length).length,
    chosen: scope.findings.map(() => false),
    opened: false,
  };
}

function formatFinding(finding: Finding): string {
  const location = formatLocation(finding);
  const resource = finding.resource ? `${escapeMarkdown(describeResource(finding.resource))}: ` : "";
  const head = `- ${SEVERITY_ICON[finding.severity]} **${finding.severity}** ${location ? `${codeSpan(location)} ` : ""}${codeSpan(finding.check)} — ${resource}${escapeMessage(finding.message)}`;
  return finding.hint ? `${head}\n  - 💡 ${escapeMessage(finding.hint)}` : head;
}

function sectionNote(scope: FindingScope, omitted: number): string {
  return `- … ${plural(omitted, "more finding")} for ${escapeMarkdown(scope.label)} in the full report artifact`;
}

function footer(limit: number, leftOut: Record<Severity, number>, rowsLeftOut: number): string {
  const findings = leftOut.error + leftOut.warning + leftOut.info;
  const breakdown = (["error", "warning", "info"] as const)
    .filter((severity) => leftOut[severity] > 0)
    .map((severity) => plural(leftOut[severity], severity === "info" ? "note" : severity))
    .join(", ");
  const parts = [findings > 0 ? `${plural(findings, "more finding")} (${breakdown})` : "", rowsLeftOut > 0 ? `${plural(rowsLeftOut, "more row")} of the summary table` : ""].filter(Boolean);
  return `> **This note is shortened to fit ${limit.toLocaleString("en-US")} characters:** … ${parts.join(" and ")} in the full report artifact (report.json).`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

class Budget {
  #used = 0;
  readonly #limit: number;
  readonly #reserved: number;

  constructor(limit: number, reserved: number) {
    this.#limit = limit;
    this.#reserved = reserved;
  }

  /** A line costs its length plus the line break that follows it. */
  fits(line: string): boolean {
    return this.fitsCost(line.length + 1);
  }

  fitsCost(cost: number): boolean {
    return this.#used + cost + this.#reserved <= this.#limit;
  }

  take(line: string): void {
    this.takeCost(line.length + 1);
  }

  takeCost(cost: number): void {
    this.#used += cost;
  }
}

// Escaping. Messages come from tools and manifests, so they may hold anything: table pipes, HTML,
// backticks, `@mentions` and `#123` that GitLab would turn into pings and links.

/**
 * Control characters other than tab and line breaks become visible `\u001b` text.
 */
function visibleControls(text: string): string {
  return stripAnsi(text).replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Backslash-escapes every ASCII punctuation character, which CommonMark allows for all of them:
 * no emphasis, links, HTML (`\<`), table cells (`\|`) or block syntax can start, and GitLab leaves
 * backslash-escaped `@`, `#`, `!`, `~`, `%`, `$` and `&` alone instead of making references.
 */
export function escapeMarkdown(text: string): string {
  return visibleControls(text)
    .replace(/[\r\n\t]+/g, " ")
    .replace(/[!-/:-@[-`{-~]/g, (char) => `\\${char}`);
}

/** Like {@link escapeMarkdown}, keeping line breaks as `<br>` so the finding stays one list item. */
function escapeMessage(text: string): string {
  const characters = [...visibleControls(text).trim()];
  const cut = characters.length > MESSAGE_LIMIT ? characters.length - MESSAGE_LIMIT : 0;
  const kept = cut > 0 ? characters.slice(0, MESSAGE_LIMIT).join("") : characters.join("");
  const escaped = kept
    .split(/\r\n|\r|\n/)
    .map((line) => escapeMarkdown(line))
    .join("<br>");
  return cut > 0 ? `${escaped} … (${cut} more characters in the full report artifact)` : escaped;
}

/** Inline code that survives backticks in its content: the fence is one backtick longer than any run inside. */
export function codeSpan(text: string): string {
  const content = visibleControls(text).replace(/[\r\n\t]+/g, " ");
  const longestRun = Math.max(0, ...(content.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longestRun + 1);
  const padded = content.startsWith("`") || content.endsWith("`") || (content.startsWith(" ") && content.endsWith(" ")) ? ` ${content} ` : content;
  return `${fence}${padded}${fence}`;
}

function escapeHtml(text: string): string {
  return visibleControls(text).replace(/[&<>"']/g, (char) => HTML_ENTITIES[char]!);
}

const HTML_ENTITIES: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
