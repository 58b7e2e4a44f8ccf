import { beforeEach, describe, expect, it, onTestFinished } from "vitest";
import { createGitLabClient } from "../../../core/gitlab/client.ts";
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  GitLabApiError,
  gitbeakerHost,
  parseRetryAfter,
  type GitLabClientOptions,
} from "../../../core/gitlab/request-handler.ts";
import { FakeGitLab, type FakeProject } from "../../helpers/fake-gitlab.ts";
import { startGitLab } from "../../helpers/gitlab.ts";
import { fakeClock, type FakeClock } from "./fake-clock.ts";

const TOKEN = "glpat-report-bot-0123456789";
const READ_ONLY = "glpat-read-only-0123456789";

let gitlab: FakeGitLab;
let project: FakeProject;
let clock: FakeClock;

beforeEach(async () => {
  ({ gitlab, project } = await startGitLab({
    projectId: 42,
    mergeRequest: 7,
    tokens: { [TOKEN]: { username: "project_42_bot" }, [READ_ONLY]: { username: "reader", scopes: ["read_api"] } },
  }));
  clock = fakeClock();
});

function client(overrides: Partial<GitLabClientOptions> = {}) {
  return createGitLabClient({ apiUrl: gitlab.apiUrl, token: TOKEN, clock, random: () => 0.5, ...overrides });
}

const target = { projectId: 42, mergeRequestIid: 7 };
const notesPath = /\/merge_requests\/7\/notes$/;

async function failure(promise: Promise<unknown>): Promise<GitLabApiError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(GitLabApiError);
  return error as GitLabApiError;
}

describe("retries", () => {
  it("waits as long as a 429's Retry-After says, in seconds, then succeeds", async () => {
    gitlab.failNext(2, { status: 429, retryAfter: "7" }, { method: "POST" });
    const note = await client().createNote(target, "hello");
    expect(note.body).toBe("hello");
    expect(clock.sleeps).toEqual([7_000, 7_000]);
    expect(gitlab.requests.filter((request) => request.method === "POST").map((request) => request.status)).toEqual([429, 429, 201]);
  });

  it("honours a Retry-After given as an HTTP date", async () => {
    const when = new Date(clock.now() + 12_000).toUTCString();
    gitlab.failNext(1, { status: 429, retryAfter: when });
    await client().listNotes(target);
    expect(clock.sleeps).toEqual([12_000]);
  });

  it("backs off exponentially with jitter on 5xx, then succeeds", async () => {
    gitlab.failNext(1, { status: 500 });
    gitlab.failNext(1, { status: 502 });
    gitlab.failNext(1, { status: 503 });
    const random = [0, 1, 0.5];
    const notes = await client({ random: () => random.shift() ?? 0 }).listNotes(target);
    expect(notes).toEqual([]);
    // Steps of 1 s, 2 s, 4 s; equal jitter keeps each wait within [step / 2, step].
    expect(clock.sleeps).toEqual([500, 2_000, 3_000]);
    expect(gitlab.requests.map((request) => request.status)).toEqual([500, 502, 503, 200]);
  });

  it("keeps each backoff within its step and the maximum", () => {
    for (const attempt of [1, 2, 3, 6, 12]) {
      const step = Math.min(DEFAULT_RETRY_POLICY.maxDelayMs, DEFAULT_RETRY_POLICY.baseDelayMs * 2 ** (attempt - 1));
      expect(backoffDelay(attempt, DEFAULT_RETRY_POLICY, () => 0)).toBe(step / 2);
      expect(backoffDelay(attempt, DEFAULT_RETRY_POLICY, () => 0.999_999)).toBeLessThanOrEqual(step);
    }
  });

  it("gives up after the last attempt with the status, method and path", async () => {
    gitlab.failNext(20, { status: 503 });
    const error = await failure(client({ retry: { maxAttempts: 4 } }).listNotes(target));
    expect(error.status).toBe(503);
    expect(error.attempts).toBe(4);
    expect(error.method).toBe("GET");
    expect(error.path).toBe("/projects/42/merge_requests/7/notes");
    expect(error.message).toBe(
      "GitLab failed on GET /projects/42/merge_requests/7/notes: HTTP 503 after 4 attempts (GitLab said: 503 Service Unavailable Whoops, GitLab is taking too much time to respond.)",
    );
    expect(error.hint).toMatch(/re-run the job later/);
    expect(clock.sleeps).toHaveLength(3);
  });

  it("does not start a wait that would end after the time budget", async () => {
    gitlab.failNext(1, { status: 429, retryAfter: "3600" });
    const error = await failure(client().listNotes(target));
    expect(error.status).toBe(429);
    expect(error.message).toContain("it asked to wait 3600 s, beyond the 180 s budget");
    expect(clock.sleeps).toEqual([]);
  });

  it("one budget for the whole client: a later request gets only what the earlier ones left", async () => {
    const api = client();
    // The first request waits 100 s of the 180 s budget, then succeeds.
    gitlab.failNext(1, { status: 503, retryAfter: "100" }, { method: "GET" });
    await api.listNotes(target);
    // The second may not wait another 100 s: 200 s would pass the budget.
    gitlab.failNext(1, { status: 503, retryAfter: "100" }, { method: "POST" });
    const error = await failure(api.createNote(target, "x"));
    expect(error.status).toBe(503);
    expect(error.message).toContain("it asked to wait 100 s, beyond the 180 s budget");
    expect(clock.sleeps).toEqual([100_000]);
  });

  it("a 429 refused at the first attempt says 'after 1 attempt'", async () => {
    gitlab.failNext(1, { status: 429, retryAfter: "3600" });
    const error = await failure(client().listNotes(target));
    expect(error.message).toMatch(/^GitLab kept rate-limiting GET \/projects\/42\/merge_requests\/7\/notes: HTTP 429 after 1 attempt;/);
  });

  it("against a GitLab that never answers, the client gives up within its budget, not an attempt timeout later", async () => {
    // Accepts the connection and never answers: each attempt would wait its full timeout.
    const { createServer } = await import("node:http");
    const hanging = createServer(() => {});
    await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", resolve));
    onTestFinished(
      () =>
        new Promise<void>((resolve) => {
          hanging.closeAllConnections();
          hanging.close(() => resolve());
        }),
    );
    const { port } = hanging.address() as import("node:net").AddressInfo;
    const budget = 1_500;
    const api = createGitLabClient({
      apiUrl: `http://127.0.0.1:${port}/api/v4`,
      token: TOKEN,
      retry: { maxTotalMs: budget, attemptTimeoutMs: 1_000, baseDelayMs: 100 },
      random: () => 0,
    });
    const started = Date.now();
    const error = await failure(api.listNotes(target));
    const elapsed = Date.now() - started;
    expect(error.status).toBeUndefined();
    expect(error.message).toMatch(
      /^(could not reach GitLab for GET .*: no answer within 0\.\d s|GitLab did not answer GET .* within the 1\.5 s time budget)/,
    );
    // The bound the budget promises (plus scheduling slack), where per-attempt timeouts alone would take 2 s and more.
    expect(elapsed).toBeLessThan(budget + 400);
  });

  it("retries a network failure and then explains it", async () => {
    const closed = await FakeGitLab.start();
    const apiUrl = closed.apiUrl;
    await closed.close();
    const error = await failure(client({ apiUrl, retry: { maxAttempts: 3 } }).listNotes(target));
    expect(error.status).toBeUndefined();
    expect(error.message).toMatch(
      /^could not reach GitLab for GET \/projects\/42\/merge_requests\/7\/notes: .*ECONNREFUSED.* after 3 attempts$/,
    );
    expect(error.hint).toContain("check CI_API_V4_URL");
    expect(clock.sleeps).toHaveLength(2);
  });
});

describe("errors a person can act on", () => {
  it("401: names the token variable and the scope it needs, without retrying", async () => {
    const error = await failure(client({ token: "glpat-wrong", tokenVariable: "GITLAB_TOKEN" }).listNotes(target));
    expect(error.status).toBe(401);
    expect(error.message).toBe(
      "GitLab rejected the access token: HTTP 401 on GET /projects/42/merge_requests/7/notes (GitLab said: 401 Unauthorized)",
    );
    expect(error.hint).toContain("the token in GITLAB_TOKEN is wrong, expired or revoked");
    expect(error.hint).toContain("`api` scope and at least the Reporter role");
    expect(gitlab.requests).toHaveLength(1);
  });

  it("403 insufficient_scope: a read_api token cannot write", async () => {
    const error = await failure(client({ token: READ_ONLY }).createNote(target, "x"));
    expect(error.status).toBe(403);
    expect(error.message).toMatch(
      /^the access token lacks the api scope: HTTP 403 on POST \/projects\/42\/merge_requests\/7\/notes \(GitLab said: insufficient_scope: The request requires/,
    );
    expect(error.hint).toContain("recreate the token");
  });

  it("403 on another user's note: says what role and ownership GitLab wants", async () => {
    const person = gitlab.addToken("glpat-person-0123456789", { username: "alice" });
    const note = gitlab.addNote(project, 7, "a person's comment", person);
    const error = await failure(client().editNote(target, note.id, "overwritten"));
    expect(error.status).toBe(403);
    expect(error.message).toBe(
      `the access token may not do this: HTTP 403 on PUT /projects/42/merge_requests/7/notes/${note.id} (GitLab said: 403 Forbidden)`,
    );
    expect(error.hint).toContain("Reporter role");
  });

  it("404: points at CI_PROJECT_ID and CI_MERGE_REQUEST_IID and the token's access", async () => {
    const error = await failure(client().listNotes({ projectId: 99, mergeRequestIid: 7 }));
    expect(error.status).toBe(404);
    expect(error.message).toBe(
      "GitLab found nothing at GET /projects/99/merge_requests/7/notes: HTTP 404 (GitLab said: 404 Project Not Found)",
    );
    expect(error.hint).toContain("check CI_PROJECT_ID and CI_MERGE_REQUEST_IID");
    const missingMergeRequest = await failure(client().showMergeRequest({ projectId: 42, mergeRequestIid: 8 }));
    expect(missingMergeRequest.gitlabMessage).toBe("404 Merge Request Not Found");
  });

  it("400: a note over GitLab's limit is refused with GitLab's validation message", async () => {
    const error = await failure(client().createNote(target, "x".repeat(1_000_001)));
    expect(error.status).toBe(400);
    expect(error.gitlabMessage).toBe('400 Bad request - Note {:note=>["is too long (maximum is 1000000 characters)"]}');
    expect(error.hint).toContain("bug in gitops-ci");
  });
});

describe("the notes API", () => {
  it("lists every note across pages, oldest first, 100 per page", async () => {
    const person = gitlab.addToken("glpat-person-0123456789", { username: "alice" });
    for (let index = 0; index < 250; index += 1) gitlab.addNote(project, 7, `comment ${index}`, person);
    const notes = await client().listNotes(target);
    expect(notes.map((note) => note.body)).toEqual(Array.from({ length: 250 }, (_, index) => `comment ${index}`));
    const lists = gitlab.requests.filter((request) => notesPath.test(request.path));
    expect(lists.map((request) => [request.query["page"] ?? "1", request.query["per_page"], request.query["sort"]])).toEqual([
      ["1", "100", "asc"],
      ["2", "100", "asc"],
      ["3", "100", "asc"],
    ]);
  });

  it("accepts the project as a URL-encoded path", async () => {
    const api = client();
    const created = await api.createNote({ projectId: "platform/fleet", mergeRequestIid: 7 }, "by path");
    expect((await api.listNotes(target)).map((note) => note.id)).toEqual([created.id]);
    expect(gitlab.requests[0]!.path).toBe("/api/v4/projects/platform%2Ffleet/merge_requests/7/notes");
  });

  it("creates, edits and deletes notes; the token goes in PRIVATE-TOKEN, never in a body", async () => {
    const api = client();
    const note = await api.createNote(target, "first");
    expect((await api.editNote(target, note.id, "second")).body).toBe("second");
    await api.deleteNote(target, note.id);
    expect(await api.listNotes(target)).toEqual([]);
    expect(gitlab.requests.every((request) => request.headers["private-token"] === TOKEN)).toBe(true);
    expect(gitlab.requests.some((request) => request.body.includes(TOKEN))).toBe(false);
  });

  it("passes every request body through the redactor before sending it", async () => {
    const api = client({ redact: (text) => text.replaceAll("CANARY-1234", "[REDACTED]") });
    await api.createNote(target, "value CANARY-1234 leaked");
    expect(gitlab.sentText()).not.toContain("CANARY-1234");
    expect(gitlab.notesOf(project, 7)[0]!.body).toBe("value [REDACTED] leaked");
  });

  it("shows the merge request", async () => {
    expect(await client().showMergeRequest(target)).toEqual({
      iid: 7,
      title: "Merge request 7",
      state: "opened",
      web_url: `${gitlab.url}/platform/fleet/-/merge_requests/7`,
    });
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2025-01-06T09:00:00Z");
  it("reads seconds and HTTP dates, and ignores the rest", () => {
    expect(parseRetryAfter("0", now)).toBe(0);
    expect(parseRetryAfter(" 30 ", now)).toBe(30_000);
    expect(parseRetryAfter("Mon, 06 Jan 2025 09:01:00 GMT", now)).toBe(60_000);
    expect(parseRetryAfter("Mon, 06 Jan 2025 08:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("-5", now)).toBeUndefined();
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe("gitbeakerHost", () => {
  it("strips /api/v4, keeping a relative URL root", () => {
    expect(gitbeakerHost("https://gitlab.example.com/api/v4")).toBe("https://gitlab.example.com");
    expect(gitbeakerHost("https://example.com/gitlab/api/v4/")).toBe("https://example.com/gitlab");
    expect(() => gitbeakerHost("https://gitlab.example.com/api/v3")).toThrow(/does not end in \/api\/v4/);
  });
});
