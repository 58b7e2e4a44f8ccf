// The fake is only as good as its likeness to GitLab: these pin the documented shapes it serves.
import { beforeEach, describe, expect, it } from "vitest";
import { FakeGitLab, type FakeProject } from "../../helpers/fake-gitlab.ts";
import { startGitLab } from "../../helpers/gitlab.ts";

const TOKEN = "glpat-fake-test-0123456789";
let gitlab: FakeGitLab;
let project: FakeProject;

beforeEach(async () => {
  ({ gitlab, project } = await startGitLab({ projectId: 42, mergeRequest: 7, tokens: { [TOKEN]: { username: "bot" } } }));
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = { "PRIVATE-TOKEN": TOKEN }) {
  const response = await fetch(`${gitlab.apiUrl}${path}`, {
    method,
    headers: { ...headers, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    json: text && response.headers.get("content-type")?.includes("json") ? (JSON.parse(text) as unknown) : text,
  };
}

describe("FakeGitLab", () => {
  it("paginates with GitLab's headers and Link relations", async () => {
    for (let index = 0; index < 45; index += 1) await call("POST", "/projects/42/merge_requests/7/notes", { body: `n${index}` });
    const page = await call("GET", "/projects/42/merge_requests/7/notes?sort=asc&per_page=20&page=2");
    expect((page.json as { body: string }[]).map((note) => note.body)).toEqual(Array.from({ length: 20 }, (_, index) => `n${index + 20}`));
    expect(
      Object.fromEntries(
        ["x-page", "x-per-page", "x-next-page", "x-prev-page", "x-total", "x-total-pages"].map((name) => [name, page.headers.get(name)]),
      ),
    ).toEqual({
      "x-page": "2",
      "x-per-page": "20",
      "x-next-page": "3",
      "x-prev-page": "1",
      "x-total": "45",
      "x-total-pages": "3",
    });
    const link = page.headers.get("link")!;
    expect(link).toContain(`<${gitlab.apiUrl}/projects/42/merge_requests/7/notes?sort=asc&per_page=20&page=3>; rel="next"`);
    expect(link).toContain('rel="prev"');
    expect(link).toContain('rel="first"');
    expect(link).toContain('rel="last"');
    const last = await call("GET", "/projects/42/merge_requests/7/notes?per_page=500&page=1");
    expect(last.headers.get("x-per-page")).toBe("100");
    expect(last.headers.get("x-next-page")).toBe("");
    expect((last.json as { body: string }[])[0]!.body).toBe("n44");
  });

  it("authenticates by PRIVATE-TOKEN or Bearer, and answers 401 otherwise", async () => {
    expect((await call("GET", "/projects/42/merge_requests/7", undefined, { Authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    expect(await call("GET", "/projects/42/merge_requests/7", undefined, {})).toMatchObject({
      status: 401,
      json: { message: "401 Unauthorized" },
    });
    expect(await call("GET", "/projects/42/merge_requests/7", undefined, { "PRIVATE-TOKEN": "nope" })).toMatchObject({ status: 401 });
  });

  it("answers GitLab's 404 shapes and the note length limit", async () => {
    expect(await call("GET", "/projects/9/merge_requests/7/notes")).toMatchObject({
      status: 404,
      json: { message: "404 Project Not Found" },
    });
    expect(await call("PUT", "/projects/platform%2Ffleet/merge_requests/7/notes/1", { body: "x" })).toMatchObject({
      status: 404,
      json: { message: "404 Not found" },
    });
    expect(await call("GET", "/nothing/here")).toMatchObject({ status: 404, json: { error: "404 Not Found" } });
    expect(await call("POST", "/projects/42/merge_requests/7/notes", {})).toMatchObject({
      status: 400,
      json: { error: "body is missing" },
    });
    // Characters, not UTF-16 units: 1,000,000 emoji are 2,000,000 units and still one note.
    expect((await call("POST", "/projects/42/merge_requests/7/notes", { body: "😀".repeat(1_000_000) })).status).toBe(201);
    expect(await call("POST", "/projects/42/merge_requests/7/notes", { body: "x".repeat(1_000_001) })).toMatchObject({ status: 400 });
  });

  it("serves issues: create, list with filters, update, and notes on them", async () => {
    expect(await call("POST", "/projects/42/issues", { description: "no title" })).toMatchObject({
      status: 400,
      json: { error: "title is missing" },
    });
    const created = await call("POST", "/projects/42/issues", { title: "Drift in prod", labels: "gitops-ci,drift" });
    expect(created).toMatchObject({
      status: 201,
      json: { iid: 1, title: "Drift in prod", labels: ["gitops-ci", "drift"], state: "opened" },
    });
    expect(((await call("GET", "/projects/42/issues?labels=drift&state=opened")).json as unknown[]).length).toBe(1);
    expect(await call("PUT", "/projects/42/issues/1", { state_event: "close", add_labels: "resolved" })).toMatchObject({
      status: 200,
      json: { state: "closed", labels: ["gitops-ci", "drift", "resolved"] },
    });
    expect(((await call("GET", "/projects/42/issues?state=opened")).json as unknown[]).length).toBe(0);
    expect(await call("POST", "/projects/42/issues/1/notes", { body: "still drifting" })).toMatchObject({
      status: 201,
      json: { noteable_type: "Issue", noteable_iid: 1 },
    });
  });

  it("serves issues in GitLab's order, searches words, and validates state_event", async () => {
    const first = gitlab.addIssue(project, { title: "Drift in prod", description: "<!-- marker environment=prod -->", labels: ["drift"] });
    gitlab.addIssue(project, { title: "Drift in staging", labels: ["drift"] });
    expect(((await call("GET", "/projects/42/issues")).json as { iid: number }[]).map((issue) => issue.iid)).toEqual([2, 1]);
    await call("POST", `/projects/42/issues/${first.iid}/notes`, { body: "touches the issue" });
    expect(
      ((await call("GET", "/projects/42/issues?order_by=updated_at&sort=desc")).json as { iid: number }[]).map((issue) => issue.iid),
    ).toEqual([1, 2]);
    expect(((await call("GET", "/projects/42/issues?search=prod%20marker")).json as { iid: number }[]).map((issue) => issue.iid)).toEqual([
      1,
    ]);
    expect(await call("PUT", "/projects/42/issues/1", { state_event: "shut" })).toMatchObject({
      status: 400,
      json: { error: "state_event does not have a valid value" },
    });
    expect(await call("PUT", "/projects/42/issues/1", { state_event: "close" })).toMatchObject({
      status: 200,
      json: { state: "closed", closed_at: expect.any(String) },
    });
  });

  it("serves a pipeline's jobs and trigger jobs, and one artifact file as Workhorse does", async () => {
    const parent = gitlab.addPipeline(project);
    const child = gitlab.addPipeline(project, { source: "parent_pipeline" });
    gitlab.addBridge(parent, { name: "trigger", downstream: child });
    gitlab.addBridge(parent, { name: "never-started", status: "failed" });
    const retried = gitlab.addJob(child, { name: "build", status: "failed", retried: true });
    const latest = gitlab.addJob(child, { name: "build", artifacts: { "out/report.json": '{ "a": 1 }\n', "out/report.md": "# hi\n" } });
    const bare = gitlab.addJob(child, { name: "lint" });

    const bridges = await call("GET", `/projects/42/pipelines/${parent.id}/bridges`);
    expect(bridges.json).toEqual([
      expect.objectContaining({ name: "never-started", status: "failed", downstream_pipeline: null }),
      expect.objectContaining({
        name: "trigger",
        downstream_pipeline: expect.objectContaining({ id: child.id, source: "parent_pipeline" }),
      }),
    ]);
    expect(bridges.headers.get("x-total")).toBe("2");
    expect(((await call("GET", `/projects/42/pipelines/${child.id}/jobs`)).json as { id: number }[]).map((job) => job.id)).toEqual([
      bare.id,
      latest.id,
    ]);
    expect(
      ((await call("GET", `/projects/42/pipelines/${child.id}/jobs?include_retried=true`)).json as { id: number }[]).map((job) => job.id),
    ).toEqual([bare.id, latest.id, retried.id]);
    expect(await call("GET", "/projects/42/pipelines/999999/jobs")).toMatchObject({ status: 404, json: { message: "404 Not found" } });

    const file = await call("GET", `/projects/42/jobs/${latest.id}/artifacts/out/report.json`);
    expect(file).toMatchObject({ status: 200, json: { a: 1 } });
    expect(file.headers.get("content-type")).toBe("application/json");
    expect(file.headers.get("content-disposition")).toBe('attachment; filename="report.json"');
    expect((await call("GET", `/projects/42/jobs/${latest.id}/artifacts/out/report.md`)).headers.get("content-type")).toBe(
      "application/octet-stream",
    );
    expect(await call("GET", `/projects/42/jobs/${latest.id}/artifacts/out/missing.json`)).toMatchObject({
      status: 404,
      json: "Not Found\n",
    });
    expect(await call("GET", `/projects/42/jobs/${bare.id}/artifacts/out/report.json`)).toMatchObject({
      status: 404,
      json: { message: "404 Artifact Not Found" },
    });
  });

  it("injects faults and records every request", async () => {
    gitlab.failNext(1, { status: 429, retryAfter: "3" });
    const limited = await call("GET", "/projects/42/merge_requests/7");
    expect(limited).toMatchObject({ status: 429, json: "Retry later\n" });
    expect(limited.headers.get("retry-after")).toBe("3");
    expect(limited.headers.get("ratelimit-remaining")).toBe("0");
    expect((await call("GET", "/projects/42/merge_requests/7")).status).toBe(200);
    expect(gitlab.requests.map((request) => request.status)).toEqual([429, 200]);
  });
});
