import { beforeEach, describe, expect, it } from "vitest";
import { createGitLabClient, type GitLabClient } from "../../../core/gitlab/client.ts";
import { GitLabApiError } from "../../../core/gitlab/request-handler.ts";
import { branchName } from "../../../tasks/promote/index.ts";
import { mergeRequestDescription, readPromoteGitLabAccess, upsertPromotionMergeRequest } from "../../../tasks/promote/merge-request.ts";
import { fakeClock } from "../../core/gitlab/fake-clock.ts";
import { FakeGitLab, type FakeProject } from "../../helpers/fake-gitlab.ts";
import { startGitLab } from "../../helpers/gitlab.ts";

const TOKEN = "glpat-merge-requests";
let gitlab: FakeGitLab;
let project: FakeProject;
let client: GitLabClient;

beforeEach(async () => {
  ({ gitlab, project } = await startGitLab({ project: "platform/gitops", tokens: { [TOKEN]: { username: "gitops-bot" } } }));
  client = createGitLabClient({ apiUrl: gitlab.apiUrl, token: TOKEN, clock: fakeClock() });
});
const fields = {
  sourceBranch: "gitops-ci/promote-staging-to-prod",
  targetBranch: "main",
  title: "Promote staging to prod",
  description: "first",
};

describe("the merge requests API, as the fake GitLab answers it", () => {
  it("creates, lists by source branch and state across pages, and edits", async () => {
    for (let index = 0; index < 120; index += 1)
      await client.createMergeRequest(project.id, { ...fields, targetBranch: `release-${index}` });
    await client.createMergeRequest("platform/gitops", { ...fields, sourceBranch: "other" });
    const listed = await client.listOpenMergeRequests(project.id, fields.sourceBranch);
    expect(listed).toHaveLength(120);
    expect(listed[0]).toMatchObject({
      iid: 1,
      source_branch: fields.sourceBranch,
      target_branch: "release-0",
      description: "first",
      state: "opened",
    });
    expect(gitlab.requests.filter((request) => request.method === "GET").map((request) => request.query["page"] ?? "1")).toEqual([
      "1",
      "2",
    ]);
    expect(await client.listOpenMergeRequests(project.id, fields.sourceBranch, "release-7")).toEqual([expect.objectContaining({ iid: 8 })]);

    const edited = await client.updateMergeRequest(project.id, 8, { description: "second" });
    expect(edited).toMatchObject({ iid: 8, description: "second", title: fields.title });
  });

  it("answers a second open merge request for the same branches with GitLab's 409", async () => {
    await client.createMergeRequest(project.id, fields);
    const error = await client.createMergeRequest(project.id, fields).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GitLabApiError);
    expect(error).toMatchObject({
      status: 409,
      gitlabMessage: expect.stringContaining("Another open merge request already exists for this source branch: !1"),
    });
  });
});

describe("upsertPromotionMergeRequest", () => {
  it("creates one merge request, leaves it alone when nothing changed, and updates only what changed", async () => {
    expect(await upsertPromotionMergeRequest(client, project.id, fields)).toMatchObject({ action: "created", mergeRequest: { iid: 1 } });
    const writes = () => gitlab.requests.filter((request) => request.method !== "GET").length;
    const before = writes();
    expect(await upsertPromotionMergeRequest(client, project.id, fields)).toMatchObject({ action: "unchanged", mergeRequest: { iid: 1 } });
    expect(writes()).toBe(before);
    expect(await upsertPromotionMergeRequest(client, project.id, { ...fields, description: "newer" })).toMatchObject({ action: "updated" });
    const put = gitlab.requests.at(-1)!;
    expect(put.method).toBe("PUT");
    expect(JSON.parse(put.body)).toEqual({ description: "newer" });
    expect(project.mergeRequests.size).toBe(1);
  });

  it("opens a new merge request once the old one is merged", async () => {
    await upsertPromotionMergeRequest(client, project.id, fields);
    project.mergeRequests.get(1)!.state = "merged";
    expect(await upsertPromotionMergeRequest(client, project.id, fields)).toMatchObject({ action: "created", mergeRequest: { iid: 2 } });
  });
});

describe("promotion merge request text", () => {
  it("is the same for the same promotion, escapes table cells and fences the diff", () => {
    const summary = {
      from: "staging",
      to: "prod",
      promotions: [
        {
          layer: "apps",
          subject: { type: "object", kind: "HelmRelease", name: "gitlab" } as const,
          path: ["spec", "values", "a|b"],
          value: "x|y",
          targetHasValue: false,
          reason: "new-override" as const,
          sourceFile: "p.yaml",
        },
      ],
      kept: [],
      diffs: [{ environment: "prod", layer: "apps", diff: "--- a\n+++ b\n@@ -1 +1 @@\n-a: 1\n+a: 2" }],
    };
    const text = mergeRequestDescription(summary);
    expect(text).toBe(mergeRequestDescription(summary));
    expect(text).toContain("<!-- gitops-ci:promote staging->prod -->");
    expect(text).toContain("| apps | HelmRelease gitlab | `spec.values.a\\|b` | (base) | `x\\|y` | not set in the target |");
    expect(text).toContain("```diff\n--- a\n+++ b\n@@ -1 +1 @@\n-a: 1\n+a: 2\n```");
  });

  it("keeps names and values from the repository inert: HTML, mentions, backticks, fences", () => {
    const text = mergeRequestDescription({
      from: "staging",
      to: "prod",
      promotions: [
        {
          layer: "<script>@all",
          subject: { type: "object", kind: "ConfigMap", name: "a_b-c" } as const,
          path: ["data", "k"],
          value: "``x`` @all",
          targetHasValue: false,
          reason: "new-override" as const,
          sourceFile: "p.yaml",
        },
      ],
      kept: [],
      diffs: [{ environment: "prod", layer: "<b>apps</b>", diff: "--- a\n+++ b\n@@ -1 +1 @@\n-a: ```\n+a: ````" }],
    });
    expect(text).toContain("| \\<script\\>\\@all | ConfigMap a_b-c | `data.k` | (base) | ``` ``x`` @all ``` | not set in the target |");
    expect(text).toContain("<summary>prod/&lt;b&gt;apps&lt;/b&gt;</summary>");
    expect(text).toContain("`````diff\n--- a\n+++ b\n@@ -1 +1 @@\n-a: ```\n+a: ````\n`````");
    expect(text).not.toContain("<script>");
  });

  it("names the branch after the environments, component and layer", () => {
    expect(branchName("staging", "prod")).toBe("gitops-ci/promote-staging-to-prod");
    expect(branchName("staging", "prod", "registry.example.com/team/api", "apps")).toBe(
      "gitops-ci/promote-staging-to-prod-registry.example.com-team-api-apps",
    );
  });

  it("reads GitLab access from CI variables: all, none, or a usage error naming the missing ones", () => {
    expect(readPromoteGitLabAccess({})).toBeUndefined();
    expect(
      readPromoteGitLabAccess({ CI_API_V4_URL: "https://gitlab.example.com/api/v4/", CI_PROJECT_ID: "42", GITLAB_TOKEN: "t" }),
    ).toEqual({
      apiUrl: "https://gitlab.example.com/api/v4",
      projectId: 42,
      token: "t",
      tokenVariable: "GITLAB_TOKEN",
    });
    expect(() => readPromoteGitLabAccess({ CI_API_V4_URL: "https://gitlab.example.com/api/v4", CI_PROJECT_ID: "42" })).toThrow(
      /missing GITOPS_CI_GITLAB_TOKEN/,
    );
  });
});
