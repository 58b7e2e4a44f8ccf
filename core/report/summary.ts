// What every reporter is a function of: one row per layer × environment and the run's findings,
// and the one way findings are grouped under those rows, so each report agrees with the others.
import type { Finding, Severity } from "../model/findings.ts";

/** One overlay (layer × environment) as the check saw it. */
export interface CheckSummaryRow {
  environment: string;
  layer: string;
  /** Repository-relative path of the overlay directory. */
  path: string;
  order: number;
  rendered: boolean;
  objects: number;
  errors: number;
  warnings: number;
}

export interface CheckReportInput {
  summary: readonly CheckSummaryRow[];
  findings: readonly Finding[];
  /**
   * Check families (`render`, `validate`, …) that ran against every overlay. Without it: `render`
   * plus every family that reported something on some overlay, since the check runs every check
   * over every overlay.
   */
  checks?: readonly string[];
  layerOrder?: readonly string[];
  /** Where the layer order came from (config, Flux Kustomizations, folder convention). */
  source?: string;
}

/** Findings that are about the fleet as a whole (no layer, no environment) are grouped under this. */
export const FLEET_SCOPE = "fleet";

/** The findings of one layer × environment, or of the fleet as a whole. */
export interface FindingScope {
  /** `controllers/prod`, `apps/*` when only the layer is known, or `fleet`. */
  label: string;
  layer?: string;
  environment?: string;
  /** The overlay's summary row, when the scope is an overlay the check knew. */
  row?: CheckSummaryRow;
  findings: Finding[];
}

export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { error: 0, warning: 1, info: 2 };

export function scopeLabel(layer: string | undefined, environment: string | undefined): string {
  if (layer === undefined && environment === undefined) return FLEET_SCOPE;
  return `${layer ?? "*"}/${environment ?? "*"}`;
}

/** `validate/schema` → `validate`: the family a check id belongs to. */
export function checkFamily(check: string): string {
  const slash = check.indexOf("/");
  return slash > 0 ? check.slice(0, slash) : check;
}

/** The check families every overlay was checked for, in a stable order. */
export function performedChecks(input: Pick<CheckReportInput, "checks" | "findings">): string[] {
  if (input.checks) return unique(input.checks);
  const reported = input.findings
    .filter((finding) => finding.layer !== undefined && finding.environment !== undefined)
    .map((finding) => checkFamily(finding.check));
  return unique(["render", ...reported.sort()]);
}

/** Most severe first, then by place, so every report lists the same findings in the same order. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
    compareText(a.file ?? "", b.file ?? "") ||
    (a.line ?? 0) - (b.line ?? 0) ||
    compareText(a.check, b.check) ||
    compareText(a.message, b.message)
  );
}

/**
 * Scopes in reading order: the fleet first (its problems explain the rest), then the overlays in
 * the summary's order (passing ones too, with no findings), then scopes no row describes.
 */
export function groupByScope(input: Pick<CheckReportInput, "summary" | "findings">): FindingScope[] {
  const scopes = new Map<string, FindingScope>();
  const fleet: FindingScope = { label: FLEET_SCOPE, findings: [] };
  scopes.set(FLEET_SCOPE, fleet);
  for (const row of input.summary) {
    const label = scopeLabel(row.layer, row.environment);
    if (!scopes.has(label)) scopes.set(label, { label, ...optionalScope(row.layer, row.environment), row, findings: [] });
  }
  const strays: FindingScope[] = [];
  for (const finding of input.findings) {
    const label = scopeLabel(finding.layer, finding.environment);
    let scope = scopes.get(label);
    if (!scope) {
      scope = { label, ...optionalScope(finding.layer, finding.environment), findings: [] };
      scopes.set(label, scope);
      strays.push(scope);
    }
    scope.findings.push(finding);
  }
  for (const scope of scopes.values()) scope.findings.sort(compareFindings);
  const known = [...scopes.values()].filter((scope) => !strays.includes(scope));
  const ordered = [...known, ...strays.sort((a, b) => compareText(a.label, b.label))];
  return ordered.filter((scope) => scope !== fleet || fleet.findings.length > 0);
}

export type OverlayStatus = "passed" | "warnings" | "failed" | "not-rendered";

export function overlayStatus(row: CheckSummaryRow): OverlayStatus {
  if (!row.rendered) return "not-rendered";
  if (row.errors > 0) return "failed";
  return row.warnings > 0 ? "warnings" : "passed";
}

/** ANSI colour sequences that tools (kustomize, kubeconform) leave in their messages. */
const ANSI_SEQUENCE = /\u001b\[[0-9;?]*[ -/]*[@-~]/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI_SEQUENCE, "");
}

/** Code-unit order, not locale order: the same bytes sort the same on every runner. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

function optionalScope(layer: string | undefined, environment: string | undefined): Pick<FindingScope, "layer" | "environment"> {
  return { ...(layer !== undefined ? { layer } : {}), ...(environment !== undefined ? { environment } : {}) };
}
