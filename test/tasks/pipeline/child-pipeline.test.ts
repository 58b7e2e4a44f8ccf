import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { discoverFleet } from "../../../core/fleet/discover.ts";
import { AGGREGATE_JOB, checkJobsOf, childPipeline, renderChildPipeline } from "../../../tasks/pipeline/child-pipeline.ts";
import { generatePipeline } from "../../../tasks/pipeline/index.ts";
import { captureContext, quietContext } from "../../helpers/context.ts";
import { overlayPath, smallFleet } from "../../helpers/small-fleet.ts";
import { makeGitRepo, makeRepo } from "../../helpers/temp-repo.ts";
import { git } from "../../helpers/git.ts";

type Job = { stage: string; needs: { job: string; artifacts: boolean }[]; variables: Record<string, string>; when?: string; artifacts: { paths: string[] } };

describe("childPipeline", () => {
  it("gives every overlay a job whose needs mirror the layer graph of its environment, then one aggregation job", async () => {
    const { fleet } = await discoverFleet(quietContext(), await makeRepo(smallFleet()));
    const pipeline = childPipeline(fleet, fleet.overlays, { image: "registry.example.com/gitops-ci:1.0.0", dir: "." });

    const jobs = Object.keys(pipeline).filter((key) => key.startsWith("gitops-ci:"));
    expect(jobs).toEqual([
      "gitops-ci:prod:controllers",
      "gitops-ci:prod:configs",
      "gitops-ci:prod:apps",
      "gitops-ci:staging:controllers",
      "gitops-ci:staging:configs",
      "gitops-ci:staging:apps",
      AGGREGATE_JOB,
    ]);
    const job = (name: string) => pipeline[name] as Job;
    expect(job("gitops-ci:prod:controllers").needs).toEqual([]);
    expect(job("gitops-ci:prod:configs").needs).toEqual([{ job: "gitops-ci:prod:controllers", artifacts: false }]);
    expect(job("gitops-ci:staging:apps").needs).toEqual([{ job: "gitops-ci:staging:configs", artifacts: false }]);
    expect(job("gitops-ci:staging:apps").variables).toEqual({ GITOPS_CI_ENV: "staging", GITOPS_CI_LAYER: "apps", GITOPS_CI_REPORT_DIR: "gitops-ci-reports/staging/apps" });
    expect(job("gitops-ci:staging:apps").artifacts.paths).toEqual(["gitops-ci-reports/staging/apps/"]);
    // The aggregation runs after failures too, in a later stage, so it downloads every job's reports.
    expect(job(AGGREGATE_JOB)).toMatchObject({ stage: "gitops-ci-aggregate", when: "always" });
    expect(job(AGGREGATE_JOB).needs).toBeUndefined();
    expect(pipeline["default"]).toEqual({ image: "registry.example.com/gitops-ci:1.0.0" });
    // Check jobs keep the render cache per job and branch, as the component's static jobs do.
    expect(pipeline["variables"]).toMatchObject({ GITOPS_CI_CACHE_DIR: ".gitops-ci-cache" });
    expect((pipeline["gitops-ci:prod:apps"] as { cache: unknown }).cache).toEqual({
      key: "gitops-ci-render-$CI_JOB_NAME_SLUG-$CI_COMMIT_REF_SLUG",
      fallback_keys: ["gitops-ci-render-$CI_JOB_NAME_SLUG-$CI_DEFAULT_BRANCH"],
      paths: [".gitops-ci-cache/"],
      when: "always",
    });
    expect((pipeline[AGGREGATE_JOB] as { cache?: unknown }).cache).toBeUndefined();
  });

  it("drops needs on overlays that get no job, and stays a valid pipeline when no overlay does", async () => {
    const { fleet } = await discoverFleet(quietContext(), await makeRepo(smallFleet()));
    const staging = fleet.overlays.filter((overlay) => overlay.environment === "staging" && overlay.layer !== "controllers");
    const pipeline = childPipeline(fleet, staging, { image: "img", dir: "." });
    expect((pipeline["gitops-ci:staging:configs"] as Job).needs).toEqual([]);
    expect((pipeline["gitops-ci:staging:apps"] as Job).needs).toEqual([{ job: "gitops-ci:staging:configs", artifacts: false }]);
    expect(pipeline["gitops-ci:prod:configs"]).toBeUndefined();

    const empty = childPipeline(fleet, [], { image: "img", dir: "." });
    expect(Object.keys(empty).filter((key) => key.startsWith("gitops-ci:"))).toEqual([AGGREGATE_JOB]);
  });

  it("refuses an environment name that cannot safely name a job, a path and a variable", async () => {
    const { fleet } = await discoverFleet(quietContext(), await makeRepo(smallFleet()));
    const odd = fleet.overlays.map((overlay) => ({ ...overlay, environment: "prod $(id)" }));
    expect(() => childPipeline({ ...fleet, overlays: odd }, odd, { image: "img", dir: "." })).toThrow(/cannot name a CI job/);
  });

  it("reads its check jobs back from the rendered YAML", async () => {
    const { fleet } = await discoverFleet(quietContext(), await makeRepo(smallFleet(["prod"])));
    const text = renderChildPipeline(childPipeline(fleet, fleet.overlays, { image: "img", dir: "." }), "header");
    expect(text.startsWith("# header\n")).toBe(true);
    expect(checkJobsOf(parse(text))).toEqual([
      { name: "gitops-ci:prod:controllers", environment: "prod", layer: "controllers", reportDir: "gitops-ci-reports/prod/controllers" },
      { name: "gitops-ci:prod:configs", environment: "prod", layer: "configs", reportDir: "gitops-ci-reports/prod/configs" },
      { name: "gitops-ci:prod:apps", environment: "prod", layer: "apps", reportDir: "gitops-ci-reports/prod/apps" },
    ]);
    // A report folder outside the reports tree is not followed.
    expect(checkJobsOf({ evil: { variables: { GITOPS_CI_ENV: "a", GITOPS_CI_LAYER: "b", GITOPS_CI_REPORT_DIR: "../../etc" } } })).toEqual([]);
  });
});

describe("gitops-ci pipeline --from-plan", () => {
  it("writes the child pipeline of the overlays a change affects, in the image of the generating job", async () => {
    const root = await makeGitRepo(smallFleet());
    git(root, "checkout", "-q", "-b", "feature");
    const file = path.join(root, overlayPath("configs", "prod"), "kustomization.yaml");
    await writeFile(file, (await readFile(file, "utf8")) + "commonLabels:\n  tier: config\n");

    const { context, stderr } = captureContext(root, { CI_JOB_IMAGE: "registry.example.com/gitops-ci:1.2.3" });
    const { overlays } = await generatePipeline(context, { dir: ".", out: "child.yml", changedSince: "main" });

    expect(overlays.map((overlay) => `${overlay.environment}/${overlay.layer}`)).toEqual(["prod/configs", "prod/apps"]);
    const written = parse(await readFile(path.join(root, "child.yml"), "utf8")) as Record<string, unknown>;
    expect(Object.keys(written).filter((key) => key.startsWith("gitops-ci:"))).toEqual(["gitops-ci:prod:configs", "gitops-ci:prod:apps", AGGREGATE_JOB]);
    expect(written["default"]).toEqual({ image: "registry.example.com/gitops-ci:1.2.3" });
    expect(written["variables"]).toMatchObject({ GITOPS_CI_DIR: "." });
    expect(stderr()).toContain("2 of 6 overlays get a job");
  });

  it("needs an image", async () => {
    const root = await makeRepo(smallFleet(["prod"]));
    const { context } = captureContext(root);
    await expect(generatePipeline(context, { dir: ".", out: "child.yml" })).rejects.toThrow(/no image/);
  });

  it("refuses a plan with errors, whose jobs could not be named", async () => {
    const tree = smallFleet(["prod", "staging"]);
    delete tree[`${overlayPath("apps", "staging")}/kustomization.yaml`];
    const root = await makeRepo(tree);
    const { context } = captureContext(root);
    await expect(generatePipeline(context, { dir: ".", out: "child.yml", image: "img" })).rejects.toThrow(/plan has errors/);
  });
});
