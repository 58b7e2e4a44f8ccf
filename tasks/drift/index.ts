// `gitops-ci drift`, for scheduled pipelines on the main branch: diffs each environment's render
// against its cluster, writes the report, and with GitLab access keeps one issue per environment.
// An environment whose cluster could not be read leaves its issue alone: no drift is never assumed.
import path from "node:path";
import type { TaskContext } from "../../core/context.ts";
import {
  createGitLabDriftIssueTracker,
  DRIFT_TOKEN_ADVICE,
  gitLabDriftSettings,
  syncDriftIssue,
  type DriftIssueOutcome,
  type DriftIssueTracker,
} from "./drift-issues.ts";
import { openGitLabClient } from "../../core/gitlab/task-client-options.ts";
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
  const tracker = options.issueTracker ?? gitLabIssueTracker(context);
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
      const markdown = context.redactor.redact(
        formatDiffMarkdown(env.changes, { title: `Drift in ${env.environment}`, maxLength: ISSUE_REPORT_LIMIT }),
      );
      const { outcome, issue } = await syncDriftIssue(tracker, {
        environment: env.environment,
        changes: env.changes,
        report: markdown,
        ...(context.env["CI_JOB_URL"] ? { jobUrl: context.env["CI_JOB_URL"] } : {}),
      });
      context.output.err(`drift issue for ${env.environment}: ${outcome}${issue ? ` (#${issue.iid} ${issue.webUrl})` : ""}`);
      issues.push({ environment: env.environment, outcome, ...(issue ? { url: issue.webUrl } : {}) });
    }
  }
  return { report, issues, exitCode: diffExitCode(report) };
}

/** GitLab's issues through the client every task shares: its retries, GitLabApiError and redaction. */
function gitLabIssueTracker(context: TaskContext): DriftIssueTracker | undefined {
  const settings = gitLabDriftSettings(context.env);
  if (!settings) return undefined;
  const client = openGitLabClient(context, {
    apiUrl: settings.apiUrl,
    token: settings.token,
    tokenVariable: settings.tokenVariable,
    tokenAdvice: DRIFT_TOKEN_ADVICE,
  });
  return createGitLabDriftIssueTracker(client, settings);
}
