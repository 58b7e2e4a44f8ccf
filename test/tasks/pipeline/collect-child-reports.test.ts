// The parent's report job downloading a child pipeline's reports, against the fake GitLab, which
// answers the three routes it uses as GitLab's REST API v4 does (docs/api/jobs.md,
// docs/api/job_artifacts.md):
//   GET /projects/:id/pipelines/:pipeline_id/bridges     trigger jobs, each with downstream_pipeline
//   GET /projects/:id/pipelines/:pipeline_id/jobs        paginated, retried jobs left out
//   GET /projects/:id/jobs/:job_id/artifacts/*path       the file as stored, or 404
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { collectChildren } from "../../../tasks/pipeline/index.ts";
import { fakeClock } from "../../core/gitlab/fake-clock.ts";
import { captureContext } from "../../helpers/context.ts";
import { FakeGitLab, type FakePipeline, type FakeProject } from "../../helpers/fake-gitlab.ts";
import { gitLabClientWith, startGitLab } from "../../helpers/gitlab.ts";
import { makeTempDir } from "../../helpers/temp-repo.ts";

const ACCESS_TOKEN = "glpat-reportreadertoken0001";
const JOB_TOKEN = "glcbt-jobtoken0001";

const CHILD_YAML = `
stages: [gitops-ci-check, gitops-ci-aggregate]
gitops-ci:prod:controllers:
  variables: { GITOPS_CI_ENV: prod, GITOPS_CI_LAYER: controllers, GITOPS_CI_REPORT_DIR: gitops-ci-reports/prod/controllers }
  script: [gitops-ci check]
gitops-ci:prod:configs:
  variables: { GITOPS_CI_ENV: prod, GITOPS_CI_LAYER: configs, GITOPS_CI_REPORT_DIR: gitops-ci-reports/prod/configs }
  script: [gitops-ci check]
gitops-ci:aggregate:
  script: [find gitops-ci-reports]
`;

/** As `check --out` writes it: indented, so a byte-exact copy is visible. */
function reportJson(env: string, layer: string): string {
  return `${JSON.stringify({ tool: "gitops-ci", schemaVersion: 1, summary: [{ environment: env, layer }], findings: [] }, null, 2)}\n`;
}

interface Pipelines {
  gitlab: FakeGitLab;
  project: FakeProject;
  parent: FakePipeline;
  child: FakePipeline;
}

/** A parent pipeline whose trigger job started a child; the child's aggregation job was retried once. */
async function standardPipelines(): Promise<Pipelines> {
  const { gitlab, project } = await startGitLab({ projectId: 42, tokens: { [ACCESS_TOKEN]: { username: "report_reader", scopes: ["read_api"] } } });
  const parent = gitlab.addPipeline(project, { source: "merge_request_event" });
  const child = gitlab.addPipeline(project, { source: "parent_pipeline", status: "failed" });
  const other = gitlab.addPipeline(project, { source: "parent_pipeline" });
  gitlab.addBridge(parent, { name: "other-trigger", downstream: other });
  gitlab.addBridge(parent, { name: "gitops-ci:checks", status: "failed", downstream: child });
  gitlab.addJob(child, { name: "gitops-ci:prod:controllers", status: "failed" });
  gitlab.addJob(child, { name: "gitops-ci:prod:configs", status: "skipped" });
  gitlab.addJob(child, { name: "gitops-ci:aggregate", retried: true, artifacts: { "gitops-ci-reports/prod/controllers/report.json": "stale" } });
  gitlab.addJob(child, {
    name: "gitops-ci:aggregate",
    artifacts: {
      "gitops-ci-reports/prod/controllers/report.json": reportJson("prod", "controllers"),
      "gitops-ci-reports/prod/controllers/junit.xml": "<testsuites/>\n",
      "gitops-ci-reports/prod/controllers/gl-code-quality-report.json": "[]\n",
      "gitops-ci-reports/prod/controllers/report.md": `token ${ACCESS_TOKEN} leaked\n`,
    },
  });
  return { gitlab, project, parent, child };
}

async function setUp(pipelines: Pipelines, token = ACCESS_TOKEN) {
  const root = await makeTempDir();
  await writeFile(path.join(root, "gitops-ci-child.yml"), CHILD_YAML);
  const captured = captureContext(root, {
    CI_API_V4_URL: pipelines.gitlab.apiUrl,
    CI_PROJECT_ID: String(pipelines.project.id),
    CI_PIPELINE_ID: String(pipelines.parent.id),
    GITOPS_CI_GITLAB_TOKEN: token,
  });
  return { root, ...captured };
}

const aggregateOf = (child: FakePipeline) => child.jobs.filter((job) => job.name === "gitops-ci:aggregate" && !job.retried)[0]!;

describe("gitops-ci pipeline --collect-children", () => {
  it("finds the child pipeline through the trigger job and downloads each check job's reports from the aggregation job", async () => {
    const pipelines = await standardPipelines();
    const { root, context, stdout, stderr } = await setUp(pipelines);
    const result = await collectChildren(context, { childFile: "gitops-ci-child.yml" });

    expect(result.childPipelineId).toBe(pipelines.child.id);
    expect(result.aggregateJobId).toBe(aggregateOf(pipelines.child).id);
    expect(result.collected.map((entry) => entry.job.name)).toEqual(["gitops-ci:prod:controllers"]);
    expect(result.missing.map((job) => job.name)).toEqual(["gitops-ci:prod:configs"]);
    const files = await readdir(path.join(root, "gitops-ci-reports", "prod", "controllers"));
    expect(files.sort()).toEqual(["gl-code-quality-report.json", "junit.xml", "report.json", "report.md"]);
    // Byte for byte, though GitLab labels the file application/json.
    expect(await readFile(path.join(root, "gitops-ci-reports/prod/controllers/report.json"), "utf8")).toBe(reportJson("prod", "controllers"));
    // The token never lands in a file or the log.
    expect(await readFile(path.join(root, "gitops-ci-reports/prod/controllers/report.md"), "utf8")).not.toContain(ACCESS_TOKEN);
    expect(stdout() + stderr()).not.toContain(ACCESS_TOKEN);
    expect(stdout()).toContain(`Child pipeline ${pipelines.child.id}: reports of 1 of 2 check jobs`);
    expect(stderr()).toContain("no report from gitops-ci:prod:configs");
    const requests = pipelines.gitlab.requests;
    expect(requests.every((request) => request.headers["private-token"] === ACCESS_TOKEN)).toBe(true);
    expect(requests[0]!.path).toBe(`/api/v4/projects/42/pipelines/${pipelines.parent.id}/bridges`);
  });

  it("pages through a child pipeline with more than 100 jobs", async () => {
    const pipelines = await standardPipelines();
    for (let index = 0; index < 150; index += 1) pipelines.gitlab.addJob(pipelines.child, { name: `gitops-ci:env${index}:apps` });
    const { context } = await setUp(pipelines);
    expect((await collectChildren(context, { childFile: "gitops-ci-child.yml" })).aggregateJobId).toBe(aggregateOf(pipelines.child).id);
    const jobPages = pipelines.gitlab.requests.filter((request) => request.path.endsWith(`/pipelines/${pipelines.child.id}/jobs`));
    expect(jobPages.map((request) => request.query["page"] ?? "1")).toEqual(["1", "2"]);
  });

  it("waits out a 429 with Retry-After and a 502 on every kind of request", async () => {
    const pipelines = await standardPipelines();
    const { gitlab } = pipelines;
    gitlab.failNext(1, { status: 429, retryAfter: "5" }, { path: /\/bridges$/ });
    gitlab.failNext(1, { status: 502 }, { path: /\/bridges$/ });
    gitlab.failNext(1, { status: 502 }, { path: /\/pipelines\/\d+\/jobs$/ });
    gitlab.failNext(1, { status: 429, retryAfter: "7" }, { path: /\/artifacts\/.*report\.json$/ });
    const clock = fakeClock();
    const { root, context, stderr } = await setUp(pipelines);
    const result = await collectChildren({ ...context, gitlab: gitLabClientWith({ clock, random: () => 0.5 }) }, { childFile: "gitops-ci-child.yml" });

    expect(result.collected.map((entry) => entry.job.name)).toEqual(["gitops-ci:prod:controllers"]);
    expect(await readFile(path.join(root, "gitops-ci-reports/prod/controllers/report.json"), "utf8")).toBe(reportJson("prod", "controllers"));
    // Retry-After as asked; a 502 backs off (1 s step, half of it fixed, half jitter).
    expect(clock.sleeps).toEqual([5_000, 1_500, 750, 7_000]);
    expect(gitlab.requests.filter((request) => request.status !== 200 && request.status !== 404).map((request) => request.status)).toEqual([429, 502, 502, 429]);
    expect(stderr()).toContain(`GitLab: GET /projects/42/pipelines/${pipelines.parent.id}/bridges answered 429 (429 Retry later); retrying in 5.0 s (attempt 2)`);
  });

  it("explains that CI_JOB_TOKEN cannot list a pipeline's trigger jobs", async () => {
    const { context } = await setUp(await standardPipelines(), JOB_TOKEN);
    await expect(collectChildren(context, { childFile: "gitops-ci-child.yml" })).rejects.toMatchObject({
      status: 401,
      message: expect.stringContaining("HTTP 401 on GET /projects/42/pipelines/"),
      hint: expect.stringContaining("read_api"),
    });
  });

  it("names the missing variables, the token under the name the report job uses", async () => {
    const root = await makeTempDir();
    await writeFile(path.join(root, "gitops-ci-child.yml"), CHILD_YAML);
    const { context } = captureContext(root, { CI_API_V4_URL: "http://127.0.0.1:9/api/v4" });
    await expect(collectChildren(context, { childFile: "gitops-ci-child.yml" })).rejects.toThrow(/CI_PROJECT_ID, CI_PIPELINE_ID, GITOPS_CI_GITLAB_TOKEN not set/);
  });

  it("says which trigger jobs exist when the expected one is not there", async () => {
    const pipelines = await standardPipelines();
    pipelines.parent.bridges = pipelines.parent.bridges.filter((bridge) => bridge.name !== "gitops-ci:checks");
    const { context } = await setUp(pipelines);
    await expect(collectChildren(context, { childFile: "gitops-ci-child.yml" })).rejects.toMatchObject({
      message: expect.stringContaining('no trigger job "gitops-ci:checks"'),
      hint: expect.stringContaining("other-trigger"),
    });
  });

  it("reports a trigger job whose child pipeline was never created", async () => {
    const pipelines = await standardPipelines();
    pipelines.parent.bridges = [];
    pipelines.gitlab.addBridge(pipelines.parent, { name: "gitops-ci:checks", status: "failed" });
    const { context } = await setUp(pipelines);
    await expect(collectChildren(context, { childFile: "gitops-ci-child.yml" })).rejects.toThrow(/has no child pipeline \(status failed\)/);
  });
});
