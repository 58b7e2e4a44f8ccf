// One GitLab issue per environment for drift between Git and the cluster, found again on every
// scheduled run by a hidden marker in its description: opened when drift appears, commented when
// the drift changes, closed when it is gone, reopened when it comes back.
import { createHash } from "node:crypto";
import { UserError } from "../../core/errors.ts";
import { isChange, type ObjectChange } from "../../core/model/object-changes.ts";
import { TOKEN_VARIABLES, type TokenVariable } from "../../core/gitlab/ci-environment.ts";
import type { GitLabIssue, IssuesApi } from "../../core/gitlab/issues-api.ts";

export interface DriftIssue {
  iid: number;
  state: "opened" | "closed";
  title: string;
  description: string;
  webUrl: string;
  updatedAt: string;
}

/** The few issue operations drift needs; a fake in tests, GitLab's REST API v4 in CI. */
export interface DriftIssueTracker {
  /** Issues with the drift label, open and closed. */
  listDriftIssues(): Promise<DriftIssue[]>;
  create(title: string, description: string): Promise<DriftIssue>;
  edit(iid: number, change: { title?: string; description?: string; stateEvent?: "close" | "reopen" }): Promise<DriftIssue>;
  comment(iid: number, body: string): Promise<void>;
}

export type DriftIssueOutcome = "opened" | "reopened" | "commented" | "unchanged" | "closed" | "clean";

export interface DriftIssueSync {
  outcome: DriftIssueOutcome;
  issue?: DriftIssue;
}

const MARKER = /<!-- gitops-ci:drift environment=(\S+) fingerprint=([0-9a-f]+|none) -->/;

export function driftMarker(environment: string, fingerprint: string): string {
  return `<!-- gitops-ci:drift environment=${environment} fingerprint=${fingerprint} -->`;
}

export function parseDriftMarker(description: string | null | undefined): { environment: string; fingerprint: string } | undefined {
  const match = MARKER.exec(description ?? "");
  return match ? { environment: match[1]!, fingerprint: match[2]! } : undefined;
}

/** Identifies the drift itself (what differs and how), so an unchanged drift is not commented again. */
export function driftFingerprint(changes: readonly ObjectChange[]): string {
  const essence = changes
    .filter(isChange)
    .map((change) =>
      [
        change.layer,
        change.action,
        change.ref.apiVersion,
        change.ref.kind,
        change.ref.namespace ?? "",
        change.ref.name,
        change.diff ?? "",
        change.waitingOn ?? "",
      ].join("\u0000"),
    )
    .sort();
  return createHash("sha256").update(essence.join("\n")).digest("hex").slice(0, 16);
}

export interface DriftIssueInput {
  environment: string;
  changes: readonly ObjectChange[];
  /** The drift report section (Markdown), already redacted. */
  report: string;
  /** Link to the pipeline job, when known. */
  jobUrl?: string;
}

/** Brings the environment's drift issue in line with this run. */
export async function syncDriftIssue(tracker: DriftIssueTracker, input: DriftIssueInput): Promise<DriftIssueSync> {
  const drifted = input.changes.filter(isChange);
  const ours = (await tracker.listDriftIssues()).filter((issue) => parseDriftMarker(issue.description)?.environment === input.environment);
  const newestFirst = [...ours].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt) || b.iid - a.iid);
  const issue = newestFirst.find((candidate) => candidate.state === "opened") ?? newestFirst[0];
  const seenIn = input.jobUrl ? ` (${input.jobUrl})` : "";

  if (drifted.length === 0) {
    if (!issue || issue.state === "closed") return { outcome: "clean", ...(issue ? { issue } : {}) };
    await tracker.comment(issue.iid, `The cluster of **${input.environment}** matches Git again${seenIn}. Closing.`);
    const closed = await tracker.edit(issue.iid, { stateEvent: "close", description: describe(input, "none") });
    return { outcome: "closed", issue: closed };
  }

  const fingerprint = driftFingerprint(input.changes);
  const title = `Drift in ${input.environment}: ${drifted.length === 1 ? "1 object differs" : `${drifted.length} objects differ`} from Git`;
  if (!issue) return { outcome: "opened", issue: await tracker.create(title, describe(input, fingerprint)) };
  if (issue.state === "closed") {
    const reopened = await tracker.edit(issue.iid, { stateEvent: "reopen", title, description: describe(input, fingerprint) });
    await tracker.comment(
      issue.iid,
      `Drift is back in **${input.environment}**${seenIn}: ${drifted.length} object${drifted.length === 1 ? "" : "s"}. The description has the current report.`,
    );
    return { outcome: "reopened", issue: reopened };
  }
  if (parseDriftMarker(issue.description)?.fingerprint === fingerprint) return { outcome: "unchanged", issue };
  const updated = await tracker.edit(issue.iid, { title, description: describe(input, fingerprint) });
  await tracker.comment(issue.iid, `The drift in **${input.environment}** changed${seenIn}:\n\n${input.report}`);
  return { outcome: "commented", issue: updated };
}

function describe(input: DriftIssueInput, fingerprint: string): string {
  const intro =
    fingerprint === "none"
      ? `The cluster of **${input.environment}** matches the main branch.`
      : `The cluster of **${input.environment}** no longer matches the main branch. Flux will revert these differences on its next reconcile unless Git is changed to match; objects to prune were removed from Git but are still in the cluster.`;
  return [
    driftMarker(input.environment, fingerprint),
    intro,
    "",
    input.report,
    "",
    "_Kept up to date by the scheduled `gitops-ci drift` job: do not edit the first line._",
  ].join("\n");
}

/** Where drift issues go: GitLab's API, project and token from the job's variables. */
export interface GitLabDriftSettings {
  /** CI_API_V4_URL, or the server URL with /api/v4. */
  apiUrl: string;
  projectId: string;
  token: string;
  tokenVariable: TokenVariable;
  labels: string[];
}

/** Shown when GitLab rejects the token: what drift's token needs. */
export const DRIFT_TOKEN_ADVICE =
  "create a project access token (Settings > Access tokens) with the `api` scope and at least the Reporter role, " +
  "and store it as a masked CI/CD variable named GITOPS_CI_GITLAB_TOKEN; CI_JOB_TOKEN cannot create or edit issues";

/**
 * Reads the settings from the environment. Undefined when no token is set (drift then only writes
 * its report); an error naming the variables when a token is set but the rest is missing.
 */
export function gitLabDriftSettings(env: Readonly<Record<string, string | undefined>>): GitLabDriftSettings | undefined {
  const tokenVariable = TOKEN_VARIABLES.find((name) => env[name]);
  if (!tokenVariable) return undefined;
  const serverUrl = env["GITOPS_CI_GITLAB_URL"] ?? env["CI_SERVER_URL"];
  const apiUrl = serverUrl ? `${serverUrl.replace(/\/+$/, "")}/api/v4` : env["CI_API_V4_URL"]?.replace(/\/+$/, "");
  const projectId = env["GITOPS_CI_GITLAB_PROJECT"] ?? env["CI_PROJECT_ID"];
  const missing = [
    ...(apiUrl ? [] : ["CI_SERVER_URL (or GITOPS_CI_GITLAB_URL)"]),
    ...(projectId ? [] : ["CI_PROJECT_ID (or GITOPS_CI_GITLAB_PROJECT)"]),
  ];
  if (missing.length > 0)
    throw new UserError(`a GitLab token is set but ${missing.join(" and ")} ${missing.length === 1 ? "is" : "are"} not`, {
      hint: "drift runs in a GitLab CI job, where GitLab sets both; elsewhere set them yourself",
    });
  const labels = (env["GITOPS_CI_DRIFT_LABELS"] ?? "gitops-drift")
    .split(",")
    .map((label) => label.trim())
    .filter(Boolean);
  return { apiUrl: apiUrl!, projectId: projectId!, token: env[tokenVariable]!, tokenVariable, labels };
}

/**
 * The tracker over GitLab's issues API (the client's, with its retries). Drift issues are found by
 * their labels and told apart by the marker in their description; GitLab's `search` is not used
 * for that, since it matches words of a full-text index, not a hidden comment.
 */
export function createGitLabDriftIssueTracker(
  api: IssuesApi,
  settings: Pick<GitLabDriftSettings, "projectId" | "labels">,
): DriftIssueTracker {
  return {
    async listDriftIssues() {
      return (await api.listIssues(settings.projectId, { labels: settings.labels, state: "all" })).map(toDriftIssue);
    },
    async create(title, description) {
      return toDriftIssue(await api.createIssue(settings.projectId, { title, description, labels: settings.labels }));
    },
    async edit(iid, change) {
      return toDriftIssue(await api.editIssue(settings.projectId, iid, change));
    },
    async comment(iid, body) {
      await api.createIssueNote(settings.projectId, iid, body);
    },
  };
}

function toDriftIssue(issue: GitLabIssue): DriftIssue {
  return {
    iid: issue.iid,
    state: issue.state,
    title: issue.title,
    description: issue.description,
    webUrl: issue.web_url,
    updatedAt: issue.updated_at,
  };
}
