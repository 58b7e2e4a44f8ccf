import { beforeEach, describe, expect, it } from "vitest";
import { createGitLabClient, type GitLabClient } from "../../../core/gitlab/client.ts";
import { GitLabApiError } from "../../../core/gitlab/request-handler.ts";
import { FakeGitLab, type FakePipeline, type FakeProject } from "../../helpers/fake-gitlab.ts";
import { startGitLab } from "../../helpers/gitlab.ts";
import { fakeClock } from "./fake-clock.ts";

const TOKEN = "glpat-reader-0123456789";
let gitlab: FakeGitLab;
let project: FakeProject;
let pipeline: FakePipeline;
let api: GitLabClient;

beforeEach(async () => {
  ({ gitlab, project } = await startGitLab({ projectId: 42, tokens: { [TOKEN]: { username: "reader", scopes: ["read_api"] } } }));
  pipeline = gitlab.addPipeline(project);
  api = createGitLabClient({ apiUrl: gitlab.apiUrl, token: TOKEN, clock: fakeClock() });
});

describe("the pipeline jobs API", () => {
  it("lists trigger jobs and jobs across pages, 100 at a time", async () => {
    const child = gitlab.addPipeline(project, { source: "parent_pipeline" });
    for (let index = 0; index < 105; index += 1) gitlab.addBridge(pipeline, { name: `trigger-${index}` });
    gitlab.addBridge(pipeline, { name: "checks", downstream: child });
    for (let index = 0; index < 120; index += 1) gitlab.addJob(child, { name: `job-${index}` });

    const bridges = await api.listPipelineBridges(42, pipeline.id);
    expect(bridges).toHaveLength(106);
    expect(bridges.find((bridge) => bridge.name === "checks")).toMatchObject({ downstream_pipeline: { id: child.id } });
    expect(bridges.find((bridge) => bridge.name === "trigger-0")).toMatchObject({ downstream_pipeline: null, status: "success" });
    expect(await api.listPipelineJobs("platform/fleet", child.id)).toHaveLength(120);
    expect(
      gitlab.requests.map((request) => [
        request.path.replace(/^.*\/pipelines\/\d+\//, ""),
        request.query["page"] ?? "1",
        request.query["per_page"],
      ]),
    ).toEqual([
      ["bridges", "1", "100"],
      ["bridges", "2", "100"],
      ["jobs", "1", "100"],
      ["jobs", "2", "100"],
    ]);
  });

  it("downloads one artifact file exactly as stored, and answers undefined when there is none", async () => {
    const text = '{\n  "tool": "gitops-ci"\n}\n';
    const job = gitlab.addJob(pipeline, { name: "aggregate", artifacts: { "reports/prod/apps & more/report.json": text } });
    const bare = gitlab.addJob(pipeline, { name: "lint" });
    expect(await api.downloadJobArtifact(42, job.id, "reports/prod/apps & more/report.json")).toBe(text);
    expect(gitlab.requests[0]!.path).toBe(`/api/v4/projects/42/jobs/${job.id}/artifacts/reports/prod/apps%20%26%20more/report.json`);
    expect(await api.downloadJobArtifact(42, job.id, "reports/prod/apps & more/junit.xml")).toBeUndefined();
    expect(await api.downloadJobArtifact(42, bare.id, "reports/prod/apps & more/report.json")).toBeUndefined();
  });

  it("still fails on anything but a missing file", async () => {
    const job = gitlab.addJob(pipeline, { name: "aggregate", artifacts: { "report.json": "{}" } });
    const denied = createGitLabClient({ apiUrl: gitlab.apiUrl, token: "glpat-wrong", clock: fakeClock() });
    await expect(denied.downloadJobArtifact(42, job.id, "report.json")).rejects.toBeInstanceOf(GitLabApiError);
    await expect(api.downloadJobArtifact(99, job.id, "report.json")).rejects.toMatchObject({
      status: 404,
      gitlabMessage: "404 Project Not Found",
    });
  });
});
