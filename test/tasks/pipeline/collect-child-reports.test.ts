// The parent's report job downloading a child pipeline's reports, against a local server that
// answers as GitLab's REST API v4 does for the three routes it uses (docs/api/jobs.md):
//   GET /projects/:id/pipelines/:pipeline_id/bridges     trigger jobs, each with downstream_pipeline
//   GET /projects/:id/pipelines/:pipeline_id/jobs        paginated by page/per_page (at most 100)
//   GET /projects/:id/jobs/:job_id/artifacts/*path       the raw file, or 404 {"message":"404 Not Found"}
// A CI_JOB_TOKEN may use the third route only: the first two answer 401 to it (gitlab#467492).
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { collectChildren } from "../../../tasks/pipeline/index.ts";
import { captureContext } from "../../helpers/context.ts";
import { makeTempDir } from "../../helpers/temp-repo.ts";

const ACCESS_TOKEN = "glpat-reportreadertoken0001";
const JOB_TOKEN = "glcbt-jobtoken0001";
const PROJECT = 42;
const PARENT = 100;
const CHILD = 200;

interface FakeChild {
  bridges: { id: number; name: string; status: string; downstream_pipeline: { id: number } | null }[];
  jobs: { id: number; name: string; status: string }[];
  /** job id -> artifact path -> content */
  artifacts: Record<number, Record<string, string>>;
}

async function fakeGitLab(child: FakeChild) {
  const requests: { method: string; url: string; token: string | undefined }[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    const token = (request.headers["private-token"] as string | undefined) ?? (request.headers["job-token"] as string | undefined);
    requests.push({ method: request.method ?? "GET", url: url.pathname + url.search, token });
    const json = (status: number, body: unknown) => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    };
    if (token !== ACCESS_TOKEN && token !== JOB_TOKEN) return json(401, { message: "401 Unauthorized" });
    const prefix = `/api/v4/projects/${PROJECT}`;
    let match: RegExpExecArray | null;
    if ((match = new RegExp(`^${prefix}/pipelines/(\\d+)/bridges$`).exec(url.pathname))) {
      if (token === JOB_TOKEN) return json(401, { message: "401 Unauthorized" });
      return json(200, Number(match[1]) === PARENT ? child.bridges : []);
    }
    if ((match = new RegExp(`^${prefix}/pipelines/(\\d+)/jobs$`).exec(url.pathname))) {
      if (token === JOB_TOKEN) return json(401, { message: "401 Unauthorized" });
      const perPage = Math.min(Number(url.searchParams.get("per_page") ?? 20), 100);
      const page = Number(url.searchParams.get("page") ?? 1);
      const jobs = Number(match[1]) === CHILD ? child.jobs : [];
      return json(200, jobs.slice((page - 1) * perPage, page * perPage));
    }
    if ((match = new RegExp(`^${prefix}/jobs/(\\d+)/artifacts/(.+)$`).exec(url.pathname))) {
      const file = child.artifacts[Number(match[1])]?.[decodeURIComponent(match[2]!)];
      if (file === undefined) return json(404, { message: "404 Not Found" });
      response.writeHead(200, { "content-type": "application/octet-stream" });
      return response.end(file);
    }
    json(404, { error: "404 Not Found" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return { apiUrl: `http://127.0.0.1:${port}/api/v4`, requests };
}

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

function reportJson(env: string, layer: string): string {
  return JSON.stringify({ tool: "gitops-ci", schemaVersion: 1, summary: [{ environment: env, layer }], findings: [] });
}

async function setUp(child: FakeChild, token = ACCESS_TOKEN) {
  const server = await fakeGitLab(child);
  const root = await makeTempDir();
  await writeFile(path.join(root, "gitops-ci-child.yml"), CHILD_YAML);
  const captured = captureContext(root, {
    CI_API_V4_URL: server.apiUrl,
    CI_PROJECT_ID: String(PROJECT),
    CI_PIPELINE_ID: String(PARENT),
    GITOPS_CI_GITLAB_TOKEN: token,
  });
  return { ...server, root, ...captured };
}

const standardChild = (): FakeChild => ({
  bridges: [
    { id: 7, name: "other-trigger", status: "success", downstream_pipeline: { id: 999 } },
    { id: 8, name: "gitops-ci:checks", status: "failed", downstream_pipeline: { id: CHILD } },
  ],
  jobs: [
    { id: 300, name: "gitops-ci:prod:controllers", status: "failed" },
    { id: 301, name: "gitops-ci:prod:configs", status: "skipped" },
    { id: 310, name: "gitops-ci:aggregate", status: "success" },
    // A retry: the newer job is the one to read.
    { id: 320, name: "gitops-ci:aggregate", status: "success" },
  ],
  artifacts: {
    310: { "gitops-ci-reports/prod/controllers/report.json": "stale" },
    320: {
      "gitops-ci-reports/prod/controllers/report.json": reportJson("prod", "controllers"),
      "gitops-ci-reports/prod/controllers/junit.xml": "<testsuites/>",
      "gitops-ci-reports/prod/controllers/gl-code-quality-report.json": "[]",
      "gitops-ci-reports/prod/controllers/report.md": `token ${ACCESS_TOKEN} leaked`,
    },
  },
});

describe("gitops-ci pipeline --collect-children", () => {
  it("finds the child pipeline through the trigger job and downloads each check job's reports from the aggregation job", async () => {
    const { root, context, stdout, stderr, requests } = await setUp(standardChild());
    const result = await collectChildren(context, { childFile: "gitops-ci-child.yml" });

    expect(result.childPipelineId).toBe(CHILD);
    expect(result.aggregateJobId).toBe(320);
    expect(result.collected.map((entry) => entry.job.name)).toEqual(["gitops-ci:prod:controllers"]);
    expect(result.missing.map((job) => job.name)).toEqual(["gitops-ci:prod:configs"]);
    const files = await readdir(path.join(root, "gitops-ci-reports", "prod", "controllers"));
    expect(files.sort()).toEqual(["gl-code-quality-report.json", "junit.xml", "report.json", "report.md"]);
    expect(JSON.parse(await readFile(path.join(root, "gitops-ci-reports/prod/controllers/report.json"), "utf8"))).toMatchObject({ tool: "gitops-ci" });
    // The token never lands in a file or the log.
    expect(await readFile(path.join(root, "gitops-ci-reports/prod/controllers/report.md"), "utf8")).not.toContain(ACCESS_TOKEN);
    expect(stdout() + stderr()).not.toContain(ACCESS_TOKEN);
    expect(stdout()).toContain(`Child pipeline ${CHILD}: reports of 1 of 2 check jobs`);
    expect(stderr()).toContain("no report from gitops-ci:prod:configs");
    expect(requests.every((request) => request.token === ACCESS_TOKEN)).toBe(true);
    expect(requests[0]!.url).toBe(`/api/v4/projects/${PROJECT}/pipelines/${PARENT}/bridges`);
  });

  it("pages through a child pipeline with more than 100 jobs", async () => {
    const child = standardChild();
    child.jobs = [...Array.from({ length: 150 }, (_, index) => ({ id: 1000 + index, name: `gitops-ci:env${index}:apps`, status: "success" })), ...child.jobs];
    const { context } = await setUp(child);
    expect((await collectChildren(context, { childFile: "gitops-ci-child.yml" })).aggregateJobId).toBe(320);
  });

  it("explains that CI_JOB_TOKEN cannot list a pipeline's trigger jobs", async () => {
    const { context } = await setUp(standardChild(), JOB_TOKEN);
    await expect(collectChildren(context, { childFile: "gitops-ci-child.yml" })).rejects.toMatchObject({
      message: expect.stringContaining("401"),
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
    const child = standardChild();
    child.bridges = child.bridges.filter((bridge) => bridge.name !== "gitops-ci:checks");
    const { context } = await setUp(child);
    await expect(collectChildren(context, { childFile: "gitops-ci-child.yml" })).rejects.toMatchObject({
      message: expect.stringContaining('no trigger job "gitops-ci:checks"'),
      hint: expect.stringContaining("other-trigger"),
    });
  });

  it("reports a trigger job whose child pipeline was never created", async () => {
    const child = standardChild();
    child.bridges = [{ id: 8, name: "gitops-ci:checks", status: "failed", downstream_pipeline: null }];
    const { context } = await setUp(child);
    await expect(collectChildren(context, { childFile: "gitops-ci-child.yml" })).rejects.toThrow(/has no child pipeline \(status failed\)/);
  });
});
