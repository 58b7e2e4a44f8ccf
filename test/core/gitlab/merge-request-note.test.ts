import { beforeEach, describe, expect, it } from "vitest";
import { createGitLabClient, type GitLabClient } from "../../../core/gitlab/client.ts";
import {
  composeNoteBody,
  findReportNotes,
  markerLine,
  upsertReportNotes,
  type ReportRun,
} from "../../../core/gitlab/merge-request-note.ts";
import { FakeGitLab, type FakeProject, type FakeUser } from "../../helpers/fake-gitlab.ts";
import { startGitLab } from "../../helpers/gitlab.ts";
import { wrapTransport } from "../../helpers/http-transport.ts";
import { fakeClock } from "./fake-clock.ts";

const TOKEN = "glpat-report-bot-0123456789";

let gitlab: FakeGitLab;
let project: FakeProject;
let bot: FakeUser;
let person: FakeUser;
let api: GitLabClient;

beforeEach(async () => {
  let users: Record<string, FakeUser>;
  ({ gitlab, project, users } = await startGitLab({
    projectId: 42,
    mergeRequest: 7,
    tokens: { [TOKEN]: { username: "project_42_bot" }, "glpat-alice-0123456789": { username: "alice" } },
  }));
  bot = users[TOKEN]!;
  person = users["glpat-alice-0123456789"]!;
  api = createGitLabClient({ apiUrl: gitlab.apiUrl, token: TOKEN, clock: fakeClock() });
});

const target = { projectId: 42, mergeRequestIid: 7 };
const upsert = (bodies: string[], run: ReportRun = {}, client: GitLabClient = api) =>
  upsertReportNotes(client, { ...target, marker: "default", bodies, run });
const ours = () => findReportNotes(gitlab.notesOf(project, 7), "default");
const writes = () => gitlab.requests.filter((request) => request.method !== "GET");

describe("upsertReportNotes", () => {
  it("creates the note with the hidden marker on its first line", async () => {
    const result = await upsert(["### report\n"], { pipelineId: 100, jobId: 5 });
    expect(result).toMatchObject({ outcome: "posted", notes: [{ part: 1, action: "created" }], deleted: [] });
    const [note] = gitlab.notesOf(project, 7);
    expect(note!.body).toBe("<!-- gitops-ci:report:default part 1/1 -->\n<!-- gitops-ci:run pipeline=100 job=5 -->\n### report\n");
    expect(note!.author.id).toBe(bot.id);
  });

  it("a retried job updates the note in place, and leaves an unchanged note alone", async () => {
    const first = await upsert(["first\n"], { pipelineId: 100, jobId: 5 });
    const retried = await upsert(["second\n"], { pipelineId: 100, jobId: 6 });
    expect(retried.notes).toEqual([{ part: 1, id: first.notes[0]!.id, action: "updated" }]);
    gitlab.requests.length = 0;
    const again = await upsert(["second\n"], { pipelineId: 100, jobId: 6 });
    expect(again.notes).toEqual([{ part: 1, id: first.notes[0]!.id, action: "unchanged" }]);
    expect(writes()).toEqual([]);
    expect(gitlab.notesOf(project, 7).map((note) => note.id)).toEqual([first.notes[0]!.id]);
  });

  it("finds its note on page 3 of a long discussion and updates it, not a second one", async () => {
    for (let index = 0; index < 230; index += 1) gitlab.addNote(project, 7, `comment ${index}`, person);
    const old = gitlab.addNote(project, 7, composeNoteBody("default", 1, 1, "old report\n", { pipelineId: 90 }), bot);
    for (let index = 0; index < 20; index += 1) gitlab.addNote(project, 7, `later comment ${index}`, person);

    const result = await upsert(["new report\n"], { pipelineId: 100 });
    expect(result.notes).toEqual([{ part: 1, id: old.id, action: "updated" }]);
    expect(ours()).toEqual([expect.objectContaining({ id: old.id, body: expect.stringContaining("new report") })]);
    expect(gitlab.notesOf(project, 7)).toHaveLength(251);
    const pages = gitlab.requests
      .filter((request) => request.method === "GET" && request.path.endsWith("/notes"))
      .map((request) => request.query["page"] ?? "1");
    expect(pages).toEqual(["1", "2", "3", "1", "2", "3"]);
  });

  it("completes missing parts, deletes stale parts and duplicates, keeping the oldest of each part", async () => {
    const part1 = gitlab.addNote(project, 7, composeNoteBody("default", 1, 3, "a"), bot);
    const duplicate = gitlab.addNote(project, 7, composeNoteBody("default", 1, 3, "a again"), bot);
    const part3 = gitlab.addNote(project, 7, composeNoteBody("default", 3, 3, "c"), bot);

    const result = await upsert(["one\n", "two\n"]);
    expect(result.notes).toEqual([
      { part: 1, id: part1.id, action: "updated" },
      { part: 2, id: expect.any(Number), action: "created" },
    ]);
    expect(result.deleted.sort()).toEqual([duplicate.id, part3.id].sort());
    expect(ours().map((note) => [note.part, note.total, note.body.split("\n").at(-2)])).toEqual([
      [1, 2, "one"],
      [2, 2, "two"],
    ]);
  });

  it("ignores system notes, other reports' markers and notes that only quote the marker", async () => {
    gitlab.addNote(project, 7, composeNoteBody("default", 1, 1, "system"), bot, { system: true });
    gitlab.addNote(project, 7, composeNoteBody("other", 1, 1, "another report"), bot);
    gitlab.addNote(project, 7, `> ${markerLine("default", 1, 1)}\nquoted by a person`, person);
    await upsert(["mine\n"]);
    expect(gitlab.notesOf(project, 7)).toHaveLength(4);
    expect(ours()).toHaveLength(1);
  });

  it("leaves the notes of a later pipeline alone", async () => {
    gitlab.addNote(project, 7, composeNoteBody("default", 1, 1, "from pipeline 200\n", { pipelineId: 200, jobId: 9 }), bot);
    const result = await upsert(["from pipeline 100\n"], { pipelineId: 100, jobId: 20 });
    expect(result).toMatchObject({ outcome: "superseded", supersededBy: { pipelineId: 200, jobId: 9 } });
    expect(writes()).toEqual([]);
    expect(ours()[0]!.body).toContain("from pipeline 200");
  });

  it("a forged marker note from another user is not ours: ignored, never taken for a later run", async () => {
    // Anyone who can comment can copy the marker and claim a later pipeline with an "all clear".
    const forged = gitlab.addNote(
      project,
      7,
      composeNoteBody("default", 1, 1, "### ✅ all clear\n", { pipelineId: 999_999, jobId: 1 }),
      person,
    );
    const logged: string[] = [];
    const result = await upsertReportNotes(api, {
      ...target,
      marker: "default",
      bodies: ["### ❌ 2 errors\n"],
      run: { pipelineId: 100, jobId: 5 },
      log: (text) => logged.push(text),
    });
    expect(result).toMatchObject({
      outcome: "posted",
      notes: [{ part: 1, action: "created" }],
      author: { id: bot.id, username: "project_42_bot" },
    });
    // Ours is the bot's note; the forged one stays as its author wrote it, and nothing tried to edit it.
    const mine = findReportNotes(gitlab.notesOf(project, 7), "default", bot.id);
    expect(mine.map((note) => note.body)).toEqual([expect.stringContaining("2 errors")]);
    expect(gitlab.notesOf(project, 7).find((note) => note.id === forged.id)!.body).toContain("all clear");
    expect(gitlab.requests.some((request) => request.path.endsWith(`/notes/${forged.id}`))).toBe(false);
    expect(logged.join("\n")).toContain(
      `note ${forged.id} by @alice carries this report's marker, but this token's user is @project_42_bot: not ours, left as it is`,
    );
    // The token's user came from GET /user.
    expect(gitlab.requests.filter((request) => request.path === "/api/v4/user")).toHaveLength(1);
  });

  it("an earlier token's report note is left alone instead of failing with 403", async () => {
    const oldBot = gitlab.addToken("glpat-old-bot-0123456789", { username: "project_42_bot_old", bot: true });
    const old = gitlab.addNote(project, 7, composeNoteBody("default", 1, 1, "old report\n", { pipelineId: 50 }), oldBot);
    const result = await upsert(["new report\n"], { pipelineId: 100 });
    expect(result.outcome).toBe("posted");
    expect(gitlab.requests.filter((request) => request.status === 403)).toEqual([]);
    expect(gitlab.notesOf(project, 7).map((note) => [note.author.username, note.body.split("\n").at(-2)])).toEqual([
      ["project_42_bot_old", "old report"],
      ["project_42_bot", "new report"],
    ]);
    expect(old.id).toBeLessThan(result.notes[0]!.id);
  });

  it("an older job that finds a newer report after creating its own note deletes the note it created", async () => {
    // The newer pipeline's report lands between the older job's create and its verification.
    let injected = false;
    const racing = createGitLabClient({
      apiUrl: gitlab.apiUrl,
      token: TOKEN,
      clock: fakeClock(),
      transport: wrapTransport(async (request, send) => {
        const response = await send(request);
        if (request.method === "POST" && !injected) {
          injected = true;
          gitlab.addNote(project, 7, composeNoteBody("default", 1, 1, "pipeline 200: 1 error\n", { pipelineId: 200, jobId: 30 }), bot);
        }
        return response;
      }),
    });
    const result = await upsert(["pipeline 100: all clear\n"], { pipelineId: 100, jobId: 20 }, racing);
    expect(result).toMatchObject({ outcome: "superseded", supersededBy: { pipelineId: 200, jobId: 30 } });
    expect(result.deleted).toHaveLength(1);
    expect(result.notes).toEqual([]);
    // No stale green note beside the real one.
    expect(gitlab.notesOf(project, 7).map((note) => note.body.split("\n").at(-2))).toEqual(["pipeline 200: 1 error"]);
  });

  it("refuses a part over GitLab's limit before sending anything", async () => {
    await expect(upsert(["x".repeat(1_000_000)])).rejects.toThrow(/over GitLab's 1000000; it must be split, not sent/);
    expect(gitlab.requests).toEqual([]);
  });

  it("rides out a 429 and a 500 in the middle of an update", async () => {
    await upsert(["first\n"]);
    gitlab.failNext(1, { status: 429, retryAfter: "2" }, { method: "PUT" });
    gitlab.failNext(1, { status: 500 }, { method: "GET" });
    const result = await upsert(["second\n"]);
    expect(result.notes[0]!.action).toBe("updated");
    expect(ours()).toHaveLength(1);
  });
});

describe("two report jobs at once", () => {
  it("end with exactly one note per part, the later job's", async () => {
    // Both jobs list (no notes yet), then both create: the server holds the creates until both arrive.
    gitlab.holdUntil(2, { method: "POST" });
    const other = createGitLabClient({ apiUrl: gitlab.apiUrl, token: TOKEN, clock: fakeClock() });
    const [earlier, later] = await Promise.all([
      upsert(["job 11 part 1\n", "job 11 part 2\n"], { pipelineId: 100, jobId: 11 }),
      upsert(["job 12 part 1\n", "job 12 part 2\n"], { pipelineId: 100, jobId: 12 }, other),
    ]);
    expect(gitlab.requests.filter((request) => request.method === "POST").length).toBeGreaterThanOrEqual(4);
    expect(later.outcome).toBe("posted");
    expect(earlier.outcome).toBe("superseded");
    const notes = ours();
    expect(notes.map((note) => note.part)).toEqual([1, 2]);
    expect(notes.every((note) => note.run.jobId === 12)).toBe(true);
    expect(notes.map((note) => note.body.split("\n").at(-2))).toEqual(["job 12 part 1", "job 12 part 2"]);
  });

  it("end with one note set when both write the same report", async () => {
    gitlab.holdUntil(2, { method: "POST" });
    const other = createGitLabClient({ apiUrl: gitlab.apiUrl, token: TOKEN, clock: fakeClock() });
    const run = { pipelineId: 100, jobId: 11 };
    const results = await Promise.all([upsert(["same\n"], run), upsert(["same\n"], run, other)]);
    expect(results.map((result) => result.outcome)).toEqual(["posted", "posted"]);
    expect(ours()).toHaveLength(1);
    expect(gitlab.notesOf(project, 7)).toHaveLength(1);
  });

  it("a create retried after a lost answer leaves no duplicate behind", async () => {
    // The first POST is applied, but its answer is a 502 (a proxy timed out): the retry creates a second note.
    let applied = false;
    const flaky = createGitLabClient({
      apiUrl: gitlab.apiUrl,
      token: TOKEN,
      clock: fakeClock(),
      transport: wrapTransport(async (request, send) => {
        const response = await send(request);
        if (request.method === "POST" && !applied) {
          applied = true;
          return { status: 502, headers: { "content-type": "text/html" }, body: Buffer.from("<html><body>502 Bad Gateway</body></html>") };
        }
        return response;
      }),
    });
    const result = await upsert(["report\n"], {}, flaky);
    expect(result.outcome).toBe("posted");
    expect(result.deleted).toHaveLength(1);
    expect(ours()).toHaveLength(1);
  });
});
