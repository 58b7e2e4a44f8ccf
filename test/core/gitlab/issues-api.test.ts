import { beforeEach, describe, expect, it } from "vitest";
import { createGitLabClient, type GitLabClient } from "../../../core/gitlab/client.ts";
import { FakeGitLab, type FakeProject } from "../../helpers/fake-gitlab.ts";
import { startGitLab } from "../../helpers/gitlab.ts";
import { fakeClock } from "./fake-clock.ts";

const TOKEN = "glpat-issues-bot-0123456789";
let gitlab: FakeGitLab;
let project: FakeProject;
let api: GitLabClient;

beforeEach(async () => {
  ({ gitlab, project } = await startGitLab({ projectId: 42, tokens: { [TOKEN]: { username: "bot" } } }));
  api = createGitLabClient({
    apiUrl: gitlab.apiUrl,
    token: TOKEN,
    clock: fakeClock(),
    redact: (text) => text.replaceAll("CANARY-1234", "[REDACTED]"),
  });
});

describe("the issues API", () => {
  it("lists by labels and search, open and closed, most recently updated first, across pages", async () => {
    for (let index = 0; index < 130; index += 1)
      gitlab.addIssue(project, { title: `Drift in env-${index}`, labels: ["drift", "ops"], state: index % 2 === 0 ? "opened" : "closed" });
    gitlab.addIssue(project, { title: "Drift in env-x", labels: ["ops"] });
    const all = await api.listIssues(42, { labels: ["drift", "ops"] });
    expect(all).toHaveLength(130);
    expect(all[0]).toMatchObject({
      iid: 130,
      title: "Drift in env-129",
      state: "closed",
      labels: ["drift", "ops"],
      description: "",
      web_url: `${gitlab.url}/platform/fleet/-/issues/130`,
    });
    expect(new Set(all.map((issue) => issue.state))).toEqual(new Set(["opened", "closed"]));
    expect(
      (await api.listIssues("platform/fleet", { labels: ["drift"], search: "env-7", state: "opened" })).map((issue) => issue.title),
    ).toEqual(["Drift in env-78", "Drift in env-76", "Drift in env-74", "Drift in env-72", "Drift in env-70"]);
  });

  it("creates, edits with state_event, and comments; bodies pass the redactor", async () => {
    const created = await api.createIssue(42, { title: "Drift in prod", description: "value CANARY-1234", labels: ["drift"] });
    expect(created).toMatchObject({ iid: 1, state: "opened", labels: ["drift"], description: "value [REDACTED]" });
    expect(await api.editIssue(42, 1, { stateEvent: "close", title: "Drift in prod (gone)" })).toMatchObject({
      state: "closed",
      title: "Drift in prod (gone)",
    });
    expect(await api.editIssue(42, 1, { stateEvent: "reopen" })).toMatchObject({ state: "opened" });
    expect(await api.createIssueNote(42, 1, "seen again CANARY-1234")).toMatchObject({ body: "seen again [REDACTED]" });
    expect(gitlab.sentText()).not.toContain("CANARY-1234");
    expect(gitlab.requests.filter((request) => request.method === "PUT").map((request) => JSON.parse(request.body) as unknown)).toEqual([
      { state_event: "close", title: "Drift in prod (gone)" },
      { state_event: "reopen" },
    ]);
  });
});
