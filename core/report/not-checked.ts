// What the pipeline did not check, and why. The report job knows the plan (every overlay, and the
// layers each waits for) and the reports the check jobs left; an overlay of the plan without a
// summary row was not checked, and a merge request note that leaves it unsaid reads as all clear.
import type { CheckSummaryRow } from "./summary.ts";

/** An overlay of the plan, as the report needs it. */
export interface PlannedOverlay {
  environment: string;
  layer: string;
  path: string;
  /** Layers of the same environment it waits for. */
  dependsOn: readonly string[];
}

export type NotCheckedReason =
  /** changed-only left it out: the change cannot affect it. */
  | "unchanged"
  /** A layer it waits for failed or was not checked itself, so its job did not run. */
  | "earlier-layer"
  /** No report and nothing before it failed: its job did not run, or stopped before writing one. */
  | "no-report";

export interface NotCheckedOverlay {
  environment: string;
  layer: string;
  path: string;
  reason: NotCheckedReason;
  /** With "earlier-layer": the first layer before it (same environment) that failed or has no report. */
  after?: { layer: string; failed: boolean };
}

/**
 * Every overlay of `plan` without a row in `summary`, in plan order. `affected`: the overlays
 * (`ENV/LAYER`) the change can affect when changed-only was on; undefined when every overlay had
 * to be checked.
 */
export function overlaysNotChecked(
  plan: readonly PlannedOverlay[],
  summary: readonly CheckSummaryRow[],
  affected?: ReadonlySet<string>,
): NotCheckedOverlay[] {
  const key = (environment: string, layer: string) => `${environment}/${layer}`;
  const rows = new Map(summary.map((row) => [key(row.environment, row.layer), row]));
  const byKey = new Map(plan.map((overlay) => [key(overlay.environment, overlay.layer), overlay]));
  const result: NotCheckedOverlay[] = [];

  for (const overlay of plan) {
    const id = key(overlay.environment, overlay.layer);
    if (rows.has(id)) continue;
    const base = { environment: overlay.environment, layer: overlay.layer, path: overlay.path };
    if (affected && !affected.has(id)) {
      result.push({ ...base, reason: "unchanged" });
      continue;
    }
    const blocker = firstBlocker(overlay, byKey, rows, affected, key);
    result.push(blocker ? { ...base, reason: "earlier-layer", after: blocker } : { ...base, reason: "no-report" });
  }
  return result;
}

/**
 * Why it did not run: the nearest layer it waits for (directly or not) that failed; else the
 * nearest that should have run and has no report.
 */
function firstBlocker(
  overlay: PlannedOverlay,
  byKey: ReadonlyMap<string, PlannedOverlay>,
  rows: ReadonlyMap<string, CheckSummaryRow>,
  affected: ReadonlySet<string> | undefined,
  key: (environment: string, layer: string) => string,
): { layer: string; failed: boolean } | undefined {
  const seen = new Set<string>();
  const queue = [...overlay.dependsOn];
  let missing: { layer: string; failed: boolean } | undefined;
  while (queue.length > 0) {
    const layer = queue.shift()!;
    const id = key(overlay.environment, layer);
    if (seen.has(id)) continue;
    seen.add(id);
    const row = rows.get(id);
    if (row && (row.errors > 0 || !row.rendered)) return { layer, failed: true };
    if (!row && byKey.has(id) && (!affected || affected.has(id))) missing ??= { layer, failed: false };
    queue.push(...(byKey.get(id)?.dependsOn ?? []));
  }
  return missing;
}

/** One line per overlay, for the job log and (names formatted by `name`) the note. */
export function describeNotChecked(entry: NotCheckedOverlay, name: (text: string) => string = (text) => text): string {
  switch (entry.reason) {
    case "unchanged":
      return "changed-only left it out: the change cannot affect it";
    case "earlier-layer":
      return entry.after!.failed
        ? `not run: ${name(entry.after!.layer)} failed in ${name(entry.environment)}`
        : `not run: ${name(entry.after!.layer)} in ${name(entry.environment)} was not checked`;
    case "no-report":
      return "no report: its job did not run or stopped before writing one";
  }
}
