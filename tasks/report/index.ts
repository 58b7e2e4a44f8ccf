// `gitops-ci report`: the pipeline's last job. Reads the report.json (and diff.json) of every job
// it gathered, builds one merge request note, keeps the full note as an artifact, and posts the
// note (split into parts when it is too long) so the merge request always shows one current report.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { TaskContext } from "../../core/context.ts";
import { ExitCode, UserError } from "../../core/errors.ts";
import {
  describeCiEnvironmentProblems,
  readCiLinks,
  readMergeRequestCiEnvironment,
  TOKEN_VARIABLES,
  type CiLinks,
} from "../../core/gitlab/ci-environment.ts";
import { openGitLabClient } from "../../core/gitlab/task-client-options.ts";
import { composeNoteBody, upsertReportNotes, type ReportRun, type UpsertReportNotesResult } from "../../core/gitlab/merge-request-note.ts";
import { splitNote } from "../../core/gitlab/note-splitting.ts";
import { changedSelection } from "../../core/changes/changed-selection.ts";
import { discoverFleet } from "../../core/fleet/discover.ts";
import { formatJson } from "../../core/report/json.ts";
import { buildMergeRequestNote } from "../../core/report/merge-request-note.ts";
import { describeNotChecked, overlaysNotChecked, type NotCheckedOverlay } from "../../core/report/not-checked.ts";
import type { CheckSummaryRow } from "../../core/report/summary.ts";
import { mergeReportSources, readReportSources } from "./inputs.ts";

/** Files the report job leaves in its artifacts; the note links the first. */
export const REPORT_ARTIFACTS = { note: "merge-request-note.md", merged: "report.json" } as const;

export interface ReportOptions {
  /** Folders written by `check --out` (and `diff --out`), one per job. */
  from: readonly string[];
  /** Write the note(s) to this file instead of posting: no request is made. */
  dryRun?: string;
  /** Where the full note and the merged report.json go; the job must keep it as an artifact. */
  outDir?: string;
  /** Tells this report's notes from other reports on the same merge request. */
  key?: string;
  /** The fleet folder: every overlay of its plan without a report is listed as not checked, and why. */
  plan?: string;
  configFile?: string;
  /** changed-only: overlays the change since this revision cannot affect were left out on purpose. */
  changedSince?: string;
}

export interface ReportResult {
  exitCode: ExitCode;
  /** The note's parts exactly as posted (or written by --dry-run), markers included. */
  bodies: string[];
  posted?: UpsertReportNotesResult;
}

export const DEFAULT_REPORT_DIR = "gitops-ci-report";
export const DEFAULT_REPORT_KEY = "default";

export async function report(context: TaskContext, options: ReportOptions): Promise<ReportResult> {
  const key = options.key ?? DEFAULT_REPORT_KEY;
  const merged = mergeReportSources(await readReportSources(context.cwd, options.from));
  const notChecked = options.plan !== undefined ? await notCheckedOfPlan(context, options, merged.check.summary) : undefined;
  const input = notChecked ? { ...merged, notChecked } : merged;
  const links = readCiLinks(context.env);
  registerKnownSecrets(context);

  const outDir = path.resolve(context.cwd, options.outDir ?? DEFAULT_REPORT_DIR);
  const notePath = path.join(outDir, REPORT_ARTIFACTS.note);
  const fullReportUrl = artifactUrl(context, links, notePath);
  const note = buildMergeRequestNote(input, {
    ...(links.pipelineUrl ? { pipelineUrl: links.pipelineUrl } : {}),
    ...(links.pipelineId !== undefined ? { pipelineId: links.pipelineId } : {}),
    ...(fullReportUrl ? { fullReportUrl } : {}),
  });
  // Redacted before splitting, so a mask that lengthens a line is counted against the note limit.
  const safeNote = context.redactor.redact(note);
  await mkdir(outDir, { recursive: true });
  await writeFile(notePath, safeNote);
  await writeFile(path.join(outDir, REPORT_ARTIFACTS.merged), context.redactor.redact(formatJson(input.check)));

  const parts = splitNote(safeNote, { ...(fullReportUrl ? { fullReportUrl } : {}), title: "gitops-ci report" });
  const run: ReportRun = {
    ...(links.pipelineId !== undefined ? { pipelineId: links.pipelineId } : {}),
    ...(links.jobId !== undefined ? { jobId: links.jobId } : {}),
  };
  const bodies = parts.map((part, index) => composeNoteBody(key, index + 1, parts.length, part, run));

  if (options.dryRun !== undefined) {
    const file = path.resolve(context.cwd, options.dryRun);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, context.redactor.redact(joinForDryRun(bodies)));
    context.output.out(`Dry run: wrote the merge request note (${describeParts(bodies)}) to ${options.dryRun}; nothing was posted.`);
    return { exitCode: ExitCode.ok, bodies };
  }

  const ci = readMergeRequestCiEnvironment(context.env);
  if (!ci.ok) {
    const { message, hint } = describeCiEnvironmentProblems(ci);
    throw new UserError(message, { hint });
  }
  const environment = ci.environment;
  const client = openGitLabClient(context, {
    apiUrl: environment.apiUrl,
    token: environment.token,
    tokenVariable: environment.tokenVariable,
  });
  const target = { projectId: environment.projectId, mergeRequestIid: environment.mergeRequestIid };

  // Fails early, with GitLab's 404 explained, when the project or merge request is not visible.
  const mergeRequest = await client.showMergeRequest(target);
  const posted = await upsertReportNotes(client, { ...target, marker: key, bodies: parts, run, log: (text) => context.output.err(text) });

  if (posted.outcome === "superseded") {
    context.output.out(`Not posted: a later pipeline's report is already on merge request !${mergeRequest.iid}; it was left as it is.`);
  } else {
    const actions = posted.notes.map(
      (entry) =>
        `part ${entry.part} ${entry.action}${mergeRequest.web_url ? ` (${mergeRequest.web_url}#note_${entry.id})` : ` (note ${entry.id})`}`,
    );
    const removed =
      posted.deleted.length > 0
        ? `; removed ${posted.deleted.length} stale or duplicate note${posted.deleted.length === 1 ? "" : "s"}`
        : "";
    context.output.out(`Posted the report to merge request !${mergeRequest.iid}: ${actions.join(", ")}${removed}.`);
  }
  return { exitCode: ExitCode.ok, bodies, posted };
}

/** The plan's overlays without a report, each with its reason, told in the job log too. */
async function notCheckedOfPlan(
  context: TaskContext,
  options: ReportOptions,
  summary: readonly CheckSummaryRow[],
): Promise<NotCheckedOverlay[]> {
  const root = path.resolve(context.cwd, options.plan!);
  const { fleet, config } = await discoverFleet(context, root, options.configFile ? { configFile: options.configFile } : {});
  let affected: Set<string> | undefined;
  if (options.changedSince) {
    // The selection the check jobs made with the same --changed-since.
    const { affected: picked } = await changedSelection(context, fleet, options.changedSince, config?.file);
    affected = new Set(picked.map(({ overlay }) => `${overlay.environment}/${overlay.layer}`));
  }
  const entries = overlaysNotChecked(fleet.overlays, summary, affected);
  const missed = entries.filter((entry) => entry.reason !== "unchanged");
  context.output.err(
    `Plan: ${fleet.overlays.length} overlays, ${summary.length} checked, ${entries.length - missed.length} left out by changed-only, ${missed.length} not checked`,
  );
  for (const entry of missed) context.output.err(`  ${entry.environment}/${entry.layer}: ${describeNotChecked(entry)}`);
  return entries;
}

/**
 * Secrets this job itself can know: the GitLab token (whatever variable holds it) and the SOPS age
 * key. Secret values the check and diff jobs saw were masked in their artifacts before they were
 * written; Secret diffs are never shown at all.
 */
function registerKnownSecrets(context: TaskContext): void {
  for (const name of [...TOKEN_VARIABLES, "CI_JOB_TOKEN", "SOPS_AGE_KEY"]) {
    const value = context.env[name];
    if (value && value.trim().length >= 8) context.redactor.add(value);
  }
}

/** `<CI_JOB_URL>/artifacts/file/<path>`, the path relative to the project folder the artifacts are taken from. */
function artifactUrl(context: TaskContext, links: CiLinks, file: string): string | undefined {
  if (!links.jobUrl) return undefined;
  const projectDir = context.env["CI_PROJECT_DIR"] ?? context.cwd;
  const relative = path.relative(projectDir, file);
  if (relative.startsWith("..") || path.isAbsolute(relative)) {
    context.output.err(`warning: ${file} is outside ${projectDir}, so it cannot be a job artifact; the note will not link the full report`);
    return undefined;
  }
  return `${links.jobUrl}/artifacts/file/${relative.split(path.sep).map(encodeURIComponent).join("/")}`;
}

/** The parts exactly as they would be posted, one after another. */
function joinForDryRun(bodies: readonly string[]): string {
  if (bodies.length === 1) return bodies[0]!;
  return bodies
    .map(
      (body, index) => `${index === 0 ? "" : `\n<!-- gitops-ci dry run: note ${index + 1} of ${bodies.length} starts below -->\n`}${body}`,
    )
    .join("");
}

function describeParts(bodies: readonly string[]): string {
  const longest = Math.max(...bodies.map((body) => body.length));
  return bodies.length === 1
    ? `${longest.toLocaleString("en-US")} characters`
    : `${bodies.length} notes, the longest ${longest.toLocaleString("en-US")} characters`;
}
