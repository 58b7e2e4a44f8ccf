// The diff in a terminal or job log: per environment and layer, each object that changes (with its
// diff), counts of the rest, then what kept the diff from being complete.
import {
  countActions,
  describeObject,
  isChange,
  type DiffProblem,
  type EnvironmentDiff,
  type ObjectAction,
  type ObjectChange,
} from "../model/object-changes.ts";

const MARK: Readonly<Record<ObjectAction, string>> = { create: "+", update: "~", prune: "-", skip: "!", wait: "…", unchanged: "=" };

export function formatDiffForTerminal(environments: readonly EnvironmentDiff[]): string {
  const lines: string[] = [];
  for (const env of environments) {
    lines.push(`${env.environment}${env.context ? ` (context ${env.context}, ${env.server})` : ""}`);
    for (const layer of env.layers) {
      const changes = env.changes.filter((change) => change.layer === layer);
      const unchanged = changes.filter((change) => change.action === "unchanged").length;
      const shown = changes.filter((change) => change.action !== "unchanged");
      const incomplete = env.problems.some((problem) => problem.layer === undefined || problem.layer === layer);
      const quiet = changes.length === 0 ? "nothing compared" : `${unchanged} unchanged`;
      lines.push(`  ${layer}${shown.length === 0 ? `: ${quiet}${incomplete ? ", incomplete (see below)" : ""}` : ""}`);
      if (shown.length === 0) continue;
      for (const change of shown) {
        lines.push(`    ${MARK[change.action]} ${describeObject(change.ref).padEnd(48)} ${describeAction(change)}`);
        if (change.diff) lines.push(...change.diff.split("\n").map((line) => `        ${line}`));
      }
      if (unchanged > 0) lines.push(`    ${unchanged} unchanged`);
    }
    if (env.problems.length > 0) {
      lines.push("  could not diff:");
      for (const problem of env.problems) lines.push(...formatProblem(problem).map((line) => `    ${line}`));
    }
    lines.push("");
  }
  lines.push(summaryLine(environments));
  return lines.join("\n");
}

export function describeAction(change: ObjectChange): string {
  switch (change.action) {
    case "create":
      return "to create";
    case "update":
      return "to change";
    case "prune":
      return "to prune";
    case "unchanged":
      return "unchanged";
    case "skip":
      return `skipped: ${change.reason ?? ""}`;
    case "wait":
      return `waits on layer ${change.waitingOn ?? "?"}${change.reason ? `: ${change.reason}` : ""}`;
  }
}

function formatProblem(problem: DiffProblem): string[] {
  const where = problem.layer ? `${problem.environment}/${problem.layer}: ` : `${problem.environment}: `;
  return [`${where}${problem.message}`, ...(problem.hint ? [`  hint: ${problem.hint}`] : [])];
}

export function countsText(changes: readonly ObjectChange[]): string {
  const counts = countActions(changes);
  const parts = [
    [counts.create, "to create"],
    [counts.update, "to change"],
    [counts.prune, "to prune"],
    [counts.wait, "waiting"],
    [counts.skip, "skipped"],
    [counts.unchanged, "unchanged"],
  ] as const;
  const text = parts
    .filter(([count]) => count > 0)
    .map(([count, label]) => `${count} ${label}`)
    .join(", ");
  return text === "" ? "nothing compared" : text;
}

/** Never "no changes" when any environment could not be read completely. */
export function summaryLine(environments: readonly EnvironmentDiff[]): string {
  const problems = environments.reduce((sum, env) => sum + env.problems.length, 0);
  const perEnv = environments.map((env) => `${env.environment}: ${countsText(env.changes)}`).join("; ");
  if (problems > 0)
    return `INCOMPLETE: ${problems} problem${problems === 1 ? "" : "s"} kept the diff from being complete (exit code 2). ${perEnv}`;
  if (environments.some((env) => env.changes.some(isChange))) return `changes: ${perEnv}`;
  return `no changes: ${perEnv}`;
}
