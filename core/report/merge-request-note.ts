// The report job's merge request note: what the check found and what the cluster would change,
// per layer × environment. A summary table first; then the prunes and CRD changes, the changes a
// reviewer must not miss; then a collapsible section per layer and environment with its findings
// and diffs. Nothing is left out to fit a note: a long note is split into several by
// core/gitlab/note-splitting.ts, at these sections.
//
// Input is the reporters' common CheckReportInput (what `check --out` writes as report.json, and
// what tasks/check's `reportInput(report)` gives), not tasks/check's CheckReport: core never
// imports a task. Changes are core/model/object-changes.ts's ObjectChange, as `gitops-ci diff` writes them.
import type { GitDiffReport } from "../diff/git-diff.ts";
import type { ObjectChange } from "../model/object-changes.ts";
import { formatGitDiffMarkdown } from "./git-diff-markdown.ts";
import { describeResource, formatLocation, type Finding, type ResourceRef, type Severity } from "../model/findings.ts";
import { codeSpan, escapeHtml, escapeMarkdown, escapeMultiline, fenceFor, plural, safeUrl, visibleControls } from "./markdown-text.ts";
import { describeNotChecked, type NotCheckedOverlay } from "./not-checked.ts";
import { checkFamily, groupByScope, scopeLabel, stripAnsi, type CheckReportInput, type CheckSummaryRow } from "./summary.ts";
import { isSecretRef } from "../model/secrets.ts";

export type { ObjectChange };

export interface MergeRequestNoteInput {
  check: CheckReportInput;
  /** Undefined when no diff ran: the change columns then say so instead of showing zeros. */
  changes?: readonly ObjectChange[];
  /** `diff --against`: what the merge request changes in Git, rendered on both sides. */
  gitDiff?: GitDiffReport;
  /** Overlays of the plan that were not checked, when the report knows the plan. */
  notChecked?: readonly NotCheckedOverlay[];
}

export interface MergeRequestNoteOptions {
  /** First words of the heading. */
  title?: string;
  /** CI_PIPELINE_URL. */
  pipelineUrl?: string;
  pipelineId?: number;
  /** Link to the full report in the report job's artifacts. */
  fullReportUrl?: string;
}

export const CLUSTER_DIFF_SECTION_TITLE = "What the cluster would change";

/** Check families whose findings count as secret problems rather than invalid objects. */
export const SECRET_CHECK_FAMILIES: readonly string[] = ["secrets"];

/** The numbers of one summary row. */
export interface OverlayTally {
  label: string;
  layer?: string;
  environment?: string;
  row?: CheckSummaryRow;
  findings: Finding[];
  changes: ObjectChange[];
  invalid: number;
  secretProblems: number;
  warnings: number;
  created: number;
  changed: number;
  pruned: number;
  unchanged: number;
}

const ACTION_ICON: Readonly<Record<ObjectChange["action"], string>> = {
  prune: "🗑️",
  create: "➕",
  update: "✏️",
  wait: "⏳",
  skip: "⏭️",
  unchanged: "＝",
};

/** Prunes first, then what changes, then what cannot happen yet. */
const ACTION_RANK: Readonly<Record<ObjectChange["action"], number>> = { prune: 0, update: 1, create: 2, wait: 3, skip: 4, unchanged: 5 };

const SEVERITY_ICON: Readonly<Record<Severity, string>> = { error: "❌", warning: "⚠️", info: "ℹ️" };

/** The one line format of a Secret's diff that names a key and never a value. */
const SECRET_KEY_CHANGE = /^(data|stringData)\.[A-Za-z0-9._-]+: (added|removed|changed)$/;

export function buildMergeRequestNote(input: MergeRequestNoteInput, options: MergeRequestNoteOptions = {}): string {
  const tallies = tallyOverlays(input);
  const hasDiff = input.changes !== undefined;
  const blocks: string[] = [
    formatHeading(tallies, input, options),
    formatLinks(options),
    formatTable(tallies, hasDiff),
    legend(hasDiff),
    formatNotChecked(input.notChecked ?? []),
  ];
  // Two different questions, each under its own heading: Git against Git, and Git against the cluster.
  if (input.gitDiff) blocks.push(formatGitDiffMarkdown(input.gitDiff).trimEnd());
  if (hasDiff) {
    blocks.push(
      `### ${CLUSTER_DIFF_SECTION_TITLE}\n\n<sub>\`gitops-ci diff\` against each environment's live cluster (server-side dry-run): the Created, Changed and Pruned columns above, and the changes in each section below.</sub>`,
    );
  }

  const attention = (input.changes ?? []).filter(needsAttention).sort(compareChanges);
  if (attention.length > 0) {
    blocks.push(
      [
        `#### ⚠️ Prunes and CRD changes (${attention.length})`,
        "",
        ...attention.map((change) => `- ${changeLine(change, { withScope: true })}`),
      ].join("\n"),
    );
  }
  for (const tally of tallies) {
    if (tally.findings.length === 0 && tally.changes.every((change) => change.action === "unchanged")) continue;
    blocks.push(formatSection(tally));
  }
  return `${blocks.filter((block) => block !== "").join("\n\n")}\n`;
}

/** One tally per layer × environment: the summary's overlays in order, then scopes only findings or changes name. */
export function tallyOverlays(input: MergeRequestNoteInput): OverlayTally[] {
  const scopes = groupByScope(input.check);
  const tallies = new Map<string, OverlayTally>();
  for (const scope of scopes) {
    tallies.set(scope.label, emptyTally(scope.label, scope.layer, scope.environment, scope.row, scope.findings));
  }
  for (const change of input.changes ?? []) {
    const label = scopeLabel(change.layer, change.environment);
    let tally = tallies.get(label);
    if (!tally) {
      tally = emptyTally(label, change.layer, change.environment, undefined, []);
      tallies.set(label, tally);
    }
    tally.changes.push(change);
  }
  for (const tally of tallies.values()) {
    for (const finding of tally.findings) {
      if (isSecretProblem(finding)) {
        if (finding.severity !== "info") tally.secretProblems += 1;
      } else if (finding.severity === "error") tally.invalid += 1;
      else if (finding.severity === "warning") tally.warnings += 1;
    }
    for (const change of tally.changes) {
      if (change.action === "create") tally.created += 1;
      else if (change.action === "update") tally.changed += 1;
      else if (change.action === "prune") tally.pruned += 1;
      else if (change.action === "unchanged") tally.unchanged += 1;
    }
    tally.changes.sort(compareChanges);
  }
  return [...tallies.values()];
}

export function isSecretProblem(finding: Finding): boolean {
  return SECRET_CHECK_FAMILIES.includes(checkFamily(finding.check));
}

/** Prunes delete objects; a CRD change can change or delete every custom resource of its kind. */
export function needsAttention(change: ObjectChange): boolean {
  return change.action === "prune" || (isCrd(change.ref) && (change.action === "create" || change.action === "update"));
}

function emptyTally(
  label: string,
  layer: string | undefined,
  environment: string | undefined,
  row: CheckSummaryRow | undefined,
  findings: Finding[],
): OverlayTally {
  return {
    label,
    ...(layer !== undefined ? { layer } : {}),
    ...(environment !== undefined ? { environment } : {}),
    ...(row ? { row } : {}),
    findings,
    changes: [],
    invalid: 0,
    secretProblems: 0,
    warnings: 0,
    created: 0,
    changed: 0,
    pruned: 0,
    unchanged: 0,
  };
}

function formatHeading(tallies: readonly OverlayTally[], input: MergeRequestNoteInput, options: MergeRequestNoteOptions): string {
  const title = escapeMarkdown(options.title ?? "gitops-ci");
  const sum = (pick: (tally: OverlayTally) => number) => tallies.reduce((total, tally) => total + pick(tally), 0);
  const overlays = input.check.summary.length;
  const notRendered = input.check.summary.filter((row) => !row.rendered).length;
  const invalid = sum((tally) => tally.invalid);
  const secrets = sum((tally) => tally.secretProblems);
  const secretErrors = input.check.findings.filter((finding) => isSecretProblem(finding) && finding.severity === "error").length;
  const warnings = sum((tally) => tally.warnings);
  const problems = [
    invalid ? plural(invalid, "error") : "",
    secrets ? plural(secrets, "secret problem") : "",
    notRendered ? `${notRendered} not rendered` : "",
    warnings ? plural(warnings, "warning") : "",
  ].filter(Boolean);
  const changes = input.changes
    ? (() => {
        const created = sum((tally) => tally.created);
        const changed = sum((tally) => tally.changed);
        const pruned = sum((tally) => tally.pruned);
        const parts = [
          created ? `${created} to create` : "",
          changed ? `${changed} to change` : "",
          pruned ? `${pruned} to prune` : "",
        ].filter(Boolean);
        return ` · ${parts.length > 0 ? parts.join(", ") : "no changes to the cluster"}`;
      })()
    : "";
  const failed = invalid > 0 || secretErrors > 0 || notRendered > 0;
  const attention = (input.changes ?? []).some(needsAttention);
  // An overlay that should have been checked and was not is never "nothing to report".
  const missed = (input.notChecked ?? []).filter((entry) => entry.reason !== "unchanged").length;
  const icon = failed ? "❌" : warnings > 0 || secrets > 0 || attention || missed > 0 ? "⚠️" : "✅";
  const notRun = missed > 0 ? `; ${missed} not checked` : "";
  const outcome =
    problems.length > 0
      ? `${problems.join(", ")} in ${plural(overlays, "overlay")}${notRun}`
      : missed > 0
        ? `${plural(overlays, "overlay")} checked${notRun}`
        : `${plural(overlays, "overlay")} checked, nothing to report`;
  return `### ${icon} ${title}: ${outcome}${changes}`;
}

/** The overlays that should have run first, then those changed-only left out, folded. */
function formatNotChecked(entries: readonly NotCheckedOverlay[]): string {
  if (entries.length === 0) return "";
  const line = (entry: NotCheckedOverlay) =>
    `- ${codeSpan(`${entry.environment}/${entry.layer}`)} (${codeSpan(entry.path)}): ${describeNotChecked(entry, codeSpan)}`;
  const missed = entries.filter((entry) => entry.reason !== "unchanged");
  const unchanged = entries.filter((entry) => entry.reason === "unchanged");
  const blocks: string[] = [];
  if (missed.length > 0) blocks.push([`#### ⏭️ Not checked (${missed.length})`, "", ...missed.map(line)].join("\n"));
  if (unchanged.length > 0) {
    blocks.push(
      [
        `<details><summary>${plural(unchanged.length, "overlay")} not checked: the change cannot affect ${unchanged.length === 1 ? "it" : "them"} (changed-only)</summary>`,
        "",
        ...unchanged.map(line),
        "",
        "</details>",
      ].join("\n"),
    );
  }
  return blocks.join("\n\n");
}

function formatLinks(options: MergeRequestNoteOptions): string {
  const links: string[] = [];
  if (options.pipelineUrl)
    links.push(`Pipeline [${options.pipelineId !== undefined ? `#${options.pipelineId}` : "link"}](${safeUrl(options.pipelineUrl)})`);
  if (options.fullReportUrl) links.push(`[Full report](${safeUrl(options.fullReportUrl)})`);
  return links.join(" · ");
}

/** Past this many rows, overlays with nothing to say are counted per environment, not listed. */
const TABLE_ROWS = 25;

function isQuiet(tally: OverlayTally): boolean {
  return tally.row?.rendered === true && tally.findings.length === 0 && tally.changes.length === 0;
}

function formatTable(tallies: readonly OverlayTally[], hasDiff: boolean): string {
  // The fleet-wide scope has a row only when it has findings; overlays always have one.
  const all = tallies.filter((tally) => tally.row || tally.changes.length > 0 || tally.findings.length > 0);
  if (all.length === 0) return "";
  const rows = all.length > TABLE_ROWS ? all.filter((tally) => !isQuiet(tally)) : all;
  const quiet = all.filter((tally) => !rows.includes(tally));
  const dash = "–";
  const change = (value: number) => (hasDiff ? String(value) : dash);
  const lines = [
    "| Layer | Environment | Rendered | Invalid | Secret problems | Created | Changed | Pruned |",
    "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map((tally) =>
      row([
        tally.layer === undefined && tally.environment === undefined ? "_fleet-wide_" : escapeMarkdown(tally.layer ?? "*"),
        tally.layer === undefined && tally.environment === undefined ? "" : escapeMarkdown(tally.environment ?? "*"),
        renderedCell(tally.row),
        String(tally.invalid),
        String(tally.secretProblems),
        change(tally.created),
        change(tally.changed),
        tally.pruned > 0 ? `**${tally.pruned}** 🗑️` : change(tally.pruned),
      ]),
    ),
  ];
  for (const environment of [...new Set(quiet.map((tally) => tally.environment ?? ""))]) {
    const count = quiet.filter((tally) => (tally.environment ?? "") === environment).length;
    lines.push(
      row([
        `_${count} more, nothing to report_`,
        escapeMarkdown(environment),
        `${count} of ${count}`,
        "0",
        "0",
        change(0),
        change(0),
        change(0),
      ]),
    );
  }
  if (all.length > 1) {
    const sum = (pick: (tally: OverlayTally) => number) => all.reduce((total, tally) => total + pick(tally), 0);
    const rendered = all.filter((tally) => tally.row?.rendered).length;
    const known = all.filter((tally) => tally.row).length;
    lines.push(
      row([
        "**Total**",
        "",
        `**${rendered} of ${known}**`,
        `**${sum((t) => t.invalid)}**`,
        `**${sum((t) => t.secretProblems)}**`,
        hasDiff ? `**${sum((t) => t.created)}**` : dash,
        hasDiff ? `**${sum((t) => t.changed)}**` : dash,
        hasDiff ? `**${sum((t) => t.pruned)}**` : dash,
      ]),
    );
  }
  return lines.join("\n");
}

function legend(hasDiff: boolean): string {
  const changes = hasDiff
    ? "Created, Changed, Pruned: objects the cluster would create, change or delete (`gitops-ci diff`)."
    : "Created, Changed, Pruned: – because no diff results were among the report's inputs.";
  return `<sub>Rendered: objects kustomize built. Invalid: errors of the render, YAML, schema, layer and repository checks, and of the diff. Secret problems: \`secrets/*\` findings. ${changes}</sub>`;
}

function renderedCell(row: CheckSummaryRow | undefined): string {
  if (!row) return "–";
  return row.rendered ? `✅ ${row.objects}` : "❌ not rendered";
}

function row(cells: readonly string[]): string {
  return `| ${cells.join(" | ")} |`;
}

function formatSection(tally: OverlayTally): string {
  const errors = tally.invalid + tally.findings.filter((finding) => isSecretProblem(finding) && finding.severity === "error").length;
  const notRendered = tally.row !== undefined && !tally.row.rendered;
  const attention = tally.changes.some(needsAttention);
  const icon =
    errors > 0 || notRendered
      ? "❌"
      : tally.warnings > 0 || tally.secretProblems > 0 || attention
        ? "⚠️"
        : tally.changes.length > 0
          ? "🔄"
          : "ℹ️";
  const facts = [
    tally.invalid ? plural(tally.invalid, "error") : "",
    tally.secretProblems ? plural(tally.secretProblems, "secret problem") : "",
    tally.warnings ? plural(tally.warnings, "warning") : "",
    tally.created ? `${tally.created} to create` : "",
    tally.changed ? `${tally.changed} to change` : "",
    tally.pruned ? `${tally.pruned} to prune` : "",
  ].filter(Boolean);
  const path = tally.row ? ` · <code>${escapeHtml(tally.row.path)}</code>` : "";
  const open = errors > 0 || notRendered || attention ? " open" : "";
  const lines = [
    `<details${open}>`,
    `<summary>${icon} <b>${escapeHtml(tally.label)}</b>${facts.length ? ` · ${facts.join(", ")}` : ""}${path}</summary>`,
    "",
  ];

  if (notRendered && tally.findings.every((finding) => checkFamily(finding.check) !== "render")) {
    lines.push("- ❌ the overlay did not render and no finding says why; see the check job's log", "");
  }
  if (tally.findings.length > 0) {
    lines.push("**Findings**", "", ...tally.findings.map(formatFinding), "");
  }
  const shown = tally.changes.filter((change) => change.action !== "unchanged");
  if (shown.length > 0) {
    lines.push("**Changes**", "", ...shown.map((change) => `- ${changeLine(change, { withScope: false })}`), "");
    if (tally.unchanged > 0) lines.push(`${plural(tally.unchanged, "object")} unchanged.`, "");
    for (const change of shown) {
      const diff = formatDiff(change);
      if (diff) lines.push(diff, "");
    }
  }
  lines.push("</details>");
  return lines.join("\n");
}

function formatFinding(finding: Finding): string {
  const location = formatLocation(finding);
  const resource = finding.resource ? `${escapeMarkdown(describeResource(finding.resource))}: ` : "";
  const icon = isSecretProblem(finding) ? "🔑" : SEVERITY_ICON[finding.severity];
  const head = `- ${icon} **${finding.severity}** ${location ? `${codeSpan(location)} ` : ""}${codeSpan(finding.check)} — ${resource}${escapeMultiline(finding.message)}`;
  return finding.hint ? `${head}\n  - 💡 ${escapeMultiline(finding.hint)}` : head;
}

function changeLine(change: ObjectChange, options: { withScope: boolean }): string {
  const scope = options.withScope ? `${codeSpan(scopeLabel(change.layer, change.environment))}: ` : "";
  const crd = isCrd(change.ref) ? " (CRD)" : "";
  const waiting = change.action === "wait" && change.waitingOn !== undefined ? ` — waiting on ${codeSpan(change.waitingOn)}` : "";
  const reason = change.reason ? ` (${escapeMarkdown(change.reason)})` : "";
  return `${ACTION_ICON[change.action]} **${change.action}**${crd} ${scope}${escapeMarkdown(describeResource(change.ref))}${waiting}${reason}`;
}

/**
 * A collapsed diff. Of a Secret only the key-level lines are shown (`data.password: changed`, as
 * core/diff/secret-changes.ts writes them), whatever else its producer put in the diff.
 */
function formatDiff(change: ObjectChange): string {
  if (change.diff === undefined || change.diff.trim() === "") return "";
  const name = `${change.action} ${describeResource(change.ref)}`;
  if (isSecretRef(change.ref)) {
    const keys = change.diff.split(/\r?\n/).filter((line) => SECRET_KEY_CHANGE.test(line));
    const listed = keys.length > 0 ? `${keys.map((line) => `- ${codeSpan(line)}`).join("\n")}\n\n` : "";
    return `<details>\n<summary>diff: ${escapeHtml(name)}</summary>\n\n${listed}Only which keys change is shown for a Secret: its values stay out of merge request notes.\n\n</details>`;
  }
  const text = visibleControls(stripAnsi(change.diff)).replace(/\r\n?/g, "\n").replace(/\n+$/, "");
  const fence = fenceFor(text);
  return `<details>\n<summary>diff: ${escapeHtml(name)}</summary>\n\n${fence}diff\n${text}\n${fence}\n\n</details>`;
}

function compareChanges(a: ObjectChange, b: ObjectChange): number {
  return (
    Number(needsAttention(b)) - Number(needsAttention(a)) ||
    ACTION_RANK[a.action] - ACTION_RANK[b.action] ||
    compareText(scopeLabel(a.layer, a.environment), scopeLabel(b.layer, b.environment)) ||
    compareText(describeResource(a.ref), describeResource(b.ref))
  );
}

function isCrd(ref: ResourceRef): boolean {
  return ref.kind === "CustomResourceDefinition";
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
