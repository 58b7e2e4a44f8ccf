// The check summary a person reads: one cluster with about a hundred Kustomizations, and three
// clusters of three layers. Grouped per cluster, columns aligned, colour that changes no width.
import { describe, expect, it } from "vitest";
import type { Finding } from "../../../core/model/findings.ts";
import type { CheckReport, OverlaySummary } from "../../../tasks/check/index.ts";
import { findingsAfterSummary, formatCheckSummary } from "../../../tasks/check/terminal-summary.ts";

const ANSI = /\x1b\[[0-9;]*m/g;

function row(environment: string, order: number, layer: string, errors = 0, warnings = 0): OverlaySummary {
  return {
    environment,
    layer,
    path: `kubernetes/apps/${layer}/app`,
    order,
    checked: true,
    rendered: true,
    objects: order * 3,
    errors,
    warnings,
  };
}

function report(summary: OverlaySummary[], findings: Finding[] = []): CheckReport {
  return {
    tool: "gitops-ci",
    root: "/repo",
    source: "flux-clusters",
    layerOrder: [...new Set(summary.map((r) => r.layer))],
    summary,
    findings,
  };
}

function finding(environment: string | undefined, layer: string | undefined, severity: Finding["severity"] = "error"): Finding {
  return {
    severity,
    check: "validate/schema",
    message: `bad object in ${layer ?? "the fleet"}`,
    ...(environment ? { environment } : {}),
    ...(layer ? { layer } : {}),
    file: "x.yaml",
  };
}

/** Where the STATUS column starts on each row (colour codes removed). */
function statusColumns(lines: readonly string[]): number[] {
  return lines.map((line) => line.replace(ANSI, "").search(/(ok|warn|FAIL)$/));
}

describe("check summary on one cluster with a hundred Kustomizations", () => {
  const rows = Array.from({ length: 100 }, (_, index) => row("home", index + 1, `app-${String(index + 1).padStart(3, "0")}`));
  rows[41]!.errors = 2;
  rows[76]!.warnings = 1;
  const findings = [finding("home", rows[41]!.layer), finding("home", rows[41]!.layer), finding("home", rows[76]!.layer, "warning")];
  const text = formatCheckSummary(report(rows, findings), { color: false, sections: false });
  const lines = text.split("\n");

  it("shows the rows worth reading and counts the rest, under the cluster's heading", () => {
    expect(lines[1]).toMatch(/^home {2}100 overlays, 15150 objects, 2 errors, 1 warning$/);
    const overlayRows = lines.filter((line) => /^\s+\d+\s+app-/.test(line));
    expect(overlayRows.map((line) => line.trim().split(/\s+/)[1])).toEqual(["app-042", "app-077"]);
    expect(lines).toContain("  (98 more in home, all ok)");
    expect(lines.at(-1)).toBe("100 overlays, 2 errors, 1 warnings");
    expect(lines.length).toBeLessThan(10);
  });

  it("aligns the header and the rows", () => {
    const header = lines[0]!;
    const overlayRows = lines.filter((line) => /^\s+\d+\s+app-/.test(line));
    expect(new Set(statusColumns(overlayRows)).size).toBe(1);
    expect(header.indexOf("STATUS")).toBe(statusColumns(overlayRows)[0]);
  });
});

describe("check summary on three clusters of three layers", () => {
  const clusters = ["dev", "staging", "prod"];
  const layers = ["controllers", "configs", "apps"];
  const rows = clusters.flatMap((cluster) =>
    layers.map((layer, index) => row(cluster, index + 1, layer, cluster === "prod" && layer === "apps" ? 1 : 0)),
  );
  const findings = [finding("prod", "apps"), finding(undefined, undefined, "warning")];
  const plain = formatCheckSummary(report(rows, findings), { color: false, sections: false });
  const coloured = formatCheckSummary(report(rows, findings), { color: true, sections: false });

  it("groups every row under its cluster, in reconcile order, with the fleet-wide row first", () => {
    const lines = plain.split("\n");
    const headings = lines.filter((line) => /^\S/.test(line) && !/^\d+ overlays/.test(line));
    expect(headings.map((line) => line.split("  ")[0])).toEqual(["dev", "staging", "prod"]);
    expect(lines[1]).toMatch(/^\s+\(fleet-wide\)\s+-\s+0\s+1\s+warn$/);
    for (const cluster of clusters) {
      const start = lines.findIndex((line) => line.startsWith(`${cluster}  `));
      expect(lines.slice(start + 1, start + 4).map((line) => line.trim().split(/\s+/).slice(0, 2).join(" "))).toEqual([
        "1 controllers",
        "2 configs",
        "3 apps",
      ]);
    }
    expect(lines.find((line) => line.startsWith("prod  "))).toBe("prod  3 overlays, 18 objects, 1 error, 0 warnings");
  });

  it("aligns columns across the clusters, and colour changes no width", () => {
    const rowLines = plain.split("\n").filter((line) => /^\s+\d+\s/.test(line));
    expect(rowLines).toHaveLength(9);
    expect(new Set(statusColumns(rowLines)).size).toBe(1);
    expect(coloured.replace(ANSI, "")).toBe(plain);
    expect(coloured).toContain("\x1b[31mFAIL\x1b[0m");
    expect(coloured).toContain("\x1b[32mok\x1b[0m");
    expect(coloured).toContain("\x1b[1mprod\x1b[0m");
  });

  it("in a GitLab job, one section per cluster holds its findings; the failing one is open", () => {
    const sectioned = formatCheckSummary(report(rows, findings), { color: false, sections: true, now: () => 1_700_000_000_000 });
    const starts = [...sectioned.matchAll(/section_start:1700000000:(\w+)(\[collapsed=true\])?/g)].map(
      (m) => `${m[1]}${m[2] ? " collapsed" : ""}`,
    );
    expect(starts).toEqual(["gitops_ci_cluster_dev collapsed", "gitops_ci_cluster_staging collapsed", "gitops_ci_cluster_prod"]);
    const prod = sectioned.slice(
      sectioned.indexOf("section_start:1700000000:gitops_ci_cluster_prod"),
      sectioned.indexOf("section_end:1700000000:gitops_ci_cluster_prod"),
    );
    expect(prod).toContain("error x.yaml [prod/apps] bad object in apps (validate/schema)");
    // The fleet-wide finding is listed after the sections, the cluster's not twice.
    expect(findingsAfterSummary(report(rows, findings), { sections: true })).toEqual([findings[1]]);
    expect(findingsAfterSummary(report(rows, findings), { sections: false })).toEqual(findings);
  });
});
