// One shape for every problem any check finds, so each reporter is a function of the same list.

export type Severity = "error" | "warning" | "info";

export interface ResourceRef {
  apiVersion?: string;
  kind: string;
  namespace?: string;
  name: string;
}

export interface Finding {
  severity: Severity;
  /** Stable id of the check, e.g. `fleet/dependency-cycle`, `validate/schema`. */
  check: string;
  message: string;
  layer?: string;
  environment?: string;
  resource?: ResourceRef;
  /** Repository-relative path of the file at fault. */
  file?: string;
  line?: number;
  hint?: string;
}

export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((finding) => finding.severity === "error");
}

export function countBySeverity(findings: readonly Finding[]): Record<Severity, number> {
  const counts: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const finding of findings) counts[finding.severity] += 1;
  return counts;
}

export function describeResource(resource: ResourceRef): string {
  const namespace = resource.namespace ? `${resource.namespace}/` : "";
  return `${resource.kind} ${namespace}${resource.name}`;
}

export function formatLocation(finding: Pick<Finding, "file" | "line">): string {
  if (!finding.file) return "";
  return finding.line ? `${finding.file}:${finding.line}` : finding.file;
}
