// One GitLab issue per environment for drift between Git and the cluster, found again on every
// scheduled run by a hidden marker in its description: opened when drift appears, commented when
// the drift changes, closed when it is gone, reopened when it comes back.
import { createHash } from "node:crypto";
import { IssueNotes, Issues } from "@gitbeaker/rest";
import { UserError } from "../errors.ts";
import { isChange, type ObjectChange } from "../diff/model.ts";

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
    .map((change) => [change.layer, change.action, change.ref.apiVersion, change.ref.kind, change.ref.namespace ?? "", change.ref.name, change.diff ?? "", change.waitingOn ?? ""].join("\u0000"))
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
    await tracker.comment(issue.iid, `Drift is back in **${input.environment}**${seenIn}: ${drifted.length} object${drifted.length === 1 ? "" : "s"}. The description has the current report.`);
    return { outcome: "reopened", issue: reopened };
  }
  if (parseDriftMarker(issue.description)?.fingerprint === fingerprint) return { outcome: "unchanged", issue };
  const updated = await tracker.edit(issue.iid, { title, description: describe(input, fingerprint) });
  await tracker.comment(issue.iid, `The drift in **${input.environment}** changed${seenIn}:\n\n${input.report}`);
  return { outcome: "commented", issue: updated };
}

function describe(input: DriftIssueInput, fingerprint: string): string {
  const intro = fingerprint === "none"
    ? `The cluster of **${input.environment}** matches the main branch.`
    : `The cluster of **${input.environment}** no longer matches the main branch. Flux will revert these differences on its next reconcile unless Git is changed to match; objects to prune were removed from Git but are still in the cluster.`;
  return [driftMarker(input.environment, fingerprint), intro, "", input.report, "", "_Kept up to date by the scheduled `gitops-ci drift` job: do not edit the first line._"].join("\n");
}

/** Where drift issues go: GitLab URL, project and token from the job's variables. */
export interface GitLabDriftSettings {
  url: string;
  projectId: string;
  token: string;
  labels: string[];
}

/**
 * Reads the settings from the environment. Undefined when no token is set (drift then only writes
 * its report); an error naming the variables when a token is set but the rest is missing.
 */
export function gitLabDriftSettings(env: Readonly<Record<string, string | undefined>>): GitLabDriftSettings | undefined {
  const token = env["GITOPS_CI_GITLAB_TOKEN"] ?? env["GITLAB_TOKEN"];
  if (!token) return undefined;
  const url = env["GITOPS_CI_GITLAB_URL"] ?? env["CI_SERVER_URL"] ?? env["CI_API_V4_URL"]?.replace(/\/api\/v4\/?$/, "");
  const projectId = env["GITOPS_CI_GITLAB_PROJECT"] ?? env["CI_PROJECT_ID"];
  const missing = [...(url ? [] : ["CI_SERVER_URL (or GITOPS_CI_GITLAB_URL)"]), ...(projectId ? [] : ["CI_PROJECT_ID (or GITOPS_CI_GITLAB_PROJECT)"])];
  if (missing.length > 0) throw new UserError(`a GitLab token is set but ${missing.join(" and ")} ${missing.length === 1 ? "is" : "are"} not`, { hint: "drift runs in a GitLab CI job, where GitLab sets both; elsewhere set them yourself" });
  const labels = (env["GITOPS_CI_DRIFT_LABELS"] ?? "gitops-drift").split(",").map((label) => label.trim()).filter(Boolean);
  return { url: url!, projectId: projectId!, token, labels };
}

interface IssueRecord {
  iid: number;
  state: string;
  title: string;
  description: string | null;
  web_url: string;
  updated_at: string;
}

/** The tracker over GitLab's REST API v4 (issues and issue notes) through @gitbeaker/rest. */
export function createGitLabDriftIssueTracker(settings: GitLabDriftSettings): DriftIssueTracker {
  const options = { host: settings.url, token: settings.token };
  const issues = new Issues(options);
  const notes = new IssueNotes(options);
  const toIssue = (record: IssueRecord): DriftIssue => ({
    iid: record.iid,
    state: record.state === "closed" ? "closed" : "opened",
    title: record.title,
    description: record.description ?? "",
    webUrl: record.web_url,
    updatedAt: record.updated_at,
  });
  return {
    async listDriftIssues() {
      const records = await issues.all({ projectId: settings.projectId, labels: settings.labels.join(","), perPage: 100, orderBy: "updated_at", sort: "desc" });
      return (records as unknown as IssueRecord[]).map(toIssue);
    },
    async create(title, description) {
      return toIssue((await issues.create(settings.projectId, title, { description, labels: settings.labels.join(",") })) as unknown as IssueRecord);
    },
    async edit(iid, change) {
      return toIssue((await issues.edit(settings.projectId, iid, change)) as unknown as IssueRecord);
    },
    async comment(iid, body) {
      await notes.create(settings.projectId, iid, body);
    },
  };
}
