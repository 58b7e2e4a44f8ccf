import { beforeEach, describe, expect, it } from "vitest";
import type { ObjectChange } from "../../../core/model/object-changes.ts";
import { createGitLabClient } from "../../../core/gitlab/client.ts";
import {
  createGitLabDriftIssueTracker,
  DRIFT_TOKEN_ADVICE,
  driftFingerprint,
  driftMarker,
  gitLabDriftSettings,
  parseDriftMarker,
  syncDriftIssue,
  type DriftIssue,
  type DriftIssueTracker,
} from "../../../tasks/drift/drift-issues.ts";
import type { GitLabClientOptions } from "../../../core/gitlab/request-handler.ts";
import { fakeClock, type FakeClock } from "../../core/gitlab/fake-clock.ts";
import { FakeGitLab, type FakeProject } from "../../helpers/fake-gitlab.ts";
import { startGitLab } from "../../helpers/gitlab.ts";

/** An in-memory tracker: the issue logic without HTTP (GitLab's API below, and in the cluster test). */
function memoryTracker(initial: DriftIssue[] = []) {
  const issues = [...initial];
  const comments: { iid: number; body: string }[] = [];
  let tick = 0;
  const tracker: DriftIssueTracker = {
    listDriftIssues: async () => issues.map((issue) => ({ ...issue })),
    create: async (title, description) => {
      const issue: DriftIssue = {
        iid: issues.length + 1,
        state: "opened",
        title,
        description,
        webUrl: `https://gitlab/x/${issues.length + 1}`,
        updatedAt: String(++tick).padStart(4, "0"),
      };
      issues.push(issue);
      return issue;
    },
    edit: async (iid, change) => {
      const issue = issues.find((candidate) => candidate.iid === iid)!;
      if (change.title) issue.title = change.title;
      if (change.description) issue.description = change.description;
      if (change.stateEvent) issue.state = change.stateEvent === "close" ? "closed" : "opened";
      issue.updatedAt = String(++tick).padStart(4, "0");
      return { ...issue };
    },
    comment: async (iid, body) => void comments.push({ iid, body }),
  };
  return { tracker, issues, comments };
}

const update = (name: string, diff = "-a\n+b"): ObjectChange => ({
  environment: "prod",
  layer: "apps",
  ref: { apiVersion: "v1", kind: "ConfigMap", name, namespace: "apps" },
  action: "update",
  diff,
});
const unchanged: ObjectChange = {
  environment: "prod",
  layer: "apps",
  ref: { apiVersion: "v1", kind: "Service", name: "web" },
  action: "unchanged",
};

describe("syncDriftIssue", () => {
  it("does nothing without drift and without an open issue", async () => {
    const { tracker, issues } = memoryTracker();
    expect(await syncDriftIssue(tracker, { environment: "prod", changes: [unchanged], report: "r" })).toEqual({ outcome: "clean" });
    expect(issues).toEqual([]);
  });

  it("opens, leaves alone, comments, closes and reopens the one issue of the environment", async () => {
    const other: DriftIssue = {
      iid: 99,
      state: "opened",
      title: "Drift in staging",
      description: driftMarker("staging", "aa"),
      webUrl: "",
      updatedAt: "9999",
    };
    const { tracker, issues, comments } = memoryTracker([other]);
    const sync = (changes: ObjectChange[]) =>
      syncDriftIssue(tracker, { environment: "prod", changes, report: "REPORT", jobUrl: "https://job" });

    expect((await sync([update("a"), unchanged])).outcome).toBe("opened");
    const issue = issues.find((candidate) => candidate.iid !== 99)!;
    expect(issue.title).toBe("Drift in prod: 1 object differs from Git");
    expect(parseDriftMarker(issue.description)).toEqual({ environment: "prod", fingerprint: driftFingerprint([update("a")]) });
    expect(issue.description).toContain("REPORT");

    expect((await sync([unchanged, update("a")])).outcome).toBe("unchanged");
    expect(comments).toEqual([]);

    expect((await sync([update("a", "-a\n+c"), update("b")])).outcome).toBe("commented");
    expect(issue.title).toBe("Drift in prod: 2 objects differ from Git");
    expect(comments.at(-1)!.body).toContain("The drift in **prod** changed (https://job)");

    expect((await sync([unchanged])).outcome).toBe("closed");
    expect(issue.state).toBe("closed");
    expect(comments.at(-1)!.body).toContain("matches Git again");
    expect(parseDriftMarker(issue.description)).toEqual({ environment: "prod", fingerprint: "none" });

    expect((await sync([update("a")])).outcome).toBe("reopened");
    expect(issue.state).toBe("opened");
    expect(issues).toHaveLength(2);
    expect(other).toMatchObject({ state: "opened", description: driftMarker("staging", "aa") });
  });

  it("ignores skipped and unchanged objects in the fingerprint, and is independent of order", () => {
    const skip: ObjectChange = { ...unchanged, action: "skip", reason: "x" };
    expect(driftFingerprint([update("a"), update("b"), skip])).toBe(driftFingerprint([update("b"), update("a")]));
    expect(driftFingerprint([update("a")])).not.toBe(driftFingerprint([update("a", "-a\n+z")]));
  });
});

describe("gitLabDriftSettings", () => {
  it("is off without a token, and names what is missing when a token is set", () => {
    expect(gitLabDriftSettings({ CI_SERVER_URL: "https://gitlab.example.com", CI_PROJECT_ID: "1" })).toBeUndefined();
    expect(
      gitLabDriftSettings({
        GITOPS_CI_GITLAB_TOKEN: "t",
        CI_API_V4_URL: "https://gitlab.example.com/api/v4",
        CI_PROJECT_ID: "7",
        GITOPS_CI_DRIFT_LABELS: "drift, ops",
      }),
    ).toEqual({
      apiUrl: "https://gitlab.example.com/api/v4",
      projectId: "7",
      token: "t",
      tokenVariable: "GITOPS_CI_GITLAB_TOKEN",
      labels: ["drift", "ops"],
    });
    expect(gitLabDriftSettings({ GITLAB_TOKEN: "t", CI_SERVER_URL: "https://example.com/gitlab/", CI_PROJECT_ID: "7" })).toMatchObject({
      apiUrl: "https://example.com/gitlab/api/v4",
      tokenVariable: "GITLAB_TOKEN",
      labels: ["gitops-drift"],
    });
    expect(() => gitLabDriftSettings({ GITLAB_TOKEN: "t" })).toThrow(
      "a GitLab token is set but CI_SERVER_URL (or GITOPS_CI_GITLAB_URL) and CI_PROJECT_ID (or GITOPS_CI_GITLAB_PROJECT) are not",
    );
  });
});

describe("the drift issue tracker over GitLab's issues API", () => {
  const TOKEN = "glpat-drift-bot-0123456789";
  let gitlab: FakeGitLab;
  let project: FakeProject;
  let clock: FakeClock;

  beforeEach(async () => {
    ({ gitlab, project } = await startGitLab({ projectId: 42, tokens: { [TOKEN]: { username: "project_42_bot" } } }));
    clock = fakeClock();
  });

  function tracker(overrides: Partial<GitLabClientOptions> = {}): DriftIssueTracker {
    const client = createGitLabClient({
      apiUrl: gitlab.apiUrl,
      token: TOKEN,
      tokenAdvice: DRIFT_TOKEN_ADVICE,
      clock,
      random: () => 0.5,
      ...overrides,
    });
    return createGitLabDriftIssueTracker(client, { projectId: "42", labels: ["gitops-drift"] });
  }
  const sync = (changes: ObjectChange[], api = tracker()) =>
    syncDriftIssue(api, { environment: "prod", changes, report: "REPORT", jobUrl: "https://job" });
  const issuesOf = (environment: string) =>
    [...project.issues.values()].filter((issue) => parseDriftMarker(issue.description)?.environment === environment);

  it("finds its issue among more than a page of others, and opens, comments, closes and reopens it", async () => {
    for (let index = 0; index < 120; index += 1)
      gitlab.addIssue(project, {
        title: `Drift in other-${index}`,
        labels: ["gitops-drift"],
        description: driftMarker(`other-${index}`, "abc"),
      });
    gitlab.addIssue(project, { title: "Unrelated", description: driftMarker("prod", "abc") });

    expect((await sync([update("a")])).outcome).toBe("opened");
    const [issue] = issuesOf("prod").filter((candidate) => candidate.labels.includes("gitops-drift"));
    expect(issue).toMatchObject({ state: "opened", title: "Drift in prod: 1 object differs from Git", labels: ["gitops-drift"] });
    const lists = gitlab.requests.filter((request) => request.method === "GET" && request.path === "/api/v4/projects/42/issues");
    expect(
      lists.map((request) => [request.query["labels"], request.query["state"], request.query["page"] ?? "1", request.query["per_page"]]),
    ).toEqual([
      ["gitops-drift", "all", "1", "100"],
      ["gitops-drift", "all", "2", "100"],
    ]);

    expect((await sync([update("a")])).outcome).toBe("unchanged");
    expect((await sync([update("a", "-a\n+c")])).outcome).toBe("commented");
    expect(issue!.notes.map((note) => note.body)).toEqual([expect.stringContaining("The drift in **prod** changed (https://job)")]);
    expect((await sync([unchanged])).outcome).toBe("closed");
    expect(issue).toMatchObject({ state: "closed", closed_at: expect.any(String) });
    expect((await sync([update("b")])).outcome).toBe("reopened");
    expect(issue).toMatchObject({ state: "opened", closed_at: null });
    expect(issuesOf("prod").filter((candidate) => candidate.labels.includes("gitops-drift"))).toHaveLength(1);
  });

  it("waits out a 429 with Retry-After and a 502 on each kind of request", async () => {
    const onRetry: unknown[] = [];
    const api = tracker({ onRetry: (event) => onRetry.push(event) });
    gitlab.failNext(1, { status: 429, retryAfter: "9" }, { method: "GET" });
    gitlab.failNext(1, { status: 502 }, { method: "POST", path: /\/issues$/ });
    expect((await sync([update("a")], api)).outcome).toBe("opened");
    gitlab.failNext(1, { status: 502 }, { method: "PUT" });
    gitlab.failNext(1, { status: 429, retryAfter: "4" }, { method: "POST", path: /\/notes$/ });
    expect((await sync([update("a", "-a\n+c")], api)).outcome).toBe("commented");

    expect(clock.sleeps).toEqual([9_000, 750, 750, 4_000]);
    expect(gitlab.requests.map((request) => request.status).filter((status) => status !== 200 && status !== 201)).toEqual([
      429, 502, 502, 429,
    ]);
    expect(onRetry).toHaveLength(4);
    const [issue] = issuesOf("prod");
    expect(issue!.notes).toHaveLength(1);
    expect([...project.issues.values()]).toHaveLength(1);
  });

  it("fails with GitLab's status and what drift's token needs", async () => {
    await expect(sync([update("a")], tracker({ token: "glpat-revoked", tokenVariable: "GITLAB_TOKEN" }))).rejects.toMatchObject({
      status: 401,
      message: "GitLab rejected the access token: HTTP 401 on GET /projects/42/issues (GitLab said: 401 Unauthorized)",
      hint: expect.stringContaining(
        "the token in GITLAB_TOKEN is wrong, expired or revoked; create a project access token (Settings > Access tokens) with the `api` scope",
      ),
    });
    gitlab.addToken("glpat-reader-0123456789", { username: "reader" }, { scopes: ["read_api"] });
    await expect(sync([update("a")], tracker({ token: "glpat-reader-0123456789" }))).rejects.toMatchObject({
      status: 403,
      hint: expect.stringContaining("a read_api token can read issues but not write them"),
    });
  });
});
