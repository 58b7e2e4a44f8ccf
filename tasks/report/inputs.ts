// The report job's inputs: the report.json (and diff.json, when a diff ran) of every job whose
// artifacts the pipeline's final report job gathered, read with errors that name the file, and
// merged into one report.
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../../core/errors.ts";
import type { Finding, ResourceRef, Severity } from "../../core/model/findings.ts";
import { REPORT_SCHEMA_VERSION } from "../../core/report/json.ts";
import type { GitDiffReport } from "../../core/diff/git-diff.ts";
import type { MergeRequestNoteInput, ObjectChange } from "../../core/report/merge-request-note.ts";
import type { CheckReportInput, CheckSummaryRow } from "../../core/report/summary.ts";
import { REPORT_FILES } from "../../core/report/write-reports.ts";
import { isRecord } from "../../core/yaml-file.ts";

/** What `gitops-ci diff --out DIR` writes beside report.json. */
export const DIFF_FILE = "diff.json";

/** What `gitops-ci diff --against REV --out DIR` writes. */
export const GIT_DIFF_FILE = "git-diff.json";

export interface ReportSource {
  dir: string;
  check?: CheckReportInput;
  diff?: ParsedDiff;
  gitDiff?: GitDiffReport;
}

export async function readReportSources(cwd: string, dirs: readonly string[]): Promise<ReportSource[]> {
  if (dirs.length === 0)
    throw new UserError("--from is required", { hint: "gitops-ci report --from check-artifacts/ [--from diff-artifacts/ ...]" });
  return Promise.all(
    dirs.map(async (dir): Promise<ReportSource> => {
      const root = path.resolve(cwd, dir);
      const folder = await stat(root).catch(() => undefined);
      if (!folder?.isDirectory()) {
        throw new UserError(`--from ${dir}: no such folder`, {
          hint: "list the check jobs' artifact folders with needs: or dependencies: in the report job",
        });
      }
      const checkFile = path.join(root, REPORT_FILES.json);
      const diffFile = path.join(root, DIFF_FILE);
      const gitDiffFile = path.join(root, GIT_DIFF_FILE);
      const [checkText, diffText, gitDiffText] = await Promise.all([
        readOptional(checkFile),
        readOptional(diffFile),
        readOptional(gitDiffFile),
      ]);
      if (checkText === undefined && diffText === undefined && gitDiffText === undefined) {
        throw new UserError(`${dir} holds none of ${REPORT_FILES.json}, ${DIFF_FILE} and ${GIT_DIFF_FILE}`, {
          hint: "point --from at the folder a job wrote with `gitops-ci check --out DIR`, and list that folder in the job's artifacts:paths",
        });
      }
      return {
        dir,
        ...(checkText !== undefined ? { check: parseCheckReport(checkText, checkFile) } : {}),
        ...(diffText !== undefined ? { diff: parseChanges(diffText, diffFile) } : {}),
        ...(gitDiffText !== undefined ? { gitDiff: parseGitDiff(gitDiffText, gitDiffFile) } : {}),
      };
    }),
  );
}

/** One report from many jobs: overlays and findings once each, in layer order. */
export function mergeReportSources(sources: readonly ReportSource[]): MergeRequestNoteInput {
  const checks = sources.flatMap((source) => (source.check ? [source.check] : []));
  // The most complete order first: a job that checked only some layers knows only their order.
  const layerOrder = unique(
    [...checks].sort((a, b) => (b.layerOrder?.length ?? 0) - (a.layerOrder?.length ?? 0)).flatMap((check) => check.layerOrder ?? []),
  );
  const rank = (layer: string) => (layerOrder.includes(layer) ? layerOrder.indexOf(layer) : layerOrder.length);

  const rows = new Map<string, CheckSummaryRow>();
  for (const check of checks)
    for (const row of check.summary)
      if (!rows.has(`${row.layer}\u0000${row.environment}`)) rows.set(`${row.layer}\u0000${row.environment}`, row);
  const summary = [...rows.values()].sort(
    (a, b) => rank(a.layer) - rank(b.layer) || a.order - b.order || compareText(a.environment, b.environment),
  );

  const findings = uniqueBy(
    [...checks.flatMap((check) => check.findings), ...sources.flatMap((source) => source.diff?.problems ?? [])],
    (finding) =>
      JSON.stringify([
        finding.severity,
        finding.check,
        finding.layer,
        finding.environment,
        finding.resource,
        finding.file,
        finding.line,
        finding.message,
        finding.hint,
      ]),
  );
  const families = checks.every((check) => check.checks) ? unique(checks.flatMap((check) => check.checks ?? [])) : undefined;
  const origins = unique(checks.flatMap((check) => (check.source ? [check.source] : [])));
  const check: CheckReportInput = {
    summary,
    findings,
    ...(families ? { checks: families } : {}),
    ...(layerOrder.length > 0 ? { layerOrder } : {}),
    ...(origins.length > 0 ? { source: origins.join(", ") } : {}),
  };

  // One `diff --against` covers every cluster: the first one read is the merge request's.
  const gitDiff = sources.find((source) => source.gitDiff)?.gitDiff;
  const diffs = sources.filter((source) => source.diff);
  if (diffs.length === 0) return { check, ...(gitDiff ? { gitDiff } : {}) };
  const changes = uniqueBy(
    diffs.flatMap((source) => source.diff?.changes ?? []),
    (change) =>
      JSON.stringify([
        change.layer,
        change.environment,
        change.ref.apiVersion,
        change.ref.kind,
        change.ref.namespace,
        change.ref.name,
        change.action,
      ]),
  );
  return { check, changes, ...(gitDiff ? { gitDiff } : {}) };
}

/** git-diff.json as `diff --against --out` writes it; its shape is checked where the note reads it. */
export function parseGitDiff(text: string, file: string): GitDiffReport {
  const document = parseJson(text, file);
  if (!isRecord(document) || document["tool"] !== "gitops-ci" || document["command"] !== "diff --against")
    throw invalid(file, 'is not a gitops-ci git-diff.json (no "command": "diff --against")');
  for (const key of ["clusters", "risks", "changes", "problems"]) arrayField(document, key, file);
  const against = document["against"];
  if (!isRecord(against) || typeof against["rev"] !== "string" || typeof against["base"] !== "string")
    throw invalid(file, 'has no "against" revision');
  if (!isRecord(document["rendered"])) throw invalid(file, 'has no "rendered" counts');
  (document["changes"] as unknown[]).forEach((change, index) => {
    const where = `${file}: changes[${index}]`;
    if (!isRecord(change)) throw invalid(where, "is not an object");
    for (const key of ["cluster", "layer", "kustomization", "action"]) stringField(change, key, where);
    resourceRef(change["ref"], `${where}.ref`);
    if (change["fields"] !== undefined && !Array.isArray(change["fields"])) throw invalid(where, 'has "fields" that is not a list');
  });
  return document as unknown as GitDiffReport;
}

// Parsing. Every field is checked and copied, so a malformed or foreign file fails here, by name.

export function parseCheckReport(text: string, file: string): CheckReportInput {
  const document = parseJson(text, file);
  if (!isRecord(document) || document["tool"] !== "gitops-ci")
    throw invalid(file, 'is not a gitops-ci report.json (no "tool": "gitops-ci")');
  const version = document["schemaVersion"];
  if (typeof version !== "number") throw invalid(file, "has no schemaVersion");
  if (version > REPORT_SCHEMA_VERSION) {
    throw new UserError(`${file} has schemaVersion ${version}, newer than this gitops-ci reads (${REPORT_SCHEMA_VERSION})`, {
      hint: "run the report job with the same gitops-ci image as the check jobs",
    });
  }
  const summary = arrayField(document, "summary", file).map((row, index) => summaryRow(row, `${file}: summary[${index}]`));
  const findings = arrayField(document, "findings", file).map((finding, index) => parseFinding(finding, `${file}: findings[${index}]`));
  const checks = optionalStrings(document["checks"], `${file}: checks`);
  const layerOrder = optionalStrings(document["layerOrder"], `${file}: layerOrder`);
  return {
    summary,
    findings,
    ...(checks ? { checks } : {}),
    ...(layerOrder ? { layerOrder } : {}),
    ...(typeof document["source"] === "string" ? { source: document["source"] } : {}),
  };
}

const ACTIONS: readonly ObjectChange["action"][] = ["create", "update", "unchanged", "prune", "skip", "wait"];

export interface ParsedDiff {
  changes: ObjectChange[];
  /** The diff's problems (what kept it from being complete): findings of its `diff/*` checks. */
  problems: Finding[];
}

/**
 * diff.json as `gitops-ci diff --out DIR` writes it (`{"environments": [{"changes": [...],
 * "problems": [...]}, ...]}`); a bare `{"changes": [...]}` or array of changes is read too.
 */
export function parseChanges(text: string, file: string): ParsedDiff {
  const document = parseJson(text, file);
  let items: unknown[];
  let problems: unknown[] = [];
  if (Array.isArray(document)) items = document;
  else if (isRecord(document) && Array.isArray(document["environments"])) {
    const environments = document["environments"].filter(isRecord);
    items = environments.flatMap((environment): unknown[] => (Array.isArray(environment["changes"]) ? environment["changes"] : []));
    problems = environments.flatMap((environment): unknown[] => (Array.isArray(environment["problems"]) ? environment["problems"] : []));
  } else if (isRecord(document) && Array.isArray(document["changes"])) items = document["changes"];
  else throw invalid(file, 'has neither "environments" nor "changes"');

  const changes = items.map((item, index) => {
    const where = `${file}: changes[${index}]`;
    if (!isRecord(item)) throw invalid(where, "is not an object");
    const action = item["action"];
    if (typeof action !== "string" || !ACTIONS.includes(action as ObjectChange["action"]))
      throw invalid(where, `has an unknown action ${JSON.stringify(action)}`);
    const ref = resourceRef(item["ref"], `${where}.ref`);
    const change: ObjectChange = {
      layer: stringField(item, "layer", where),
      environment: stringField(item, "environment", where),
      ref: { ...ref, apiVersion: ref.apiVersion ?? "" },
      action: action as ObjectChange["action"],
    };
    for (const key of ["diff", "waitingOn", "reason", "file"] as const) if (typeof item[key] === "string") change[key] = item[key];
    return change;
  });
  return {
    changes,
    problems: problems.map((problem, index) => {
      const where = `${file}: problems[${index}]`;
      if (!isRecord(problem)) throw invalid(where, "is not an object");
      // Findings of `diff/*` checks since diff wrote problems as findings; before, without severity and check.
      if (problem["severity"] !== undefined) return parseFinding(problem, where);
      const finding: Finding = {
        severity: "error",
        check: "diff/incomplete",
        environment: stringField(problem, "environment", where),
        message: stringField(problem, "message", where),
      };
      if (typeof problem["layer"] === "string") finding.layer = problem["layer"];
      if (problem["ref"] !== undefined) finding.resource = resourceRef(problem["ref"], `${where}.ref`);
      if (typeof problem["hint"] === "string") finding.hint = problem["hint"];
      return finding;
    }),
  };
}

function summaryRow(value: unknown, where: string): CheckSummaryRow {
  if (!isRecord(value)) throw invalid(where, "is not an object");
  return {
    environment: stringField(value, "environment", where),
    layer: stringField(value, "layer", where),
    path: stringField(value, "path", where),
    order: numberField(value, "order", where),
    rendered: value["rendered"] === true,
    objects: numberField(value, "objects", where),
    errors: numberField(value, "errors", where),
    warnings: numberField(value, "warnings", where),
  };
}

const SEVERITIES: readonly Severity[] = ["error", "warning", "info"];

function parseFinding(value: unknown, where: string): Finding {
  if (!isRecord(value)) throw invalid(where, "is not an object");
  const severity = value["severity"];
  if (typeof severity !== "string" || !SEVERITIES.includes(severity as Severity))
    throw invalid(where, `has an unknown severity ${JSON.stringify(severity)}`);
  const finding: Finding = {
    severity: severity as Severity,
    check: stringField(value, "check", where),
    message: stringField(value, "message", where),
  };
  for (const key of ["layer", "environment", "file", "hint"] as const) if (typeof value[key] === "string") finding[key] = value[key];
  if (typeof value["line"] === "number") finding.line = value["line"];
  if (value["resource"] !== undefined) finding.resource = resourceRef(value["resource"], `${where}.resource`);
  return finding;
}

function resourceRef(value: unknown, where: string): ResourceRef {
  if (!isRecord(value)) throw invalid(where, "is not an object");
  const ref: ResourceRef = { kind: stringField(value, "kind", where), name: stringField(value, "name", where) };
  if (typeof value["apiVersion"] === "string") ref.apiVersion = value["apiVersion"];
  if (typeof value["namespace"] === "string") ref.namespace = value["namespace"];
  return ref;
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UserError(`${file} is not valid JSON: ${(error as Error).message}`, {
      hint: "was the job that wrote it cancelled mid-write?",
      cause: error,
    });
  }
}

function arrayField(record: Record<string, unknown>, key: string, where: string): unknown[] {
  const value = record[key];
  if (!Array.isArray(value)) throw invalid(where, `has no "${key}" array`);
  return value;
}

function stringField(record: Record<string, unknown>, key: string, where: string): string {
  const value = record[key];
  if (typeof value !== "string") throw invalid(where, `has no string "${key}"`);
  return value;
}

function numberField(record: Record<string, unknown>, key: string, where: string): number {
  const value = record[key];
  if (typeof value !== "number") throw invalid(where, `has no number "${key}"`);
  return value;
}

function optionalStrings(value: unknown, where: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) throw invalid(where, "is not a list of strings");
  return value;
}

function invalid(where: string, what: string): UserError {
  return new UserError(`${where} ${what}`, {
    hint: "the file must be written by `gitops-ci check --out DIR` or `gitops-ci diff --out DIR`",
  });
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new UserError(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

function uniqueBy<T>(values: readonly T[], key: (value: T) => string): T[] {
  const seen = new Set<string>();
  return values.filter((value) => {
    const id = key(value);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
