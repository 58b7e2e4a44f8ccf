// The GitLab API stand-in answers as GitLab does: its replies have the shape (keys and JSON types)
// of the replies GitLab's API documentation records (test/fixtures/gitlab-api/), and its lists
// carry the documented pagination headers. A field the stand-in invents, or a type it gets wrong,
// would let the client pass here and fail against GitLab.
import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../../core/toolchain.ts";
import type { FakeGitLab, FakeProject, FakeUser } from "../../helpers/fake-gitlab.ts";
import { startGitLab } from "../../helpers/gitlab.ts";

const TOKEN = "glpat-recorded-0123456789";

function recorded(file: string): unknown {
  return JSON.parse(readFileSync(path.join(PROJECT_ROOT, "test/fixtures/gitlab-api", file), "utf8"));
}

function kind(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
}

/**
 * Where `actual` leaves the documented shape: a key GitLab does not send, or another JSON type.
 * null matches any type (GitLab's nullable fields are null in one example and set in another).
 */
function shapeMismatches(actual: unknown, documented: unknown, at = "", allowed: readonly string[] = []): string[] {
  if (actual === null || documented === null) return [];
  if (kind(actual) !== kind(documented)) return [`${at || "."}: ${kind(actual)}, GitLab sends ${kind(documented)}`];
  if (Array.isArray(actual) && Array.isArray(documented)) {
    return documented.length === 0 ? [] : actual.flatMap((item, index) => shapeMismatches(item, documented[0], `${at}[${index}]`, allowed));
  }
  if (kind(actual) !== "object") return [];
  const theirs = documented as Record<string, unknown>;
  return Object.entries(actual as Record<string, unknown>).flatMap(([key, value]) => {
    const where = at ? `${at}.${key}` : key;
    if (!(key in theirs)) return allowed.includes(where) ? [] : [`${where}: not in GitLab's reply`];
    return shapeMismatches(value, theirs[key], where, allowed);
  });
}

/** The fields gitops-ci reads, present in GitLab's reply and in the stand-in's. */
function expectFields(actual: unknown, documented: unknown, fields: readonly string[]): void {
  const at = (value: unknown, field: string) =>
    field
      .split(".")
      .reduce<unknown>(
        (node, key) => (node !== null && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined),
        value,
      );
  for (const field of fields) {
    expect(at(documented, field), `GitLab's ${field}`).not.toBeUndefined();
    expect(at(actual, field), `the stand-in's ${field}`).not.toBeUndefined();
  }
}

let gitlab: FakeGitLab;
let project: FakeProject;
let bot: FakeUser;

beforeEach(async () => {
  let users: Record<string, FakeUser>;
  ({ gitlab, project, users } = await startGitLab({
    projectId: 42,
    mergeRequest: 7,
    tokens: { [TOKEN]: { username: "project_42_bot", bot: true } },
  }));
  bot = users[TOKEN]!;
});

async function call(
  method: string,
  route: string,
  body?: Record<string, unknown>,
): Promise<{ status: number; headers: Headers; json: unknown }> {
  const response = await fetch(`${gitlab.apiUrl}${route}`, {
    method,
    headers: { "PRIVATE-TOKEN": TOKEN, ...(body ? { "Content-Type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text === "" ? undefined : JSON.parse(text) };
}

describe("the GitLab API stand-in against GitLab's documented replies", () => {
  it("GET /user", async () => {
    const documented = recorded("current-user.json");
    const { status, json } = await call("GET", "/user");
    expect(status).toBe(200);
    expect(shapeMismatches(json, documented)).toEqual([]);
    expectFields(json, documented, ["id", "username", "bot"]);
  });

  it("merge request notes: list, create, modify", async () => {
    const documented = recorded("merge-request-note.json");
    // One note entity (lib/api/entities/note.rb) answers for issues and merge requests: `type`
    // (null, DiffNote, DiscussionNote) and the import fields, which the same page's issue note example shows.
    const allowed = ["type", "imported", "imported_from"];
    const fields = ["id", "body", "system", "created_at", "updated_at", "author.id", "author.username"];
    gitlab.addNote(project, 7, "a person's comment", bot);
    const created = await call("POST", "/projects/42/merge_requests/7/notes", { body: "report" });
    expect(created.status).toBe(201);
    const id = (created.json as { id: number }).id;
    const edited = await call("PUT", `/projects/42/merge_requests/7/notes/${id}`, { body: "report, updated" });
    expect(edited.status).toBe(200);
    const listed = await call("GET", "/projects/42/merge_requests/7/notes?sort=asc&order_by=created_at");
    expect(listed.status).toBe(200);
    for (const note of [created.json, edited.json, ...(listed.json as unknown[])]) {
      expect(shapeMismatches(note, documented, "", allowed)).toEqual([]);
      expectFields(note, documented, fields);
    }
  });

  it("merge requests: one, and the list", async () => {
    const [documented] = recorded("merge-requests-list.json") as unknown[];
    const fields = ["iid", "title", "state", "web_url", "description", "source_branch", "target_branch"];
    const one = await call("GET", "/projects/42/merge_requests/7");
    const list = await call("GET", "/projects/42/merge_requests?state=opened&source_branch=feature");
    expect([one.status, list.status]).toEqual([200, 200]);
    expect(list.json).toHaveLength(1);
    for (const mergeRequest of [one.json, ...(list.json as unknown[])]) {
      expect(shapeMismatches(mergeRequest, documented)).toEqual([]);
      expectFields(mergeRequest, documented, fields);
    }
  });

  it("issues", async () => {
    const [documented] = recorded("issues-list.json") as unknown[];
    gitlab.addIssue(project, { title: "Drift in prod", description: "report", labels: ["gitops-drift"] });
    const { status, json } = await call("GET", "/projects/42/issues?labels=gitops-drift&state=opened");
    expect(status).toBe(200);
    expect(json).toHaveLength(1);
    expect(shapeMismatches(json, [documented])).toEqual([]);
    expectFields((json as unknown[])[0], documented, ["iid", "state", "title", "description", "labels", "web_url", "updated_at"]);
  });

  it("a pipeline's jobs and trigger jobs", async () => {
    const [job] = recorded("pipeline-jobs-list.json") as unknown[];
    const [bridge] = recorded("pipeline-bridges-list.json") as unknown[];
    const parent = gitlab.addPipeline(project, { source: "merge_request_event" });
    const child = gitlab.addPipeline(project, { source: "parent_pipeline" });
    gitlab.addBridge(parent, { name: "gitops-ci:children", downstream: child });
    gitlab.addJob(child, { name: "gitops-ci:reports", artifacts: { "report.json": "{}" } });
    const jobs = await call("GET", `/projects/42/pipelines/${child.id}/jobs`);
    const bridges = await call("GET", `/projects/42/pipelines/${parent.id}/bridges`);
    expect([jobs.status, bridges.status]).toEqual([200, 200]);
    // Jobs name their pipelines with GitLab's PipelineBasic entity (lib/api/entities/ci/pipeline_basic.rb:
    // id, iid, project_id, sha, ref, status, source, created_at, updated_at, web_url); the examples show older subsets of it.
    const basic = (field: string) =>
      ["id", "iid", "project_id", "sha", "ref", "status", "source", "created_at", "updated_at", "web_url"].map((key) => `${field}.${key}`);
    expect(shapeMismatches(jobs.json, [job], "", basic("[0].pipeline"))).toEqual([]);
    expect(shapeMismatches(bridges.json, [bridge], "", [...basic("[0].pipeline"), ...basic("[0].downstream_pipeline")])).toEqual([]);
    expectFields((jobs.json as unknown[])[0], job, ["id", "name", "status"]);
    expectFields((bridges.json as unknown[])[0], bridge, ["id", "name", "status", "downstream_pipeline.id"]);
  });

  it("pages a list with the documented headers: page 2 of 3, three a page, of eight notes", async () => {
    const documented = (recorded("pagination-headers.json") as { headers: Record<string, string> }).headers;
    for (let index = 0; index < 8; index += 1) gitlab.addNote(project, 7, `note ${index}`, bot);
    const { status, headers } = await call("GET", "/projects/42/merge_requests/7/notes?per_page=3&page=2");
    expect(status).toBe(200);
    for (const name of ["x-next-page", "x-page", "x-per-page", "x-prev-page", "x-total", "x-total-pages"])
      expect(headers.get(name), name).toBe(documented[name]);
    expect(headers.get("content-type")?.split(";")[0]).toBe(documented["content-type"]);
    // The same relations, in the same order, each to the same page of the same list.
    const links = (value: string) =>
      value.split(", ").map((part) => {
        const [, url, rel] = /^<([^>]+)>; rel="(\w+)"$/.exec(part)!;
        const query = new URL(url!).searchParams;
        return `${rel} page=${query.get("page")} per_page=${query.get("per_page")}`;
      });
    expect(links(headers.get("link") ?? "")).toEqual(links(documented["link"]!));
  });
});
