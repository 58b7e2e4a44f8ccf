// Findings as a GitLab Code Quality report (artifacts:reports:codequality), so the merge request
// widget shows which findings the change introduced or resolved, and the diff marks the lines.
//
// The format is GitLab's subset of the Code Climate spec (docs.gitlab.com/ci/testing/code_quality,
// "Implement a custom tool"): an array of {description, check_name, fingerprint, severity,
// location.path, location.lines.begin}. GitLab validates each entry against its own schema
// (app/validators/json_schemas/codeclimate.json: description, fingerprint, severity and location
// required), drops what fails, and keys what remains by fingerprint: two entries with one
// fingerprint become one, and the widget's new/resolved lists are fingerprint differences between
// the source and target branches.
import { createHash } from "node:crypto";
import { describeResource, type Finding, type ResourceRef, type Severity } from "../model/findings.ts";
import { compareFindings, scopeLabel, stripAnsi, type CheckSummaryRow } from "./summary.ts";

export type CodeQualitySeverity = "info" | "minor" | "major" | "critical" | "blocker";

export interface CodeQualityIssue {
  description: string;
  check_name: string;
  fingerprint: string;
  severity: CodeQualitySeverity;
  location: { path: string; lines: { begin: number } };
  /** Code Climate's Markdown body; GitLab ignores it, other Code Climate readers show it. */
  content?: { body: string };
}

export interface CodeQualityOptions {
  /**
   * Overlays, so a finding without a file points at its overlay's directory rather than nowhere.
   */
  summary?: readonly CheckSummaryRow[];
  /**
   * Path for findings that name neither a file nor an overlay (fleet-wide problems). GitLab's schema
   * only asks for a string; the repository root `.` is honest about there being no file.
   */
  fallbackPath?: string;
}

/**
 * An error blocks the merge, but `critical`/`blocker` are what security scanners use; `major` /
 * `minor` is how linters (ESLint's GitLab formatter among them) rank errors and warnings, so our
 * findings sort sensibly next to theirs in a shared report.
 */
export const CODE_QUALITY_SEVERITY: Readonly<Record<Severity, CodeQualitySeverity>> = { error: "major", warning: "minor", info: "info" };

export function formatCodeQuality(findings: readonly Finding[], options: CodeQualityOptions = {}): string {
  return `${JSON.stringify(toCodeQualityIssues(findings, options), null, 2)}\n`;
}

export function toCodeQualityIssues(findings: readonly Finding[], options: CodeQualityOptions = {}): CodeQualityIssue[] {
  const occurrences = new Map<string, number>();
  return [...findings].sort(compareFindings).map((finding) => {
    const path = locate(finding, options);
    const material = fingerprintMaterial(finding, path);
    // Identical findings (same check, place, resource and message) stay distinct issues: the
    // second and later ones get an occurrence number, the first keeps the plain fingerprint.
    const occurrence = (occurrences.get(material) ?? 0) + 1;
    occurrences.set(material, occurrence);
    const issue: CodeQualityIssue = {
      description: describe(finding),
      check_name: finding.check,
      fingerprint: sha256(occurrence === 1 ? material : `${material}\u0000${occurrence}`),
      severity: CODE_QUALITY_SEVERITY[finding.severity],
      location: { path, lines: { begin: finding.line && finding.line > 0 ? Math.trunc(finding.line) : 1 } },
    };
    if (finding.hint) issue.content = { body: stripAnsi(finding.hint) };
    return issue;
  });
}

/**
 * What makes a finding the same finding on another commit: the check, the file, the overlay, the
 * resource and the message. Not the line: moving a block must not turn every finding below it
 * into "new" and "resolved" in the widget. The overlay is in because one base file fails in each
 * environment separately, and GitLab would otherwise fold those into one issue.
 */
function fingerprintMaterial(finding: Finding, path: string): string {
  return JSON.stringify([
    finding.check,
    path,
    finding.layer ?? "",
    finding.environment ?? "",
    resourceKey(finding.resource),
    finding.message,
  ]);
}

function resourceKey(resource: ResourceRef | undefined): string {
  if (!resource) return "";
  return [resource.apiVersion ?? "", resource.kind, resource.namespace ?? "", resource.name].join("/");
}

function describe(finding: Finding): string {
  const scope =
    finding.layer !== undefined || finding.environment !== undefined ? `[${scopeLabel(finding.layer, finding.environment)}] ` : "";
  const resource = finding.resource ? `${describeResource(finding.resource)}: ` : "";
  // One line: the widget shows the description as a single row.
  const message = stripAnsi(finding.message)
    .replace(/\s*\r?\n\s*/g, " ")
    .trim();
  return `${scope}${resource}${message}`;
}

function locate(finding: Finding, options: CodeQualityOptions): string {
  if (finding.file) return normalizePath(finding.file);
  const overlay = options.summary?.find((row) => row.layer === finding.layer && row.environment === finding.environment);
  if (overlay) return normalizePath(overlay.path);
  return options.fallbackPath ?? ".";
}

/** Repository-relative with forward slashes and no leading `./`, as GitLab joins it onto blob URLs. */
function normalizePath(file: string): string {
  const normalized = file.replace(/\\/g, "/").replace(/^(\.\/)+/, "");
  return normalized === "" ? "." : normalized;
}

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}
