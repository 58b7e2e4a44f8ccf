// `gitops-ci init` on every fixture layout: what it finds, what it writes, and that a second run
// changes nothing. The include's inputs are checked against the component's own spec.
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { discoverFleet } from "../../../core/fleet/discover.ts";
import { init, type InitOptions } from "../../../tasks/init/index.ts";
import { captureContext } from "../../helpers/context.ts";
import { copyExample, examplePath } from "../../helpers/temp-repo.ts";

/** Every file under root with its content: what a second run must leave exactly as it is. */
async function snapshot(root: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    files[path.relative(root, file)] = await readFile(file, "utf8");
  }
  return files;
}

async function runInit(root: string, options: Partial<InitOptions> = {}) {
  const { context, stdout, stderr } = captureContext(root);
  const result = await init(context, { dir: root, write: true, version: "0.1.0", ...options });
  return { result, stdout: stdout(), stderr: stderr() };
}

/** The component's inputs, from the spec: header of pipeline/templates/gitops-ci.yml. */
async function componentInputs(): Promise<Record<string, { options?: string[]; default?: unknown }>> {
  const [header] = parseAllDocuments(await readFile(examplePath("pipeline/templates/gitops-ci.yml"), "utf8"));
  return (header!.toJSON() as { spec: { inputs: Record<string, { options?: string[]; default?: unknown }> } }).spec.inputs;
}

interface Expected {
  fixture: string;
  clusters: string[];
  mode: "static" | "generated";
  /** Inputs besides image and environments. */
  inputs: Record<string, string>;
  /** Files the first run writes. */
  written: string[];
  /** The fixture's HelmRelease files (`kind: HelmRelease` in a base, not a patch) times the clusters applying them. */
  helmReleases: number;
  sops: boolean;
  /** Remove this before the first run (the example ships the file init would write). */
  remove?: string;
}

const LAYOUTS: Expected[] = [
  {
    fixture: "test/fixtures/layouts/classic",
    clusters: ["staging", "production"],
    mode: "generated",
    inputs: { mode: "generated" },
    written: [".gitlab-ci.yml"],
    helmReleases: 6,
    sops: false,
  },
  {
    fixture: "test/fixtures/layouts/artifact-generator",
    clusters: ["staging", "production"],
    mode: "generated",
    inputs: { mode: "generated" },
    written: [".gitlab-ci.yml"],
    helmReleases: 6,
    sops: false,
  },
  {
    fixture: "test/fixtures/layouts/home-ops",
    clusters: ["cluster"],
    mode: "generated",
    inputs: { mode: "generated" },
    written: [".gitlab-ci.yml"],
    helmReleases: 34,
    sops: true,
  },
  {
    fixture: "test/fixtures/layouts/edge-cases",
    clusters: ["edge"],
    mode: "generated",
    inputs: { mode: "generated" },
    written: [".gitlab-ci.yml"],
    helmReleases: 0,
    sops: false,
  },
  {
    fixture: "examples/layout-a",
    clusters: ["staging", "prod"],
    mode: "static",
    inputs: {},
    written: ["gitops-ci.yaml", ".gitlab-ci.yml"],
    helmReleases: 8,
    sops: true,
    remove: "gitops-ci.yaml",
  },
  {
    fixture: "examples/layout-b",
    clusters: ["local", "staging", "production"],
    mode: "static",
    inputs: { "controllers-layer": "infrastructure", "configs-layer": "observability", "apps-layer": "applications" },
    written: [".gitlab-ci.yml"],
    helmReleases: 9,
    sops: false,
  },
];

describe("gitops-ci init on each fixture layout", () => {
  for (const expected of LAYOUTS) {
    it(`${expected.fixture}: shows the fleet, writes what it needs, and a second run changes nothing`, async () => {
      const root = await copyExample(expected.fixture);
      if (expected.remove) await rm(path.join(root, expected.remove));
      const plan = await discoverFleet(captureContext(root).context, root);

      const first = await runInit(root);
      expect(first.result.exitCode).toBe(0);
      expect(first.result.written).toEqual(expected.written);
      // What it found, as plan finds it: every cluster, every Kustomization in reconcile order.
      const clustersLine = /clusters: {2}(.*)/.exec(first.stdout)?.[1]?.split(", ");
      expect(clustersLine?.sort()).toEqual(plan.fleet.environments.map((env) => env.name).sort());
      for (const environment of plan.fleet.environments) {
        const overlays = plan.fleet.overlays.filter((overlay) => overlay.environment === environment.name);
        const section = first.stdout.slice(first.stdout.indexOf(`\n${environment.name}: ${overlays.length} `));
        let at = 0;
        for (const overlay of overlays) {
          const row = new RegExp(
            `\\n +${overlay.order} +${escape(overlay.flux ? `${overlay.flux.namespace}/${overlay.flux.name}` : overlay.layer)} +${escape(overlay.path)}`,
          );
          const match = row.exec(section.slice(at));
          expect(match, `${environment.name} row ${overlay.order} after the previous one`).not.toBeNull();
          at += match!.index + 1;
        }
      }
      expect(first.result.helmReleases).toHaveLength(expected.helmReleases);
      expect(first.stdout).toContain(expected.sops ? "SOPS creation rules:" : "SOPS: no .sops.yaml");
      expect(first.stdout.includes("SOPS_AGE_KEY")).toBe(expected.sops);
      expect(first.stdout).toMatch(new RegExp(`GITOPS_CI_GITLAB_TOKEN  ${expected.mode === "generated" ? "required" : "optional"}`));
      for (const cluster of expected.clusters) expect(first.stdout).toContain(`KUBECONFIG (environment scope ${cluster})  optional`);

      // The include: the component with the inputs the clusters call for, each one the component declares.
      const ci = parse(await readFile(path.join(root, ".gitlab-ci.yml"), "utf8")) as {
        include: { component: string; inputs: Record<string, unknown> }[];
        workflow: unknown;
      };
      expect(ci.workflow).toBeDefined();
      expect(ci.include).toHaveLength(1);
      expect(ci.include[0]!.component).toBe("$CI_SERVER_FQDN/platform/gitops-ci/gitops-ci@0.1.0");
      const { image, environments, ...rest } = ci.include[0]!.inputs;
      expect(image).toBe("$CI_REGISTRY/platform/gitops-ci:0.1.0");
      expect(environments).toEqual(expected.clusters);
      expect(rest).toEqual(expected.inputs);
      const spec = await componentInputs();
      for (const [name, value] of Object.entries(ci.include[0]!.inputs)) {
        expect(spec, `input ${name} of the component`).toHaveProperty([name]);
        if (spec[name]!.options) expect(spec[name]!.options).toContain(value);
      }

      // gitops-ci.yaml only where needed; where written, plan reads it and finds the same overlays.
      if (expected.written.includes("gitops-ci.yaml")) {
        expect(first.stdout).toContain("gitops-ci.yaml: written (Terraform declares the Flux Kustomizations");
        const again = await discoverFleet(captureContext(root).context, root);
        expect(again.fleet.source).toBe("config");
        expect(again.fleet.overlays.map((o) => `${o.environment}/${o.order}/${o.layer}/${o.path}/${o.dependsOn.join()}`).sort()).toEqual(
          plan.fleet.overlays.map((o) => `${o.environment}/${o.order}/${o.layer}/${o.path}/${o.dependsOn.join()}`).sort(),
        );
        expect(again.findings.filter((finding) => finding.severity === "error")).toEqual([]);
      } else {
        expect(first.stdout).toMatch(/gitops-ci.yaml: (not needed|kept as it is)/);
      }

      const before = await snapshot(root);
      const second = await runInit(root);
      expect(second.result.exitCode).toBe(0);
      expect(second.result.written).toEqual([]);
      expect(second.stdout).toContain(".gitlab-ci.yml: already includes gitops-ci, kept as it is");
      expect(second.stdout).toContain("Nothing written.");
      expect(await snapshot(root)).toEqual(before);
    });
  }
});

describe("gitops-ci init and an existing .gitlab-ci.yml", () => {
  it("without --write prints the include and writes nothing", async () => {
    const root = await copyExample("examples/layout-b");
    const before = await snapshot(root);
    const { result, stdout } = await runInit(root, { write: false });
    expect(result.written).toEqual([]);
    expect(stdout).toContain(".gitlab-ci.yml: add this (`gitops-ci init --write` does it):");
    expect(stdout).toContain("controllers-layer: infrastructure");
    expect(await snapshot(root)).toEqual(before);
  });

  it("adds the include to the project's own, keeping its comments and entries", async () => {
    const root = await copyExample("examples/layout-b");
    const own =
      "# the project's pipeline\nstages: [build, test, deploy]\n\ninclude: ci/lint.yml   # our linters\n\nlint:\n  stage: build\n  script: [make lint]\n";
    await writeFile(path.join(root, ".gitlab-ci.yml"), own);
    const { result } = await runInit(root);
    expect(result.written).toEqual([".gitlab-ci.yml"]);
    const text = await readFile(path.join(root, ".gitlab-ci.yml"), "utf8");
    expect(text).toContain("# the project's pipeline");
    expect(text).toContain("# our linters");
    const ci = parse(text) as { include: unknown[]; lint: unknown; stages: string[] };
    expect(ci.include[0]).toBe("ci/lint.yml");
    expect(ci.include[1]).toMatchObject({
      component: expect.stringContaining("gitops-ci"),
      inputs: { environments: ["local", "staging", "production"] },
    });
    expect(ci.lint).toEqual({ stage: "build", script: ["make lint"] });

    const before = await snapshot(root);
    expect((await runInit(root)).result.written).toEqual([]);
    expect(await snapshot(root)).toEqual(before);
  });

  it("refuses a .gitlab-ci.yml YAML cannot read, naming the file and line, and leaves it alone", async () => {
    const root = await copyExample("examples/layout-b");
    await writeFile(path.join(root, ".gitlab-ci.yml"), "stages: [build\nlint:\n  script: x\n");
    const { context } = captureContext(root);
    await expect(init(context, { dir: root, write: true, version: "0.1.0" })).rejects.toThrow(/\.gitlab-ci\.yml:\d+: /);
    expect(await readFile(path.join(root, ".gitlab-ci.yml"), "utf8")).toBe("stages: [build\nlint:\n  script: x\n");
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
