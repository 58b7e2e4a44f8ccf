// The live diff as Markdown (the `diff.md` artifact, a drift issue's report): a table of counts per
// environment and layer, then one collapsible section per environment and layer with each change
// and its diff. Secret values never reach here (diffs of Secrets list keys only). Nothing is left
// out unless the caller sets a length it must fit (an issue description): then the longest diffs go
// first, all of them in the JSON artifact.
import { countActions, describeObject, type DiffProblem, type ObjectAction, type ObjectChange } from "../model/object-changes.ts";
import { countsText, describeAction } from "./diff-terminal.ts";
import { codeSpan, escapeHtml, escapeMarkdown, fenceFor } from "./markdown-text.ts";

export interface DiffMarkdownOptions {
  problems?: readonly DiffProblem[];
  title?: string;
  /** Longest the text may be; unset, nothing is left out. */
  maxLength?: number;
}

const ICON: Readonly<Record<ObjectAction, string>> = { create: "➕", update: "✏️", prune: "🗑️", skip: "⏭️", wait: "⏳", unchanged: "✅" };

interface Group {
  environment: string;
  layer: string;
  changes: ObjectChange[];
}

export function formatDiffMarkdown(changes: readonly ObjectChange[], options: DiffMarkdownOptions = {}): string {
  const limit = options.maxLength ?? Number.POSITIVE_INFINITY;
  const groups = groupChanges(changes);
  const omitted = new Set<ObjectChange>();
  let text = render(groups, options, omitted);
  // Too long: leave out the longest diffs first (they are all in the JSON artifact), then whole sections.
  const byLength = changes.filter((change) => change.diff).sort((a, b) => b.diff!.length - a.diff!.length);
  for (const change of byLength) {
    if (text.length <= limit) break;
    omitted.add(change);
    text = render(groups, options, omitted);
  }
  let kept = groups.length;
  while (text.length > limit && kept > 0) {
    kept -= 1;
    text = render(groups.slice(0, kept), options, omitted, groups.length - kept);
  }
  return text;
}

function render(groups: readonly Group[], options: DiffMarkdownOptions, omitted: ReadonlySet<ObjectChange>, sectionsLeftOut = 0): string {
  const problems = options.problems ?? [];
  const all = groups.flatMap((group) => group.changes);
  const lines: string[] = [`### ${escapeMarkdown(options.title ?? "gitops-ci diff")}`, ""];
  lines.push(
    problems.length > 0
      ? `**Incomplete:** ${problems.length} problem${problems.length === 1 ? "" : "s"} kept the diff from being complete.`
      : `${escapeMarkdown(countsText(all))}.`,
  );
  lines.push("");
  if (groups.length > 0) {
    lines.push(
      "| environment | layer | create | change | prune | wait | skip | unchanged |",
      "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    );
    for (const group of groups) {
      const counts = countActions(group.changes);
      lines.push(
        `| ${escapeMarkdown(group.environment)} | ${escapeMarkdown(group.layer)} | ${counts.create} | ${counts.update} | ${counts.prune} | ${counts.wait} | ${counts.skip} | ${counts.unchanged} |`,
      );
    }
    lines.push("");
  }
  for (const group of groups) {
    const shown = group.changes.filter((change) => change.action !== "unchanged");
    if (shown.length === 0) continue;
    lines.push(`<details><summary>${escapeHtml(`${group.environment} / ${group.layer}: ${countsText(group.changes)}`)}</summary>`, "");
    for (const change of shown) {
      lines.push(
        `- ${ICON[change.action]} ${codeSpan(describeObject(change.ref))} ${escapeMarkdown(describeAction(change))}${change.file ? ` (${codeSpan(change.file)})` : ""}`,
      );
      if (!change.diff) continue;
      if (omitted.has(change)) {
        lines.push(`  <br>diff of ${change.diff.split("\n").length} lines left out to fit: see the JSON report artifact`);
        continue;
      }
      const fence = fenceFor(change.diff);
      lines.push("", `  ${fence}diff`, ...change.diff.split("\n").map((line) => `  ${line}`), `  ${fence}`, "");
    }
    lines.push("", "</details>", "");
  }
  if (sectionsLeftOut > 0) lines.push(`… ${sectionsLeftOut} more sections left out to fit: see the JSON report artifact.`, "");
  if (problems.length > 0) {
    lines.push("**Could not diff:**", "");
    for (const problem of problems) {
      const where = `${problem.environment}${problem.layer ? `/${problem.layer}` : ""}`;
      lines.push(
        `- ${codeSpan(where)}: ${escapeMarkdown(problem.message)}${problem.hint ? ` (hint: ${escapeMarkdown(problem.hint)})` : ""}`,
      );
    }
    lines.push("");
  }
  return lines.join("\n");
}

function groupChanges(changes: readonly ObjectChange[]): Group[] {
  const groups = new Map<string, Group>();
  for (const change of changes) {
    const key = `${change.environment}\u0000${change.layer}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { environment: change.environment, layer: change.layer, changes: [] }));
    group.changes.push(change);
  }
  return [...groups.values()];
}
