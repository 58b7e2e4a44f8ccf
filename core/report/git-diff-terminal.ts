// `diff --against` in a terminal or job log: the blast radius per cluster, what reviewers must not
// miss, then each cluster's Kustomizations and HelmReleases with their objects and field changes.
import { formatFieldChange } from "../diff/field-changes.ts";
import type { GitDiffReport, GitObjectChange } from "../diff/git-diff.ts";
import { RISK_ORDER, RISK_TITLES } from "../diff/git-diff-risks.ts";
import { describeGitAction, describeRef, groupGitChanges } from "./git-diff-groups.ts";

const MARK: Readonly<Record<GitObjectChange["action"], string>> = { create: "+", update: "~", delete: "-" };

export function formatGitDiffForTerminal(report: GitDiffReport): string {
  const lines: string[] = [
    `Against ${report.against.rev} (merge base ${report.against.base.slice(0, 12)}): ${report.against.changedFiles} files changed`,
  ];
  lines.push("", "Blast radius (objects created / changed / deleted):");
  for (const cluster of report.clusters)
    lines.push(
      `  ${cluster.cluster.padEnd(20)} +${cluster.created} ~${cluster.changed} -${cluster.deleted}${cluster.deleted ? ` (${cluster.pruned} pruned, ${cluster.orphaned} orphaned)` : ""}`,
    );
  if (report.risks.length > 0) {
    lines.push("", "Must not miss:");
    for (const kind of RISK_ORDER) {
      const risks = report.risks.filter((risk) => risk.kind === kind);
      if (risks.length === 0) continue;
      lines.push(`  ${RISK_TITLES[kind]} (${risks.length})`);
      for (const risk of risks) lines.push(`    ${risk.cluster}/${risk.layer}: ${risk.object}: ${risk.detail}`);
    }
  }
  for (const cluster of groupGitChanges(report.changes)) {
    lines.push("", cluster.cluster);
    for (const kustomization of cluster.kustomizations) {
      lines.push(
        `  Kustomization ${kustomization.kustomization}${kustomization.layer !== kustomization.kustomization.split("/")[1] ? ` (layer ${kustomization.layer})` : ""}`,
      );
      for (const release of kustomization.releases) {
        const indent = release.helmRelease ? "      " : "    ";
        if (release.helmRelease) lines.push(`    HelmRelease ${release.helmRelease}`);
        const changes = release.kinds.flatMap((kind) => kind.changes);
        const noisy = report.collapseNoise ? changes.filter((change) => change.noiseOnly) : [];
        for (const change of changes.filter((candidate) => !noisy.includes(candidate))) {
          lines.push(`${indent}${MARK[change.action]} ${describeRef(change).padEnd(48)} ${describeGitAction(change)}`);
          const fields = (change.fields ?? []).filter((field) => !(report.collapseNoise && field.noise));
          for (const field of fields) lines.push(`${indent}    ${formatFieldChange(field)}`);
          const collapsed = (change.fields?.length ?? 0) - fields.length;
          if (collapsed > 0) lines.push(`${indent}    (${collapsed} chart-bump field${collapsed === 1 ? "" : "s"} collapsed)`);
        }
        if (noisy.length > 0)
          lines.push(
            `${indent}~ ${noisy.length} object${noisy.length === 1 ? "" : "s"} changed only in chart-bump metadata (helm.sh/chart, app.kubernetes.io/version, checksum/*; --show-noise lists them)`,
          );
      }
    }
  }
  if (report.problems.length > 0) {
    lines.push("", "Could not compare:");
    for (const problem of report.problems)
      lines.push(
        `  ${problem.environment ?? "*"}${problem.layer ? `/${problem.layer}` : ""}: ${problem.message}${problem.hint ? `\n    hint: ${problem.hint}` : ""}`,
      );
  }
  const total = (pick: (c: GitDiffReport["clusters"][number]) => number) =>
    report.clusters.reduce((sum, cluster) => sum + pick(cluster), 0);
  lines.push(
    "",
    report.changes.length === 0 && report.problems.length === 0 && report.risks.length === 0
      ? "No change to what Flux applies."
      : `${total((c) => c.created)} to create, ${total((c) => c.changed)} to change, ${total((c) => c.deleted)} to delete${report.problems.length > 0 ? `; ${report.problems.length} Kustomization${report.problems.length === 1 ? "" : "s"} could not be compared` : ""}.`,
  );
  return lines.join("\n");
}
