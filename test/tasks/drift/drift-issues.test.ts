import { describe, expect, it } from "vitest";
import type { ObjectChange } from "../../../core/diff/model.ts";
import { driftFingerprint, driftMarker, gitLabDriftSettings, parseDriftMarker, syncDriftIssue, type DriftIssue, type DriftIssueTracker } from "../../../core/gitlab/drift-issues.ts";

/** An in-memory tracker: the issue logic without HTTP (the cluster test covers GitLab's API). */
function memoryTracker(initial: DriftIssue[] = []) {
  const issues = [...initial];
  const comments: { iid: number; body: string }[] = [];
  let tick = 0;
  const tracker: DriftIssueTracker = {
    listDriftIssues: async () => issues.map((issue) => ({ ...issue })),
    create: async (title, description) => {
      const issue: DriftIssue = { iid: issues.length + 1, state: "opened", title, description, webUrl: `https://gitlab/x/${issues.length + 1}`, updatedAt: String(++tick).padStart(4, "0") };
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

const update = (name: string, diff = "-a\n+b"): ObjectChange => ({ environment: "prod", layer: "apps", ref: { apiVersion: "v1", kind: "ConfigMap", name, namespace: "apps" }, action: "update", diff });
const unchanged: ObjectChange = { environment: "prod", layer: "apps", ref: { apiVersion: "v1", kind: "Service", name: "web" }, action: "unchanged" };

describe("syncDriftIssue", () => {
  it("does nothing without drift and without an open issue", async () => {
    const { tracker, issues } = memoryTracker();
    expect(await syncDriftIssue(tracker, { environment: "prod", changes: [unchanged], report: "r" })).toEqual({ outcome: "clean" });
    expect(issues).toEqual([]);
  });

  it("opens, leaves alone, comments, closes and reopens the one issue of the environment", async () => {
    const other: DriftIssue = { iid: 99, state: "opened", title: "Drift in staging", description: driftMarker("staging", "aa"), webUrl: "", updatedAt: "9999" };
    const { tracker, issues, comments } = memoryTracker([other]);
    const sync = (changes: ObjectChange[]) => syncDriftIssue(tracker, { environment: "prod", changes, report: "REPORT", jobUrl: "https://job" });

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
    expect(gitLabDriftSettings({ GITOPS_CI_GITLAB_TOKEN: "t", CI_API_V4_URL: "https://gitlab.example.com/api/v4", CI_PROJECT_ID: "7", GITOPS_CI_DRIFT_LABELS: "drift, ops" })).toEqual({
      url: "https://gitlab.example.com",
      projectId: "7",
      token: "t",
      labels: ["drift", "ops"],
    });
    expect(() => gitLabDriftSettings({ GITLAB_TOKEN: "t" })).toThrow("a GitLab token is set but CI_SERVER_URL (or GITOPS_CI_GITLAB_URL) and CI_PROJECT_ID (or GITOPS_CI_GITLAB_PROJECT) are not");
  });
});
