import { readFile } from "node:fs/promises";
import path from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../../../cli/main.ts";
import { promote } from "../../../tasks/promote/index.ts";
import { FakeGitLab, type FakeProject } from "../../helpers/fake-gitlab.ts";
import { startGitLab } from "../../helpers/gitlab.ts";
import { captureContext } from "../../helpers/context.ts";
import { copyExample, examplePath } from "../../helpers/temp-repo.ts";
import { gitText } from "../../helpers/git.ts";
import { APPS, CONTROLLERS, exampleClone, git, stagingAhead, type PromoteRepo } from "./promote-repo.ts";

const TOKEN = "glpat-promote-test-token";
/** Tests that promote two or three times: each run renders and validates, on 2 shared cores. */
const SEVERAL_RUNS = 240_000;
const BRANCH = "gitops-ci/promote-staging-to-prod";

let gitlab: FakeGitLab;
let project: FakeProject;

beforeEach(async () => {
  ({ gitlab, project } = await startGitLab({ project: "platform/gitops", tokens: { [TOKEN]: { username: "gitops-bot" } } }));
});
function ciEnv(): Record<string, string> {
  return { CI_API_V4_URL: gitlab.apiUrl, CI_PROJECT_ID: String(project.id), GITOPS_CI_GITLAB_TOKEN: TOKEN, CI_COMMIT_BRANCH: "main" };
}

const mergeRequestWrites = () => gitlab.requests.filter((request) => /\/merge_requests/.test(request.path) && request.method !== "GET");
const read = (repo: PromoteRepo, file: string) => readFile(path.join(repo.root, file), "utf8");
/** A file as the promotion branch on the remote holds it, byte for byte. */
const pushed = (repo: PromoteRepo, file: string, branch = BRANCH) => gitText(repo.remote, "show", `${branch}:${file}`);
const original = (file: string) => readFile(examplePath(path.join("examples/layout-a", file)), "utf8");

describe("gitops-ci promote on layout A", () => {
  it(
    "moves staging's chart versions, image tag and new values to prod, leaves prod's hosts and IPs, and opens one merge request",
    { timeout: SEVERAL_RUNS },
    async () => {
      const repo = await exampleClone("examples/layout-a");
      await stagingAhead(repo.root);
      const { context, stdout, stderr } = captureContext(repo.root, ciEnv());

      const result = await promote(context, { dir: ".", from: "staging", to: "prod", json: false });
      expect(stderr()).not.toMatch(/internal error/);
      expect(result.exitCode).toBe(0);
      expect(result.validated).toBe(true);
      expect(
        result.promotions.map((p) => `${p.layer} ${p.subject.name} ${p.path.join(".")} ${String(p.value)} ${p.reason}`).sort(),
      ).toEqual([
        "apps gitlab spec.chart.spec.version 8.6.0 chart-version",
        "apps gitlab spec.values.gitlab.webservice.workerProcesses 4 new-override",
        "apps registry.gitlab.com/gitlab-org/build/cng/gitlab-webservice-ce newTag v18.1.0 image",
        "controllers ingress-nginx spec.chart.spec.version 4.12.0 chart-version",
      ]);

      // The branch starts from HEAD, and the working tree stays as it was.
      expect(git(repo.root, "status", "--porcelain")).toBe("");
      // prod's own values are untouched, byte for byte.
      for (const file of [
        `${APPS}/prod/gitlab-hosts-patch.yaml`,
        `${CONTROLLERS}/prod/lb-ip-pool.yaml`,
        `${CONTROLLERS}/prod/ingress-nginx-service-patch.yaml`,
        `${CONTROLLERS}/prod/cilium-api-server-patch.yaml`,
        "gitops/flux/infrastructure/configs/overlays/prod/cluster-issuer-patch.yaml",
        "gitops/flux/infrastructure/configs/overlays/prod/wildcard-certificate.yaml",
        `${APPS}/prod/secrets/gitlab-smtp.yaml`,
      ]) {
        expect(pushed(repo, file), file).toBe(await original(file));
      }
      expect(result.kept.some((k) => k.reason === "ip" && k.path.join(".") === "spec.values.controller.service.loadBalancerIP")).toBe(true);
      expect(result.kept.some((k) => k.reason === "hostname" && k.path.join(".") === "spec.values.global.hosts.domain")).toBe(true);
      expect(result.kept.some((k) => k.reason === "capacity" && k.subject.name === "ingress-nginx")).toBe(true);

      // Edits keep comments and layout; new patches mirror staging's.
      const kustomization = pushed(repo, `${APPS}/prod/kustomization.yaml`);
      expect(kustomization).toContain("  # SOPS-encrypted; Flux decrypts them (spec.decryption on the apps Kustomization).\n");
      expect(kustomization).toContain(
        "  - path: gitlab-version-patch.yaml\nimages:\n  - name: registry.gitlab.com/gitlab-org/build/cng/gitlab-webservice-ce\n    newTag: v18.1.0\n",
      );
      expect(pushed(repo, `${APPS}/prod/gitlab-version-patch.yaml`)).toContain("spec:\n  chart:\n    spec:\n      version: 8.6.0\n");
      expect(pushed(repo, `${APPS}/prod/gitlab-resources-patch.yaml`)).toContain(
        "      webservice:\n        minReplicas: 2\n        maxReplicas: 6\n",
      );
      expect(pushed(repo, `${APPS}/prod/gitlab-resources-patch.yaml`)).toContain("        workerProcesses: 4\n");
      const controllers = pushed(repo, `${CONTROLLERS}/prod/kustomization.yaml`);
      expect(controllers).toContain(
        "  - patch: |\n      - op: replace\n        path: /spec/chart/spec/version\n        value: 4.12.0\n    target:\n",
      );
      expect(controllers).not.toContain("replicaCount");

      // The rendered diff of prod.
      // The example's bases name no version (their charts are vendored folders of the GitRepository),
      // so the promoted version is an added line.
      expect(stdout()).toMatch(/^@@ .* @@\n(.*\n)*\+ {6}version: 8\.6\.0$/m);
      expect(stdout()).toMatch(/^@@ .* @@\n(.*\n)*\+ {6}version: 4\.12\.0$/m);

      // One branch on the remote, one merge request on GitLab.
      expect(result.push).toMatchObject({ branch: BRANCH, pushed: true, created: true });
      expect(git(repo.remote, "rev-parse", `refs/heads/${BRANCH}`)).toBe(result.push!.commit);
      expect(git(repo.remote, "show", `${BRANCH}:${APPS}/prod/gitlab-version-patch.yaml`)).toContain("version: 8.6.0");
      expect(git(repo.root, "rev-parse", "--abbrev-ref", "HEAD")).toBe("main");
      const mergeRequests = [...project.mergeRequests.values()];
      expect(mergeRequests).toHaveLength(1);
      expect(mergeRequests[0]).toMatchObject({
        source_branch: BRANCH,
        target_branch: "main",
        state: "opened",
        title: "Promote staging to prod",
      });
      expect(mergeRequests[0]!.description).toContain(
        "| apps | HelmRelease gitlab | `spec.chart.spec.version` | (base) | `8.6.0` | chart version |",
      );
      expect(mergeRequests[0]!.description).toContain("+      version: 8.6.0");
      expect(result.mergeRequest).toMatchObject({ action: "created", iid: mergeRequests[0]!.iid });
      expect(gitlab.sentText()).not.toContain(TOKEN);
    },
  );

  it("changes nothing when run again: no push, the merge request description unchanged", { timeout: SEVERAL_RUNS }, async () => {
    const repo = await exampleClone("examples/layout-a");
    await stagingAhead(repo.root);
    const first = await promote(captureContext(repo.root, ciEnv()).context, { dir: ".", from: "staging", to: "prod", json: false });
    const description = project.mergeRequests.get(first.mergeRequest!.iid)!.description;
    const writes = mergeRequestWrites().length;

    // A fresh checkout of main, as the next pipeline has.
    git(repo.root, "checkout", "-q", "--", ".");
    git(repo.root, "clean", "-qfd");
    const second = await promote(captureContext(repo.root, ciEnv()).context, { dir: ".", from: "staging", to: "prod", json: false });
    expect(second.exitCode).toBe(0);
    expect(second.push).toMatchObject({ pushed: false, commit: first.push!.commit });
    expect(second.mergeRequest).toMatchObject({ action: "unchanged", iid: first.mergeRequest!.iid });
    expect(mergeRequestWrites()).toHaveLength(writes);
    expect(project.mergeRequests.size).toBe(1);
    expect(project.mergeRequests.get(first.mergeRequest!.iid)!.description).toBe(description);
    expect(git(repo.remote, "rev-parse", `refs/heads/${BRANCH}`)).toBe(first.push!.commit);

    // Once the promotion is in (its branch checked out), there is nothing left to promote at all.
    git(repo.root, "fetch", "-q", "origin", BRANCH);
    git(repo.root, "checkout", "-q", "FETCH_HEAD");
    const { context, stdout } = captureContext(repo.root, ciEnv());
    const third = await promote(context, { dir: ".", from: "staging", to: "prod", json: false });
    expect(third.promotions).toEqual([]);
    expect(stdout()).toContain("Nothing to promote from staging to prod");
    expect(mergeRequestWrites()).toHaveLength(writes);
  });

  it(
    "limits a run to one component, on a branch of its own, and updates its merge request when staging moves on",
    { timeout: SEVERAL_RUNS },
    async () => {
      const repo = await exampleClone("examples/layout-a");
      await stagingAhead(repo.root);
      const first = await promote(captureContext(repo.root, ciEnv()).context, {
        dir: ".",
        from: "staging",
        to: "prod",
        component: "gitlab",
        json: false,
      });
      expect(first.branch).toBe(`${BRANCH}-gitlab`);
      expect(first.promotions.map((p) => p.subject.name)).toEqual(["gitlab", "gitlab"]);
      expect(await read(repo, `${CONTROLLERS}/prod/kustomization.yaml`)).toBe(await original(`${CONTROLLERS}/prod/kustomization.yaml`));

      git(repo.root, "checkout", "-q", "--", ".");
      git(repo.root, "clean", "-qfd");
      await writeStagingVersion(repo, "8.6.1");
      const second = await promote(captureContext(repo.root, ciEnv()).context, {
        dir: ".",
        from: "staging",
        to: "prod",
        component: "gitlab",
        json: false,
      });
      expect(second.push).toMatchObject({ pushed: true, created: false });
      expect(second.mergeRequest).toMatchObject({ action: "updated", iid: first.mergeRequest!.iid });
      expect(project.mergeRequests.size).toBe(1);
      expect(project.mergeRequests.get(first.mergeRequest!.iid)!.description).toContain("`8.6.1`");
    },
  );

  it("without GitLab access edits the working tree only, and --dry-run never pushes", async () => {
    const repo = await exampleClone("examples/layout-a");
    await stagingAhead(repo.root);
    const local = await promote(captureContext(repo.root).context, { dir: ".", from: "staging", to: "prod", json: true });
    expect(local.exitCode).toBe(0);
    expect(local.push).toBeUndefined();
    expect(git(repo.remote, "branch", "--list")).not.toContain("gitops-ci/");
    expect(await read(repo, `${APPS}/prod/gitlab-version-patch.yaml`)).toContain("8.6.0");

    git(repo.root, "checkout", "-q", "--", ".");
    git(repo.root, "clean", "-qfd");
    const dry = await promote(captureContext(repo.root, ciEnv()).context, {
      dir: ".",
      from: "staging",
      to: "prod",
      json: false,
      dryRun: true,
    });
    expect(dry.push).toBeUndefined();
    expect(gitlab.requests).toEqual([]);
  });

  it(
    "starts from the branch's committed state: a local edit in the target overlays is neither promoted over nor pushed",
    { timeout: SEVERAL_RUNS },
    async () => {
      const repo = await exampleClone("examples/layout-a");
      await stagingAhead(repo.root);
      const { appendFile } = await import("node:fs/promises");
      await appendFile(path.join(repo.root, APPS, "prod/gitlab-hosts-patch.yaml"), "# local edit\n");
      const result = await promote(captureContext(repo.root, ciEnv()).context, { dir: ".", from: "staging", to: "prod", json: false });
      expect(result.exitCode).toBe(0);
      expect(result.push?.pushed).toBe(true);
      expect(git(repo.remote, "show", `${BRANCH}:${APPS}/prod/gitlab-hosts-patch.yaml`)).not.toContain("# local edit");
      // The working tree is left as it was: the edit is still there, and nothing else changed.
      expect(await read(repo, `${APPS}/prod/gitlab-hosts-patch.yaml`)).toContain("# local edit");
      expect(git(repo.root, "status", "--porcelain")).toBe(`M ${APPS}/prod/gitlab-hosts-patch.yaml`);
      expect(git(repo.root, "worktree", "list").split("\n")).toHaveLength(1);
    },
  );

  it(
    "after a run left its edits in the working tree, the next run still promotes (not 'Nothing to promote')",
    { timeout: SEVERAL_RUNS },
    async () => {
      const repo = await exampleClone("examples/layout-a");
      await stagingAhead(repo.root);
      // A run without GitLab access edits the working tree and stops there, as a failed run would leave it.
      const first = await promote(captureContext(repo.root).context, { dir: ".", from: "staging", to: "prod", json: false });
      expect(first.files.length).toBeGreaterThan(0);
      expect(git(repo.root, "status", "--porcelain")).not.toBe("");

      const { context, stdout } = captureContext(repo.root, ciEnv());
      const result = await promote(context, { dir: ".", from: "staging", to: "prod", json: false });
      expect(result.exitCode).toBe(0);
      expect(stdout()).not.toContain("Nothing to promote");
      expect(result.promotions).toHaveLength(first.promotions.length);
      expect(result.push).toMatchObject({ pushed: true, created: true });
      expect(result.mergeRequest?.action).toBe("created");
    },
  );
});

describe("gitops-ci promote from the command line", () => {
  async function cli(args: string[], cwd: string) {
    let stdout = "";
    let stderr = "";
    const code = await runCli(args, {
      cwd,
      env: { PATH: process.env["PATH"], HOME: process.env["HOME"] },
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      cpus: 2,
    });
    return { code, stdout, stderr };
  }

  it("exits 0 with nothing to promote on the example as it is, and 2 without --to", async () => {
    const root = examplePath("examples/layout-a");
    const done = await cli(["promote", root, "--from", "staging", "--to", "prod", "--dry-run"], root);
    expect(done).toMatchObject({ code: 0, stdout: expect.stringContaining("Nothing to promote from staging to prod") });
    expect(done.stdout).toContain("spec.values.controller.service.loadBalancerIP");
    expect(await cli(["promote", root, "--from", "staging"], root)).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("--to is required"),
    });
  });
});

describe("promote settings in gitops-ci.yaml", () => {
  it("takes --from from promote.order and promotes the fields promote.paths names", async () => {
    const root = await copyExample("examples/layout-a");
    const { appendFile } = await import("node:fs/promises");
    await appendFile(
      path.join(root, "gitops-ci.yaml"),
      "promote:\n  order: [staging, prod]\n  paths:\n    - HelmRelease/gitlab:spec.values.gitlab.sidekiq.maxReplicas\n",
    );
    const { context, stdout } = captureContext(root);
    const result = await promote(context, { dir: ".", to: "prod", layer: "apps", json: true, dryRun: true });
    expect(result).toMatchObject({ from: "staging", exitCode: 0, validated: true, branch: `${BRANCH}-apps` });
    expect(result.promotions.map((p) => `${p.path.join(".")} ${String(p.previous)} -> ${String(p.value)} ${p.reason}`)).toEqual([
      "spec.values.gitlab.sidekiq.maxReplicas 4 -> 1 configured-path",
    ]);
    expect(JSON.parse(stdout())).toMatchObject({
      from: "staging",
      to: "prod",
      promotions: [{ field: "spec.values.gitlab.sidekiq.maxReplicas", value: 1, previous: 4 }],
      pushed: null,
    });
    expect(await readFile(path.join(root, APPS, "prod/gitlab-resources-patch.yaml"), "utf8")).toContain("        maxReplicas: 1\n");
  });

  it("names the config key that is wrong", async () => {
    const root = await copyExample("examples/layout-a");
    const { appendFile } = await import("node:fs/promises");
    await appendFile(path.join(root, "gitops-ci.yaml"), "promote:\n  orders: [staging, prod]\n");
    await expect(promote(captureContext(root).context, { dir: ".", to: "prod", json: false })).rejects.toThrow(
      /gitops-ci.yaml:\d+: promote.orders: is not a known key/,
    );
  });
});

describe("gitops-ci promote on layout B", () => {
  it("promotes staging's chart version into production's patch of the same object, comments kept", async () => {
    const root = await copyExample("examples/layout-b");
    const { context } = captureContext(root);
    const result = await promote(context, {
      dir: ".",
      from: "staging",
      to: "production",
      layer: "infrastructure",
      json: false,
      dryRun: true,
    });
    expect(result.exitCode).toBe(0);
    expect(result.promotions.map((p) => `${p.subject.name} ${p.path.join(".")} ${String(p.value)}`)).toEqual([
      "ingress-nginx spec.chart.spec.version 4.11.x",
    ]);
    const patch = await readFile(path.join(root, "clusters/production/infrastructure/patches/ingress-nginx-patch.yaml"), "utf8");
    expect(patch).toBe(
      [
        "# A failed upgrade of the ingress controller is an outage: roll back at once",
        "# instead of retrying the broken release.",
        "apiVersion: helm.toolkit.fluxcd.io/v2",
        "kind: HelmRelease",
        "metadata:",
        "  name: ingress-nginx",
        "  namespace: ingress-nginx",
        "spec:",
        "  upgrade:",
        "    remediation:",
        "      retries: 1",
        "      strategy: rollback",
        "      remediateLastFailure: true",
        "  chart:",
        "    spec:",
        "      version: 4.11.x",
        "",
      ].join("\n"),
    );
  });

  it("names what is wrong with --from, --to and --layer", async () => {
    const root = examplePath("examples/layout-b");
    const { context } = captureContext(root);
    await expect(promote(context, { dir: ".", from: "staging", to: "prod", json: false })).rejects.toThrow(
      /--to prod is not an environment/,
    );
    await expect(promote(context, { dir: ".", to: "production", json: false })).rejects.toThrow(/--from is required/);
    await expect(promote(context, { dir: ".", from: "staging", to: "staging", json: false })).rejects.toThrow(/both staging/);
    await expect(promote(context, { dir: ".", from: "staging", to: "production", layer: "apps", json: false })).rejects.toThrow(
      /--layer apps is not a layer/,
    );
  });
});

async function writeStagingVersion(repo: PromoteRepo, version: string): Promise<void> {
  const { editFile } = await import("./promote-repo.ts");
  await editFile(repo.root, `${APPS}/staging/gitlab-version-patch.yaml`, (text) => text.replace(/version: .*/, `version: ${version}`));
  git(repo.root, "commit", "-qam", `staging: GitLab chart ${version}`);
}
