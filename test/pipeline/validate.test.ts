// Every pipeline file against GitLab's CI schema (the one gitlab-ci-local vendors, with GitLab's
// rules for component inputs), and the jobs each kind of pipeline gets. One folder per case under
// cases/: its .gitlab-ci.yml includes the component from this checkout; a case with an
// expected-error.txt must fail validation with that message.
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { PROJECT_ROOT } from "../../core/toolchain.ts";
import { CASES_DIR, makePipelineRepo, parseListJson, type ListedJob } from "./gitlab-ci-local.ts";

const TIMEOUT = 120_000;
const cases = (await readdir(CASES_DIR, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);

async function listJobs(caseName: string, variables: Record<string, string>): Promise<ListedJob[]> {
  const repo = await makePipelineRepo({ pipelineFile: path.join(CASES_DIR, caseName, ".gitlab-ci.yml") });
  const result = await repo.run(["--list-json", ...Object.entries(variables).flatMap(([key, value]) => ["--variable", `${key}=${value}`])]);
  expect(result.exitCode, result.output).toBe(0);
  return parseListJson(result.stdout);
}

describe("pipeline files validate against GitLab's CI schema", () => {
  it("has valid and invalid cases", () => {
    expect(cases).toEqual(expect.arrayContaining(["merge-request", "generated", "invalid-job"]));
  });

  for (const caseName of cases) {
    const expectedErrorFile = path.join(CASES_DIR, caseName, "expected-error.txt");
    const invalid = existsSync(expectedErrorFile);
    it(`${caseName}: ${invalid ? "is rejected" : "is valid"}`, { timeout: TIMEOUT }, async () => {
      const repo = await makePipelineRepo({ pipelineFile: path.join(CASES_DIR, caseName, ".gitlab-ci.yml") });
      const result = await repo.run(["--preview"]);
      if (invalid) {
        expect(result.exitCode, result.output).not.toBe(0);
        expect(result.output).toContain((await readFile(expectedErrorFile, "utf8")).trim());
      } else {
        expect(result.exitCode, result.output).toBe(0);
        expect(result.output).toContain("json schema validated");
        // Every input was interpolated.
        expect(result.stdout).not.toContain("$[[ inputs.");
      }
    });
  }

  it("this project's .gitlab-ci.yml is valid and releases only on version tags", { timeout: TIMEOUT }, async () => {
    const repo = await makePipelineRepo({ pipelineFile: path.join(PROJECT_ROOT, ".gitlab-ci.yml") });
    const preview = await repo.run(["--preview"]);
    expect(preview.exitCode, preview.output).toBe(0);

    const onBranch = parseListJson((await repo.run(["--list-json"])).stdout).map((job) => job.name);
    expect(onBranch).toEqual(["lint", "test", "build:image"]);
    const onTag = parseListJson((await repo.run(["--list-json", "--variable", "CI_COMMIT_TAG=1.2.3"])).stdout);
    expect(onTag.map((job) => job.name)).toEqual(["lint", "test", "build:image", "release"]);
    expect(onTag.find((job) => job.name === "release")!.needs!.map((need) => need.job)).toEqual(["lint", "test", "build:image"]);
    const onOtherTag = parseListJson((await repo.run(["--list-json", "--variable", "CI_COMMIT_TAG=nightly"])).stdout);
    expect(onOtherTag.map((job) => job.name)).not.toContain("release");
  });

  it("the child pipeline `gitops-ci pipeline --from-plan` writes for examples/layout-a is valid", { timeout: TIMEOUT }, async () => {
    const repo = await makePipelineRepo({ fleet: "examples/layout-a", pipelineFile: path.join(CASES_DIR, "generated", ".gitlab-ci.yml") });
    const { execFileSync } = await import("node:child_process");
    execFileSync(path.join(PROJECT_ROOT, "node_modules", ".bin", "node"), [path.join(PROJECT_ROOT, "bin", "gitops-ci.ts"), "pipeline", "--from-plan", ".", "--out", ".gitlab-ci.yml", "--image", "registry.example.com/gitops-ci:test"], {
      cwd: repo.root,
      stdio: "pipe",
    });
    await repo.git("commit", "-qam", "child pipeline");
    const result = await repo.run(["--list-json"]);
    expect(result.exitCode, result.output).toBe(0);
    const jobs = parseListJson(result.stdout);
    expect(jobs.map((job) => job.name)).toEqual([
      "gitops-ci:prod:controllers",
      "gitops-ci:prod:configs",
      "gitops-ci:prod:apps",
      "gitops-ci:staging:controllers",
      "gitops-ci:staging:configs",
      "gitops-ci:staging:apps",
      "gitops-ci:aggregate",
    ]);
    expect(jobs.find((job) => job.name === "gitops-ci:aggregate")).toMatchObject({ when: "always", stage: "gitops-ci-aggregate" });
  });
});

describe("the component's jobs in each kind of pipeline", () => {
  const needsOf = (jobs: ListedJob[], name: string) =>
    jobs.find((job) => job.name === name)!.needs!.map((need) => `${need.job}${need.parallel ? ` ${JSON.stringify(need.parallel.matrix)}` : ""}`);

  it("merge request, static: one job per environment checking the layers in order, then the report after them all", { timeout: TIMEOUT }, async () => {
    const jobs = await listJobs("merge-request", { CI_PIPELINE_SOURCE: "merge_request_event" });
    expect(jobs.map((job) => job.name)).toEqual(["gitops-ci:check: [staging]", "gitops-ci:check: [prod]", "gitops-ci:report"]);
    expect(needsOf(jobs, "gitops-ci:check: [prod]")).toEqual([]);
    // gitops-ci:diff and gitops-ci:git-diff are optional needs: those jobs exist only with the diff
    // input, and with the merge base GitLab passes.
    expect(needsOf(jobs, "gitops-ci:report")).toEqual(["gitops-ci:check", "gitops-ci:diff", "gitops-ci:git-diff"]);
    expect(jobs.find((job) => job.name === "gitops-ci:report")!.when).toBe("always");
    const preview = parse((await (await makePipelineRepo({ pipelineFile: path.join(CASES_DIR, "merge-request", ".gitlab-ci.yml") })).run(["--preview"])).stdout) as Record<string, { variables?: Record<string, string> }>;
    expect(preview["gitops-ci:check"]?.variables?.["GITOPS_CI_LAYERS"]).toBe("controllers configs apps");
  });

  for (const source of ["web", "api", "trigger"]) {
    it(`a pipeline run ${source === "web" ? "by hand" : source === "api" ? "through the API" : "by a trigger"} (${source}) runs the checks and the report`, { timeout: TIMEOUT }, async () => {
      const jobs = await listJobs("merge-request", { CI_PIPELINE_SOURCE: source });
      expect(jobs.map((job) => job.name)).toEqual(expect.arrayContaining(["gitops-ci:check: [staging]", "gitops-ci:check: [prod]", "gitops-ci:report"]));
      expect(jobs.map((job) => job.name).filter((name) => name.startsWith("gitops-ci:drift"))).toEqual([]);
    });
  }

  it("merge request, generated: the generator, the trigger of its child pipeline, and the report that collects it", { timeout: TIMEOUT }, async () => {
    const jobs = await listJobs("generated", { CI_PIPELINE_SOURCE: "merge_request_event" });
    expect(jobs.map((job) => job.name)).toEqual(["gitops-ci:plan", "gitops-ci:checks", "gitops-ci:report:children"]);
    expect(needsOf(jobs, "gitops-ci:checks")).toEqual(["gitops-ci:plan"]);
    expect(needsOf(jobs, "gitops-ci:report:children")).toEqual(["gitops-ci:plan", "gitops-ci:checks", "gitops-ci:diff", "gitops-ci:git-diff"]);
    expect(jobs.find((job) => job.name === "gitops-ci:report:children")!.when).toBe("always");
  });

  it("merge request with its merge base: the Git diff job, whose page the merge request widget links", { timeout: TIMEOUT }, async () => {
    const jobs = await listJobs("merge-request", { CI_PIPELINE_SOURCE: "merge_request_event", CI_MERGE_REQUEST_DIFF_BASE_SHA: "0123456789abcdef0123456789abcdef01234567" });
    expect(jobs.map((job) => job.name)).toContain("gitops-ci:git-diff");
    expect(needsOf(jobs, "gitops-ci:git-diff")).toEqual([]);
    const preview = parse((await (await makePipelineRepo({ pipelineFile: path.join(CASES_DIR, "merge-request", ".gitlab-ci.yml") })).run(["--preview"])).stdout) as Record<string, { artifacts?: Record<string, unknown>; script?: string[] }>;
    expect(preview["gitops-ci:git-diff"]?.artifacts).toMatchObject({ expose_as: "gitops-ci: what this merge request changes in Git", paths: ["gitops-ci-git-diff/"], when: "always" });
    expect(preview["gitops-ci:git-diff"]?.script?.join("\n")).toContain('--against "$CI_MERGE_REQUEST_DIFF_BASE_SHA" --out gitops-ci-git-diff');
  });

  it("schedule of the default branch: drift per environment and nothing else", { timeout: TIMEOUT }, async () => {
    const jobs = await listJobs("merge-request", { CI_PIPELINE_SOURCE: "schedule" });
    expect(jobs.map((job) => job.name)).toEqual(["gitops-ci:drift: [staging]", "gitops-ci:drift: [prod]"]);
  });

  it("schedule of another branch: no drift (the clusters follow the default branch)", { timeout: TIMEOUT }, async () => {
    const repo = await makePipelineRepo({ pipelineFile: path.join(CASES_DIR, "merge-request", ".gitlab-ci.yml") });
    await repo.git("checkout", "-q", "-b", "release-1");
    const result = await repo.run(["--list-json", "--variable", "CI_PIPELINE_SOURCE=schedule"]);
    expect(result.exitCode, result.output).toBe(0);
    expect(parseListJson(result.stdout).map((job) => job.name)).toEqual([]);
  });

  it("default branch: the checks, and the promote child pipeline whose manual jobs start at the second environment", { timeout: TIMEOUT }, async () => {
    const jobs = await listJobs("merge-request", { CI_PIPELINE_SOURCE: "push" });
    expect(jobs.map((job) => job.name)).toEqual(expect.arrayContaining(["gitops-ci:check: [staging]", "gitops-ci:report", "gitops-ci:promote:plan", "gitops-ci:promote"]));
    expect(needsOf(jobs, "gitops-ci:promote")).toEqual(["gitops-ci:promote:plan"]);

    // The child pipeline the plan job writes for [staging, prod], run through gitlab-ci-local's schema and rules.
    const repo = await makePipelineRepo({ fleet: "examples/layout-a", pipelineFile: path.join(CASES_DIR, "merge-request", ".gitlab-ci.yml") });
    const { execFileSync } = await import("node:child_process");
    execFileSync(path.join(PROJECT_ROOT, "node_modules", ".bin", "node"), [path.join(PROJECT_ROOT, "bin", "gitops-ci.ts"), "pipeline", "--promote-jobs", ".", "--out", ".gitlab-ci.yml", "--image", "registry.example.com/gitops-ci:test", "--token-variable", "FLEET_BOT_TOKEN"], {
      cwd: repo.root,
      stdio: "pipe",
      env: { ...process.env, GITOPS_CI_PROMOTE_ORDER: '["staging", "prod"]' },
    });
    await repo.git("commit", "-qam", "promote child pipeline");
    const child = await repo.run(["--list-json"]);
    expect(child.exitCode, child.output).toBe(0);
    const promote = parseListJson(child.stdout);
    // No job for the first environment: nothing promotes into it.
    expect(promote.map((job) => [job.name, job.when, job.allow_failure])).toEqual([["gitops-ci:promote:prod", "manual", true]]);
    const preview = parse((await repo.run(["--preview"])).stdout) as Record<string, { environment?: unknown; resource_group?: string; variables?: Record<string, string>; script?: string[] }>;
    expect(preview["gitops-ci:promote:prod"]).toMatchObject({
      environment: { name: "prod", action: "prepare" },
      resource_group: "gitops-ci-promote-prod",
      variables: { GITOPS_CI_ENV: "prod", GITOPS_CI_PROMOTE_FROM: "staging" },
    });
    expect(preview["gitops-ci:promote:prod"]!.script![0]).toBe('export GITOPS_CI_GITLAB_TOKEN="${FLEET_BOT_TOKEN:-${GITOPS_CI_GITLAB_TOKEN:-}}"');
  });

  it("the jobs that render keep the render cache, per job and branch; the report job does not", { timeout: TIMEOUT }, async () => {
    const repo = await makePipelineRepo({ pipelineFile: path.join(CASES_DIR, "merge-request", ".gitlab-ci.yml") });
    const preview = await repo.run(["--preview"]);
    expect(preview.exitCode, preview.output).toBe(0);
    const jobs = parse(preview.stdout) as Record<string, { cache?: unknown; variables?: Record<string, string> }>;
    // gitlab-ci-local's preview writes cache: as a list (GitLab reads both forms) and leaves
    // fallback_keys out (the schema it validated against has it).
    const renderCache = { key: "gitops-ci-render-$CI_JOB_NAME_SLUG-$CI_COMMIT_REF_SLUG", paths: [".gitops-ci-cache/"], when: "always" };
    for (const name of ["gitops-ci:check", "gitops-ci:plan", "gitops-ci:diff", "gitops-ci:git-diff", "gitops-ci:drift"]) {
      expect(jobs[name]?.cache, name).toEqual([expect.objectContaining(renderCache)]);
      expect(jobs[name]?.variables?.["GITOPS_CI_CACHE_DIR"], name).toBe(".gitops-ci-cache");
    }
    expect(jobs["gitops-ci:report"]?.cache).toBeUndefined();
  });

  it("inputs rename the layers, the stages and the token variable, and add the diff jobs", { timeout: TIMEOUT }, async () => {
    const jobs = await listJobs("layout-b-layers", { CI_PIPELINE_SOURCE: "merge_request_event" });
    expect(jobs.map((job) => job.name)).toContain("gitops-ci:check: [production]");
    expect(jobs.filter((job) => job.name.startsWith("gitops-ci:diff")).map((job) => job.name)).toEqual(["gitops-ci:diff: [local]", "gitops-ci:diff: [staging]", "gitops-ci:diff: [production]"]);
    expect(needsOf(jobs, "gitops-ci:report")).toContain("gitops-ci:diff");
    expect(new Set(jobs.map((job) => job.stage))).toEqual(new Set(["verify"]));
    const preview = await (await makePipelineRepo({ pipelineFile: path.join(CASES_DIR, "layout-b-layers", ".gitlab-ci.yml") })).run(["--preview"]);
    expect(preview.stdout).toContain('export GITOPS_CI_GITLAB_TOKEN="${FLEET_BOT_TOKEN:-${GITOPS_CI_GITLAB_TOKEN:-}}"');
    expect((parse(preview.stdout) as Record<string, { variables?: Record<string, string> }>)["gitops-ci:check"]?.variables?.["GITOPS_CI_LAYERS"]).toBe("infrastructure observability applications");
  });
});
