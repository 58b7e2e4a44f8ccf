// The merge request pipeline end to end: gitlab-ci-local runs the component's jobs for real in
// shell mode on a copy of examples/layout-a, each job in its own copy of the repository
// (--shell-isolation) and nothing copied back into it (--no-artifacts-to-source), so a job sees
// another job's files only through `needs` and artifacts, as on a GitLab runner.
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { startGitLab } from "../helpers/gitlab.ts";
import { CASES_DIR, jobEvents, makePipelineRepo, type JobEvent } from "./gitlab-ci-local.ts";

const TIMEOUT = 300_000;
const LAYERS = ["controllers", "configs", "apps"] as const;
const ENVIRONMENTS = ["staging", "prod"] as const;
const SHELL = ["--force-shell-executor", "--shell-isolation", "--no-artifacts-to-source"];
const MERGE_REQUEST = ["--variable", "CI_PIPELINE_SOURCE=merge_request_event"];
const BROKEN_OVERLAY = "gitops/flux/infrastructure/controllers/overlays/prod/kustomization.yaml";

const checkJob = (env: string) => `gitops-ci:check: [${env}]`;
const indexOf = (events: JobEvent[], job: string, event: JobEvent["event"]) => events.findIndex((entry) => entry.job === job && entry.event === event);

function expectLayerOrder(events: JobEvent[], jobName: (layer: string, env: string) => string, env: string) {
  for (let i = 1; i < LAYERS.length; i++) {
    const before = indexOf(events, jobName(LAYERS[i - 1]!, env), "finish");
    const after = indexOf(events, jobName(LAYERS[i]!, env), "start");
    expect(before, `${jobName(LAYERS[i - 1]!, env)} finished`).toBeGreaterThanOrEqual(0);
    expect(after, `${jobName(LAYERS[i]!, env)} started after it`).toBeGreaterThan(before);
  }
}

/** The layers a static check job checked, in the order its log shows them. */
function layersChecked(output: string, env: string): string[] {
  const pattern = new RegExp(`^${checkJob(env).replace(/[[\]]/g, "\\$&")}\\s+> ${env}/(\\S+): gitops-ci check `, "gm");
  return [...output.matchAll(pattern)].map((match) => match[1]!);
}

const reportJsons = (files: string[]) => files.filter((file) => path.posix.basename(file) === "report.json" && file.startsWith("gitops-ci-reports/")).sort();

describe("merge request pipeline (mode static) on examples/layout-a", () => {
  it("checks the layers in order in each environment's job and hands every report to the report job", { timeout: TIMEOUT }, async () => {
    const repo = await makePipelineRepo({ fleet: "examples/layout-a", pipelineFile: path.join(CASES_DIR, "merge-request", ".gitlab-ci.yml") });
    const result = await repo.run([...SHELL, ...MERGE_REQUEST]);
    expect(result.exitCode, result.output).toBe(0);

    const events = jobEvents(result.output);
    for (const env of ENVIRONMENTS) expect(layersChecked(result.output, env), env).toEqual([...LAYERS]);
    const lastCheck = Math.max(...ENVIRONMENTS.map((env) => indexOf(events, checkJob(env), "finish")));
    expect(indexOf(events, "gitops-ci:report", "start")).toBeGreaterThan(lastCheck);
    expect(events.filter((event) => event.failed)).toEqual([]);

    // Each check job publishes its own environment's reports, and only those.
    expect(reportJsons(await repo.artifactsOf(checkJob("prod")))).toEqual(LAYERS.map((layer) => `gitops-ci-reports/prod/${layer}/report.json`).sort());
    expect(await repo.artifactsOf(checkJob("prod"))).toContain("gitops-ci-reports/prod/configs/junit.xml");

    // The report job received all six through `needs`, and its note covers all six overlays.
    const reportFiles = await repo.artifactsOf("gitops-ci:report");
    expect(reportJsons(reportFiles)).toEqual(ENVIRONMENTS.flatMap((env) => LAYERS.map((layer) => `gitops-ci-reports/${env}/${layer}/report.json`)).sort());
    expect(result.output).toMatch(/gitops-ci:report\s+> reports of 6 jobs:/);
    const note = await repo.readArtifact("gitops-ci:report", "gitops-ci-note.md");
    for (const env of ENVIRONMENTS) for (const layer of LAYERS) expect(note).toContain(`| ${layer} | ${env} |`);
    expect(note).not.toContain("Not checked");
    expect(reportFiles).toContain("gitops-ci-report/merge-request-note.md");
  });

  it("a controllers failure stops that environment's configs and apps only; the report runs after it (when: always) and says what did not run", { timeout: TIMEOUT }, async () => {
    const repo = await makePipelineRepo({ fleet: "examples/layout-a", pipelineFile: path.join(CASES_DIR, "merge-request", ".gitlab-ci.yml") });
    const base = await repo.git("rev-parse", "HEAD");
    await repo.git("checkout", "-q", "-b", "break-prod-controllers");
    const file = path.join(repo.root, BROKEN_OVERLAY);
    await writeFile(file, (await readFile(file, "utf8")).replace("  - lb-ip-pool.yaml\n", "  - lb-ip-pool.yaml\n  - missing-file.yaml\n"));
    await repo.git("commit", "-qam", "refer to a file that does not exist");

    // changed-only: the merge base is what GitLab passes as CI_MERGE_REQUEST_DIFF_BASE_SHA.
    const variables = [...MERGE_REQUEST, "--variable", `CI_MERGE_REQUEST_DIFF_BASE_SHA=${base}`];
    const result = await repo.run([...SHELL, ...variables]);
    expect(result.exitCode, result.output).not.toBe(0);

    const events = jobEvents(result.output);
    // The Git diff cannot compare the Kustomization that no longer renders: it says so and fails (exit 2).
    expect(events.filter((event) => event.failed).map((event) => event.job).sort()).toEqual([checkJob("prod"), "gitops-ci:git-diff"].sort());
    expect(await repo.artifactsOf("gitops-ci:git-diff")).toEqual(expect.arrayContaining(["gitops-ci-git-diff/git-diff.json", "gitops-ci-git-diff/git-diff.html", "gitops-ci-git-diff/git-diff.md"]));
    expect(layersChecked(result.output, "prod")).toEqual(["controllers"]);
    expect(result.output).toContain("prod/configs: not checked, prod/controllers failed");
    expect(result.output).toContain("prod/apps: not checked, prod/controllers failed");
    expect(layersChecked(result.output, "staging")).toEqual([...LAYERS]);
    expect(result.output).toContain("render/missing-base");

    // The report job ran in the same pipeline, after the failed job, and did not fail itself.
    // (gitlab-ci-local logs a failed job's "finished" line only in its closing summary: order by the job's last words.)
    expect(result.output.search(/^gitops-ci:report\s+starting shell/m)).toBeGreaterThan(result.output.indexOf("prod/apps: not checked, prod/controllers failed"));
    expect(events.find((event) => event.job === "gitops-ci:report" && event.event === "finish")?.failed).toBe(false);
    expect(reportJsons(await repo.artifactsOf("gitops-ci:report"))).toEqual([
      "gitops-ci-reports/prod/controllers/report.json",
      "gitops-ci-reports/staging/apps/report.json",
      "gitops-ci-reports/staging/configs/report.json",
      "gitops-ci-reports/staging/controllers/report.json",
    ]);
    const note = await repo.readArtifact("gitops-ci:report", "gitops-ci-note.md");
    expect(note).toContain("| controllers | prod |");
    expect(note).toContain("render/missing-base");
    // The Git diff's own section, apart from the checks.
    expect(note).toContain("What this merge request changes in Git");
    expect(note).toMatch(/`prod\/controllers`: Kustomization controllers does not render on the merge request side/);
    // What did not run, and why: prod's later layers after its failure, staging's by changed-only.
    expect(note).toContain("#### ⏭️ Not checked (2)");
    expect(note).toContain("- `prod/configs` (`gitops/flux/infrastructure/configs/overlays/prod`): not run: `controllers` failed in `prod`");
    expect(note).toContain("- `prod/apps` (`gitops/flux/apps/overlays/prod`): not run: `controllers` failed in `prod`");
    expect(note).toMatch(/<details><summary>3 overlays not checked: the change cannot affect them \(changed-only\)<\/summary>/);
    expect(note).not.toContain("| controllers | staging |");
  });
});

describe("merge request pipeline (mode generated) on examples/layout-a", () => {
  it("generates the child pipeline, runs it, and the parent's report job collects its reports through the API", { timeout: TIMEOUT }, async () => {
    // 1. The parent's generator job.
    const parent = await makePipelineRepo({ fleet: "examples/layout-a", pipelineFile: path.join(CASES_DIR, "generated", ".gitlab-ci.yml") });
    const plan = await parent.run([...SHELL, ...MERGE_REQUEST, "gitops-ci:plan"]);
    expect(plan.exitCode, plan.output).toBe(0);
    const childYaml = await parent.readArtifact("gitops-ci:plan", "gitops-ci-child.yml");

    // 2. The child pipeline, as GitLab would run it from the generator's artifact.
    const child = await makePipelineRepo({ fleet: "examples/layout-a", pipelineText: childYaml });
    const childRun = await child.run([...SHELL]);
    expect(childRun.exitCode, childRun.output).toBe(0);
    const childEvents = jobEvents(childRun.output);
    for (const env of ENVIRONMENTS) expectLayerOrder(childEvents, (layer, e) => `gitops-ci:${e}:${layer}`, env);
    const aggregateFiles = await child.artifactsOf("gitops-ci:aggregate");
    expect(reportJsons(aggregateFiles)).toHaveLength(6);

    // 3. The parent's report job, against the fake GitLab holding this parent pipeline: its trigger
    //    job, the child pipeline's jobs, and the aggregation job's artifacts.
    const aggregateDir = path.join(child.root, ".gitlab-ci-local", "artifacts", (await readdir(path.join(child.root, ".gitlab-ci-local", "artifacts"))).find((dir) => dir.includes("aggregate"))!);
    const gitlab = await serveChildPipeline(aggregateDir);
    const report = await parent.run([
      ...SHELL,
      ...MERGE_REQUEST,
      ...["--variable", `CI_API_V4_URL=${gitlab.apiUrl}`, "--variable", `CI_PROJECT_ID=${gitlab.projectId}`, "--variable", `CI_PIPELINE_ID=${gitlab.pipelineId}`],
      "--variable",
      "GITOPS_CI_GITLAB_TOKEN=glpat-test-token-0123456789",
      "gitops-ci:report:children",
    ]);
    expect(report.exitCode, report.output).toBe(0);
    expect(report.output).toContain("reports of 6 of 6 check jobs from gitops-ci:aggregate");
    const collected = await parent.artifactsOf("gitops-ci:report:children");
    // What the parent publishes as artifacts:reports for the merge request widget.
    expect(collected.filter((file) => file.endsWith("/junit.xml"))).toHaveLength(6);
    expect(collected.filter((file) => file.endsWith("/gl-code-quality-report.json"))).toHaveLength(6);
    const note = await parent.readArtifact("gitops-ci:report:children", "gitops-ci-note.md");
    for (const env of ENVIRONMENTS) for (const layer of LAYERS) expect(note).toContain(`| ${layer} | ${env} |`);
    expect(note).not.toContain("glpat-test-token");
  });
});

/** A GitLab with one parent pipeline whose trigger job started the child; its aggregation job kept these artifacts. */
async function serveChildPipeline(aggregateArtifacts: string): Promise<{ apiUrl: string; projectId: number; pipelineId: number }> {
  const { gitlab, project } = await startGitLab({ projectId: 42, tokens: { "glpat-test-token-0123456789": { username: "report_bot" } } });
  const parent = gitlab.addPipeline(project, { source: "merge_request_event" });
  const child = gitlab.addPipeline(project, { source: "parent_pipeline" });
  gitlab.addBridge(parent, { name: "gitops-ci:checks", downstream: child });
  const artifacts: Record<string, string> = {};
  for (const entry of await readdir(aggregateArtifacts, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    artifacts[path.relative(aggregateArtifacts, file).split(path.sep).join("/")] = await readFile(file, "utf8");
  }
  gitlab.addJob(child, { name: "gitops-ci:aggregate", artifacts });
  return { apiUrl: gitlab.apiUrl, projectId: project.id, pipelineId: parent.id };
}
