// `gitops-ci drift`, for scheduled pipelines on the main branch: diffs each environment's render
// against its cluster, writes the report, and with GitLab access keeps one issue per environment.
// An environment whose cluster could not be read leaves its issue alone: no drift is never assumed.
import path from "node:path";
import type { TaskContext } from "../../core/context.ts";
import { ToolError } from "../../core/errors.ts";
import { createGitLabDriftIssueTracker, gitLabDriftSettings, syncDriftIssue, type DriftIssueOutcome, type DriftIssueTracker } from "../../core/gitlab/drift-issues.ts";
import { formatDiffMarkdown } from "../../core/report/diff-markdown.ts";
import { formatDiffForTerminal } from "../../core/report/diff-terminal.ts";
import { diffExitCode, diffFleet, writeDiffReport, type DiffOptions, type DiffReport } from "../diff/index.ts";
import type { ExitCode } from "../../core/errors.ts";

export interface DriftOptions extends Omit<DiffOptions, "kubeContext"> {
  /** Default: GitLab's REST API when GITOPS_CI_GITLAB_TOKEN (or GITLAB_TOKEN) is set, else none. */
  issueTracker?: DriftIssueTracker;
}

export interface DriftIssueResult {
  environment: string;
  outcome: DriftIssueOutcome | "not-touched";
  url?: string;
}

export interface DriftResult {
  report: DiffReport;
  issues: DriftIssueResult[];
  exitCode: ExitCode;
}

/** Where the report goes when --out is not given (ignored by git, kept as a job artifact). */
export const DEFAULT_DRIFT_OUT_DIR = ".gitops-ci/drift";

/** GitLab's limit on an issue description is 1,048,576 characters; leave room for the wrapper text. */
const ISSUE_REPORT_LIMIT = 900_000;

export async function drift(context: TaskContext, options: DriftOptions): Promise<DriftResult> {
  const settings = options.issueTracker ? undefined : gitLabDriftSettings(context.env);
  if (settings) context.redactor.add(settings.token);
  const tracker = options.issueTracker ?? (settings ? createGitLabDriftIssueTracker(settings) : undefined);
  const report = await diffFleet(context, options, "drift");
  const outDir = path.resolve(context.cwd, options.outDir ?? DEFAULT_DRIFT_OUT_DIR);
  await writeDiffReport(context, outDir, report, "drift");
  context.output.out(options.json ? JSON.stringify(report, null, 2) : formatDiffForTerminal(report.environments));
  context.output.err(`drift report: ${path.join(outDir, "drift.md")}, ${path.join(outDir, "drift.json")}`);

  const issues: DriftIssueResult[] = [];
  if (!tracker) {
    context.output.err("no GitLab token (GITOPS_CI_GITLAB_TOKEN): drift issues are not updated");
  } else {
    for (const env of report.environments) {
      if (env.problems.length > 0) {
        context.output.err(`drift issue for ${env.environment}: not touched, the cluster could not be compared completely`);
        issues.push({ environment: env.environment, outcome: "not-touched" });
        continue;
      }
      const markdown = context.redactor.redact(formatDiffMarkdown(env.changes, { title: `Drift in ${env.environment}`, maxLength: ISSUE_REPORT_LIMIT }));
      try {
        const { outcome, issue } = await syncDriftIssue(tracker, {
          environment: env.environment,
          changes: env.changes,
          report: markdown,
          ...(context.env["CI_JOB_URL"] ? { jobUrl: context.env["CI_JOB_URL"] } : {}),
        });
        context.output.err(`drift issue for ${env.environment}: ${outcome}${issue ? ` (#${issue.iid} ${issue.webUrl})` : ""}`);
        issues.push({ environment: env.environment, outcome, ...(issue ? { url: issue.webUrl } : {}) });
      } catch (error) {
        throw gitLabError(error, settings?.url);
      }
    }
  }
  return { report, issues, exitCode: diffExitCode(report) };
}

/** gitbeaker's request errors carry the response; say what GitLab answered. */
function gitLabError(error: unknown, url: string | undefined): unknown {
  if (!(error instanceof Error) || error instanceof ToolError) return error;
  const cause = (error as { cause?: { description?: string; response?: { status?: number } } }).cause;
  const status = cause?.response?.status;
  const hint = status === 401 ? ": the token is invalid or expired" : status === 403 ? ": the token needs the api scope and at least the Reporter role to manage issues" : "";
  return new ToolError(`GitLab API request for the drift issue failed${status ? ` (${status})` : ""}${hint}: ${cause?.description ?? error.message}`, {
    command: `GitLab REST API ${url ?? ""}`.trim(),
    cause: error,
  });
}
