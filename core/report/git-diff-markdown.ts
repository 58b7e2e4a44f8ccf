// `diff --against` as a merge request note section, "what this merge request changes in Git": the
// blast radius per cluster, what reviewers must not miss, then one collapsible section per cluster
// and Kustomization with each object and its field changes. Never a Secret value (its changes are
// key names only); the HTML page and git-diff.json hold everything a long note leaves out.
import { formatFieldChange } from "../diff/field-changes.ts";
import type { GitDiffReport, GitObjectChange } from "../diff/git-diff.ts";
import { RISK_ORDER, RISK_TITLES } from "../diff/git-diff-risks.ts";
import { describeGitAction, describeRef, groupGitChanges } from "./git-diff-groups.ts";
import { codeSpan, escapeHtml, escapeMarkdown, fenceFor } from "./markdown-text.ts";

export const GIT_DIFF_SECTION_TITLE = "What this merge request changes in Git";

const ICON: Readonly<Record<GitObjectChange["action"], string>> = { create: "➕", update: "✏️", delete: "🗑️" };

export interface GitDiffMarkdownOptions {
  /** Objects listed at most; the rest are counted. */
  maxObjects?: number;
  /** Field lines per object at most. */
  maxFields?: number;
  /** Link to the HTML page (the job's artifact). */
  pageUrl?: string;
}

export function formatGitDiffMarkdown(report: GitDiffReport, options: GitDiffMarkdownOptions = {}): string {
  const maxObjects = options.maxObjects ?? 300;
  const maxFields = options.maxFields ?? 25;
  const pageUrl = options.pageUrl ?? report.pageUrl;
  const changed = report.changes.length > 0 || report.risks.length > 0;
  const icon = report.problems.length > 0 ? "❌" : report.risks.length > 0 ? "⚠️" : changed ? "🔀" : "✅";
  const lines: string[] = [`### ${icon} ${GIT_DIFF_SECTION_TITLE}`, ""];
  lines.push(
    `<sub>\`gitops-ci diff --against ${escapeMarkdown(report.against.rev)}\`: the render of the merge base ${codeSpan(report.against.base.slice(0, 12))} compared with the render of this merge request, from Git alone (no cluster was asked). ${report.rendered.head} of ${report.rendered.ofHead} Kustomizations were rendered again.${pageUrl ? ` [Side-by-side and unified views](${pageUrl.replace(/[\s()<>]/g, (char) => encodeURIComponent(char))})` : ""}</sub>`,
    "",
  );
  if (!changed && report.problems.length === 0) {
    lines.push("No change to what Flux applies.", "");
    return lines.join("\n");
  }
  lines.push("| Cluster | Created | Changed | Deleted |", "| --- | ---: | ---: | ---: |");
  for (const cluster of report.clusters) {
    const deleted = cluster.deleted > 0 ? `**${cluster.deleted}** 🗑️ (${cluster.pruned} pruned, ${cluster.orphaned} orphaned)` : "0";
    lines.push(`| ${escapeMarkdown(cluster.cluster)} | ${cluster.created} | ${cluster.changed} | ${deleted} |`);
  }
  lines.push("");
  if (report.risks.length > 0) {
    lines.push("#### ⚠️ Must not miss", "");
    for (const kind of RISK_ORDER) {
      const risks = report.risks.filter((risk) => risk.kind === kind);
      if (risks.length === 0) continue;
      lines.push(`- **${RISK_TITLES[kind]}** (${risks.length})`);
      for (const risk of risks.slice(0, 50))
        lines.push(`  - ${codeSpan(`${risk.cluster}/${risk.layer}`)} ${escapeMarkdown(risk.object)}: ${escapeMarkdown(risk.detail)}`);
      if (risks.length > 50) lines.push(`  - … ${risks.length - 50} more in the HTML page`);
    }
    lines.push("");
  }
  if (report.problems.length > 0) {
    lines.push("**Could not compare:**", "");
    for (const problem of report.problems) {
      lines.push(
        `- ❌ ${codeSpan(`${problem.environment ?? "*"}${problem.layer ? `/${problem.layer}` : ""}`)}: ${escapeMarkdown(problem.message)}${problem.hint ? ` (hint: ${escapeMarkdown(problem.hint)})` : ""}`,
      );
    }
    lines.push("");
  }
  let listed = 0;
  for (const cluster of groupGitChanges(report.changes)) {
    for (const kustomization of cluster.kustomizations) {
      const all = kustomization.releases.flatMap((release) => release.kinds.flatMap((kind) => kind.changes));
      const summary = `${cluster.cluster} / Kustomization ${kustomization.kustomization}: ${counts(all)}`;
      lines.push(`<details><summary>${escapeHtml(summary)}</summary>`, "");
      for (const release of kustomization.releases) {
        if (release.helmRelease) lines.push(`**HelmRelease ${escapeMarkdown(release.helmRelease)}**`, "");
        const changes = release.kinds.flatMap((kind) => kind.changes);
        const noisy = report.collapseNoise ? changes.filter((change) => change.noiseOnly) : [];
        for (const change of changes.filter((candidate) => !noisy.includes(candidate))) {
          if (listed >= maxObjects) break;
          listed += 1;
          lines.push(
            `- ${ICON[change.action]} ${codeSpan(describeRef(change))} ${escapeMarkdown(describeGitAction(change))}${change.file ? ` (${codeSpan(change.file)})` : ""}`,
          );
          const fields = (change.fields ?? []).filter((field) => !(report.collapseNoise && field.noise));
          if (fields.length === 0) continue;
          const text = fields.slice(0, maxFields).map((field) => formatFieldChange(field));
          if (fields.length > maxFields) text.push(`… ${fields.length - maxFields} more fields`);
          const collapsed = (change.fields?.length ?? 0) - fields.length;
          if (collapsed > 0) text.push(`(${collapsed} chart-bump field${collapsed === 1 ? "" : "s"} collapsed)`);
          const fence = fenceFor(text.join("\n"));
          lines.push("", `  ${fence}`, ...text.map((line) => `  ${line}`), `  ${fence}`, "");
        }
        if (noisy.length > 0)
          lines.push(
            `- ✏️ ${noisy.length} object${noisy.length === 1 ? "" : "s"} changed only in chart-bump metadata (\`helm.sh/chart\`, \`app.kubernetes.io/version\`, \`checksum/*\`)`,
          );
        lines.push("");
      }
      lines.push("</details>", "");
    }
  }
  const shown = report.changes.filter((change) => !(report.collapseNoise && change.noiseOnly)).length;
  if (listed < shown) lines.push(`… ${shown - listed} more objects: see the HTML page or git-diff.json.`, "");
  return lines.join("\n");
}

function counts(changes: readonly GitObjectChange[]): string {
  const of = (action: GitObjectChange["action"]) => changes.filter((change) => change.action === action).length;
  return [`${of("create")} created`, `${of("update")} changed`, `${of("delete")} deleted`].join(", ");
}
