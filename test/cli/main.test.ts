import { readdir } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { runCli } from "../../cli/main.ts";
import { examplePath, makeRepo, makeTempDir } from "../helpers/temp-repo.ts";

async function cli(args: string[], env: Record<string, string | undefined> = { PATH: process.env["PATH"], HOME: process.env["HOME"] }) {
  let stdout = "";
  let stderr = "";
  const code = await runCli(args, {
    cwd: process.cwd(),
    env,
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    cpus: 2,
  });
  return { code, stdout, stderr };
}

describe("gitops-ci command line", () => {
  it("lists the commands with --help and exits 0", async () => {
    const { code, stdout } = await cli(["--help"]);
    expect(code).toBe(0);
    for (const command of ["check", "plan", "render", "doctor"]) expect(stdout).toContain(`  ${command}`);
  });

  it("exits 2 on an unknown command or option, with the usage", async () => {
    expect(await cli(["chek"])).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command "chek"') });
    expect(await cli(["plan", "--jsn"])).toMatchObject({ code: 2, stderr: expect.stringContaining("usage: gitops-ci plan") });
  });

  it("plan prints the layer order and exits 0 on the layout A example", async () => {
    const { code, stdout } = await cli(["plan", examplePath("examples/layout-a")]);
    expect(code).toBe(0);
    expect(stdout).toContain("layer order:  controllers -> configs -> apps");
  });

  it("plan --json is machine-readable", async () => {
    const { code, stdout } = await cli(["plan", examplePath("examples/layout-b"), "--json"]);
    expect(code).toBe(0);
    const plan = JSON.parse(stdout) as { layers: { name: string }[]; overlays: unknown[] };
    expect(plan.layers.map((layer) => layer.name)).toEqual(["infrastructure", "observability", "applications"]);
    expect(plan.overlays).toHaveLength(9);
  });

  it("exits 1 when the plan has errors, and 2 on a bad config", async () => {
    const incomplete = await makeRepo({
      "gitops/flux/apps/base/kustomization.yaml": "resources: []\n",
      "gitops/flux/apps/overlays/prod/kustomization.yaml": "resources: [../../base]\n",
      "gitops/flux/infrastructure/controllers/base/kustomization.yaml": "resources: []\n",
      "gitops/flux/infrastructure/controllers/overlays/staging/kustomization.yaml": "resources: [../../base]\n",
    });
    expect((await cli(["plan", incomplete])).code).toBe(1);
    const badConfig = await makeRepo({ "gitops-ci.yaml": "apiVersion: gitops-ci/v2\nkind: Config\n" });
    const result = await cli(["plan", badConfig]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('gitops-ci.yaml:1: apiVersion: must be "gitops-ci/v1"');
  });

  it("keeps renders in --cache-dir, or in GITOPS_CI_CACHE_DIR when the option is absent", { timeout: 120_000 }, async () => {
    const fleet = examplePath("examples/layout-a");
    const fromOption = await makeTempDir();
    expect((await cli(["render", fleet, "--cache-dir", fromOption])).code).toBe(0);
    expect((await readdir(fromOption)).length).toBeGreaterThan(0);

    const fromEnv = await makeTempDir();
    const env = { PATH: process.env["PATH"], HOME: process.env["HOME"], GITOPS_CI_CACHE_DIR: fromEnv };
    expect((await cli(["render", fleet], env)).code).toBe(0);
    expect((await readdir(fromEnv)).length).toBeGreaterThan(0);
    // The option wins over the variable.
    const [overridden, unused] = [await makeTempDir(), await makeTempDir()];
    expect((await cli(["render", fleet, "--cache-dir", overridden], { ...env, GITOPS_CI_CACHE_DIR: unused })).code).toBe(0);
    expect((await readdir(overridden)).length).toBeGreaterThan(0);
    expect(await readdir(unused)).toEqual([]);
  });

  it("names the missing tool and how to install it, exit 2", async () => {
    const result = await cli(["render", examplePath("examples/layout-a")], { PATH: "/nonexistent", GITOPS_CI_TOOLS_DIR: "/nonexistent" });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/gitops-ci-engine was not found on PATH or in \/nonexistent\/bin/);
    expect(result.stderr).toContain("npm run setup");
  });

  it("doctor reports every tool with its version, pin and origin", async () => {
    const { code, stdout } = await cli(["doctor", "--json"]);
    const report = JSON.parse(stdout) as { tools: { name: string; version?: string; pinned?: string; source?: string }[] };
    expect(report.tools.map((tool) => tool.name)).toEqual([
      "kustomize",
      "kubeconform",
      "sops",
      "age",
      "age-keygen",
      "helm",
      "gitops-ci-engine",
    ]);
    for (const tool of report.tools) {
      if (tool.name === "gitops-ci-engine") {
        // Ours, built from toolchain/engine: found, but no upstream version to pin.
        expect(tool.source, tool.name).toBeDefined();
        expect(tool.pinned, tool.name).toBeUndefined();
        continue;
      }
      expect(tool.pinned, tool.name).toMatch(/^v\d+\.\d+\.\d+/);
      expect(tool.version?.replace(/^v/, ""), tool.name).toBe(tool.pinned?.replace(/^v/, ""));
    }
    expect(code).toBe(0);
  });
});

describe("gitops-ci diff --against", () => {
  it("exits 0 on a clean tree against HEAD, 2 on an unknown revision or with cluster options", async () => {
    const { gitRepoFromExample } = await import("../core/changes/git-steps.ts");
    const { root } = await gitRepoFromExample("examples/layout-a");
    const clean = await cli(["diff", "--against", "HEAD", root]);
    expect(clean).toMatchObject({ code: 0, stdout: expect.stringContaining("No change to what Flux applies.") });
    const json = await cli(["diff", "--against", "HEAD", root, "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ command: "diff --against", changes: [], problems: [] });
    expect(await cli(["diff", "--against", "no-such-branch", root])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("unknown revision no-such-branch"),
    });
    expect(await cli(["diff", "--against", "HEAD", "--env", "prod", root])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("--against compares two renders and reads no cluster"),
    });
  });
});
