// The check as machine-readable JSON (report.json): for the report job, scripts and later runs.
// Stable: the same findings give byte-identical output whatever order the checks finished in.
import { countBySeverity, type Finding, type ResourceRef } from "../model/findings.ts";
import { compareFindings, type CheckReportInput, type CheckSummaryRow } from "./summary.ts";

/** Bumped when a field changes meaning or disappears; adding a field does not bump it. */
export const REPORT_SCHEMA_VERSION = 1;

export function formatJson(input: CheckReportInput): string {
  const totals = countBySeverity(input.findings);
  const document = {
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: "gitops-ci",
    ...(input.source !== undefined ? { source: input.source } : {}),
    ...(input.layerOrder ? { layerOrder: [...input.layerOrder] } : {}),
    ...(input.checks ? { checks: [...input.checks] } : {}),
    totals: { overlays: input.summary.length, errors: totals.error, warnings: totals.warning, info: totals.info },
    summary: input.summary.map(summaryRow),
    findings: [...input.findings].sort(compareFindings).map(finding),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

// Fields are copied one by one, in a fixed order, so extra properties on the input never leak
// into the artifact and key order never depends on how an object was built.

function summaryRow(row: CheckSummaryRow): CheckSummaryRow {
  return {
    environment: row.environment,
    layer: row.layer,
    path: row.path,
    order: row.order,
    rendered: row.rendered,
    objects: row.objects,
    errors: row.errors,
    warnings: row.warnings,
  };
}

function finding(source: Finding): Finding {
  return {
    severity: source.severity,
    check: source.check,
    message: source.message,
    ...(source.layer !== undefined ? { layer: source.layer } : {}),
    ...(source.environment !== undefined ? { environment: source.environment } : {}),
    ...(source.resource ? { resource: resource(source.resource) } : {}),
    ...(source.file !== undefined ? { file: source.file } : {}),
    ...(source.line !== undefined ? { line: source.line } : {}),
    ...(source.hint !== undefined ? { hint: source.hint } : {}),
  };
}

function resource(source: ResourceRef): ResourceRef {
  return {
    ...(source.apiVersion !== undefined ? { apiVersion: source.apiVersion } : {}),
    kind: source.kind,
    ...(source.namespace !== undefined ? { namespace: source.namespace } : {}),
    name: source.name,
  };
}
