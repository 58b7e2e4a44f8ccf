import { describe, expect, it } from "vitest";
import { buildMergeRequestNote } from "../../../core/report/merge-request-note.ts";
import { describeNotChecked, overlaysNotChecked, type PlannedOverlay } from "../../../core/report/not-checked.ts";
import type { CheckSummaryRow } from "../../../core/report/summary.ts";

const LAYERS = [
  ["controllers", []],
  ["configs", ["controllers"]],
  ["apps", ["configs"]],
] as const;
const plan: PlannedOverlay[] = ["staging", "prod"].flatMap((environment) =>
  LAYERS.map(([layer, dependsOn]) => ({ environment, layer, path: `${layer}/overlays/${environment}`, dependsOn })),
);
const row = (environment: string, layer: string, errors = 0): CheckSummaryRow => ({
  environment,
  layer,
  path: `${layer}/overlays/${environment}`,
  order: 1,
  rendered: errors === 0,
  objects: 3,
  errors,
  warnings: 0,
});

describe("overlaysNotChecked", () => {
  it("names the failed layer an environment's later layers waited for, and nothing of the other environment", () => {
    const entries = overlaysNotChecked(plan, [
      row("prod", "controllers", 2),
      row("staging", "controllers"),
      row("staging", "configs"),
      row("staging", "apps"),
    ]);
    expect(entries.map((entry) => [`${entry.environment}/${entry.layer}`, describeNotChecked(entry)])).toEqual([
      ["prod/configs", "not run: controllers failed in prod"],
      ["prod/apps", "not run: controllers failed in prod"],
    ]);
  });

  it("tells changed-only's choice from a job that left no report", () => {
    const affected = new Set(["prod/controllers", "prod/configs", "prod/apps"]);
    const entries = overlaysNotChecked(plan, [row("prod", "controllers"), row("prod", "apps")], affected);
    expect(entries.map((entry) => [`${entry.environment}/${entry.layer}`, entry.reason])).toEqual([
      ["staging/controllers", "unchanged"],
      ["staging/configs", "unchanged"],
      ["staging/apps", "unchanged"],
      ["prod/configs", "no-report"],
    ]);
  });

  it("an overlay after one that has no report waited for it", () => {
    const entries = overlaysNotChecked(
      plan.filter((overlay) => overlay.environment === "prod"),
      [row("prod", "controllers")],
    );
    expect(entries.map((entry) => describeNotChecked(entry))).toEqual([
      "no report: its job did not run or stopped before writing one",
      "not run: configs in prod was not checked",
    ]);
  });

  it("names the failed layer, not the one between that waited for it too", () => {
    const entries = overlaysNotChecked(
      plan.filter((overlay) => overlay.environment === "prod"),
      [row("prod", "controllers", 1)],
    );
    expect(entries.map((entry) => describeNotChecked(entry))).toEqual([
      "not run: controllers failed in prod",
      "not run: controllers failed in prod",
    ]);
  });

  it("in the note: a warning heading, the missed overlays listed, changed-only's folded", () => {
    const summary = [row("prod", "controllers")];
    const notChecked = overlaysNotChecked(plan, summary, new Set(["prod/controllers", "prod/configs", "prod/apps"]));
    const note = buildMergeRequestNote({ check: { summary, findings: [] }, notChecked });
    expect(note.split("\n")[0]).toBe("### ⚠️ gitops-ci: 1 overlay checked; 2 not checked");
    expect(note).toContain(
      "#### ⏭️ Not checked (2)\n\n- `prod/configs` (`configs/overlays/prod`): no report: its job did not run or stopped before writing one\n- `prod/apps` (`apps/overlays/prod`): not run: `configs` in `prod` was not checked",
    );
    expect(note).toContain("<details><summary>3 overlays not checked: the change cannot affect them (changed-only)</summary>");
  });
});
