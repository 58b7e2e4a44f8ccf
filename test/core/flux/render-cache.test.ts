// The render cache with the real engine on copies of a Flux fixture: a wrapping runner records
// which Kustomizations reached gitops-ci-engine, so each case says what was rebuilt and what was not.
import { cp, readdir, readFile, stat, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { TaskContext } from "../../../core/context.ts";
import { ENGINE, runEngine, type EngineBuild } from "../../../core/flux/engine.ts";
import { createRenderCache } from "../../../core/flux/render-cache.ts";
import type { ProcessRunner } from "../../../core/process-runner.ts";
import { render } from "../../../tasks/render/index.ts";
import { captureContext } from "../../helpers/context.ts";
import { copyExample, makeRepo, makeTempDir, writeTree } from "../../helpers/temp-repo.ts";
import { fleet, release } from "../../charts/fleet.ts";
import { FIXTURE_CHARTS } from "../../charts/global-setup.ts";
import type { ReleaseRender } from "../../../core/flux/helm-engine.ts";

const FIXTURE = "test/fixtures/fleets/flux-kustomizations";
const TIMEOUT = 120_000;

interface CountingContext {
  context: TaskContext;
  /** spec.path of every build the engine ran, over every call. */
  built: () => string[];
  engineCalls: () => number;
  /** namespace/name of every HelmRelease the engine templated (not only resolved its chart). */
  rendered: () => string[];
}

function cachedContext(root: string, cacheDir: string): CountingContext {
  const { context } = captureContext(root);
  const built: string[] = [];
  const rendered: string[] = [];
  let engineCalls = 0;
  const runner: ProcessRunner = {
    run(tool, args, request) {
      const input =
        tool === ENGINE
          ? (JSON.parse(request?.input ?? "{}") as { builds?: EngineBuild[]; releases?: ReleaseRender[]; resolveOnly?: boolean })
          : {};
      const builds = input.builds;
      // Kustomization builds count as engine calls; HelmRelease renders apart (a chart's resolution is neither).
      if (builds && builds.length > 0) {
        engineCalls += 1;
        for (const build of builds) built.push(String((build.kustomization["spec"] as Record<string, unknown>)["path"]));
      }
      if (!input.resolveOnly) {
        for (const release of input.releases ?? []) {
          const metadata = release.helmRelease["metadata"] as Record<string, unknown>;
          rendered.push(`${String(metadata["namespace"])}/${String(metadata["name"])}`);
        }
      }
      return context.runner.run(tool, args, request);
    },
  };
  return {
    context: { ...context, runner, renderCache: createRenderCache(cacheDir) },
    built: () => [...built].sort(),
    engineCalls: () => engineCalls,
    rendered: () => [...rendered].sort(),
  };
}

/** What a render produced, without timings: equal renders are equal values. */
async function renderOnce(root: string, cacheDir: string) {
  const counting = cachedContext(root, cacheDir);
  const result = await render(counting.context, { dir: root });
  const rendered = result.rendered.map((r) => ({
    overlay: `${r.overlay.environment}/${r.overlay.layer}`,
    ok: r.ok,
    manifests: r.manifests,
    findings: r.findings,
  }));
  return {
    rendered,
    findings: result.findings,
    built: counting.built(),
    engineCalls: counting.engineCalls(),
    releases: counting.rendered(),
  };
}

/** An entry is its checksum line, then JSON. */
function entryOf(text: string): { result: { inputs: { trees: string[] } } } {
  return JSON.parse(text.slice(text.indexOf("\n") + 1)) as { result: { inputs: { trees: string[] } } };
}

async function entryFiles(cacheDir: string): Promise<string[]> {
  const files: string[] = [];
  for (const shard of await readdir(cacheDir)) {
    const dir = path.join(cacheDir, shard);
    if (!(await stat(dir)).isDirectory()) continue;
    for (const name of await readdir(dir)) if (name.endsWith(".json")) files.push(path.join(dir, name));
  }
  return files;
}

describe("render cache", () => {
  it("runs no Kustomization build for an unchanged tree, and renders the same", { timeout: TIMEOUT }, async () => {
    const root = await copyExample(FIXTURE);
    const cacheDir = await makeTempDir();
    const cold = await renderOnce(root, cacheDir);
    expect(cold.built.length).toBeGreaterThan(0);
    expect(cold.rendered.every((r) => r.ok)).toBe(true);

    const warm = await renderOnce(root, cacheDir);
    expect(warm.engineCalls).toBe(0);
    expect(warm.rendered).toEqual(cold.rendered);
    expect(warm.findings).toEqual(cold.findings);
  });

  it("is shared by checkouts in different folders: keys and inputs are relative to the root", { timeout: TIMEOUT }, async () => {
    const cacheDir = await makeTempDir();
    const first = await renderOnce(await copyExample(FIXTURE), cacheDir);
    const second = await renderOnce(await copyExample(FIXTURE), cacheDir);
    expect(second.engineCalls).toBe(0);
    expect(second.rendered).toEqual(first.rendered);
  });

  it("rebuilds only the Kustomization whose file changed, and shows the change", { timeout: TIMEOUT }, async () => {
    const root = await copyExample(FIXTURE);
    const cacheDir = await makeTempDir();
    await renderOnce(root, cacheDir);
    const values = path.join(root, "apps/staging/podinfo-values.yaml");
    await writeFile(values, (await readFile(values, "utf8")).replace("podinfo on ${cluster_env}", "podinfo, changed, on ${cluster_env}"));

    const after = await renderOnce(root, cacheDir);
    expect(after.built).toEqual(["./apps/staging"]);
    const apps = after.rendered.find((r) => r.overlay === "staging/apps")!;
    expect(JSON.stringify(apps.manifests)).toContain("podinfo, changed, on staging");
  });

  it("rebuilds a generated (no kustomization.yaml) folder when a file is added to it", { timeout: TIMEOUT }, async () => {
    const root = await copyExample(FIXTURE);
    const cacheDir = await makeTempDir();
    await renderOnce(root, cacheDir);
    await writeFile(
      path.join(root, "clusters/staging/extra.yaml"),
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: flux-system\ndata:\n  a: b\n",
    );

    const after = await renderOnce(root, cacheDir);
    expect(after.built).toEqual(["./clusters/staging"]);
    const cluster = after.rendered.find((r) => r.overlay === "staging/flux-system")!;
    expect(cluster.manifests.map((m) => `${m.ref.kind}/${m.ref.name}`)).toContain("ConfigMap/extra");
  });

  it("rebuilds when the Kustomization's spec changes, though no file did", { timeout: TIMEOUT }, async () => {
    const root = await copyExample(FIXTURE);
    const counting = cachedContext(root, await makeTempDir());
    const build = (spec: Record<string, unknown>): EngineBuild => ({
      id: "apps",
      kustomization: {
        apiVersion: "kustomize.toolkit.fluxcd.io/v1",
        kind: "Kustomization",
        metadata: { name: "apps", namespace: "flux-system" },
        spec: { interval: "10m", path: "./apps/staging", prune: true, sourceRef: { kind: "GitRepository", name: "flux-system" }, ...spec },
      },
      resolveSubstituteFrom: false,
      origins: true,
    });
    const [first] = await runEngine(counting.context, root, [build({})]);
    const [again] = await runEngine(counting.context, root, [{ ...build({}), id: "another id" }]);
    expect(counting.engineCalls()).toBe(1);
    expect(again).toMatchObject({ id: "another id", cached: true, objects: first!.objects });

    const [moved] = await runEngine(counting.context, root, [build({ targetNamespace: "elsewhere" })]);
    expect(counting.engineCalls()).toBe(2);
    expect(moved!.cached).toBeUndefined();
    expect(moved!.objects.map((object) => (object["metadata"] as Record<string, unknown>)["namespace"])).toContain("elsewhere");
  });

  it("rebuilds when a component it was told to skip while missing appears", { timeout: TIMEOUT }, async () => {
    const root = await copyExample(FIXTURE);
    const counting = cachedContext(root, await makeTempDir());
    const build: EngineBuild = {
      id: "apps",
      kustomization: {
        apiVersion: "kustomize.toolkit.fluxcd.io/v1",
        kind: "Kustomization",
        metadata: { name: "apps", namespace: "flux-system" },
        spec: {
          interval: "10m",
          path: "./apps/staging",
          prune: true,
          sourceRef: { kind: "GitRepository", name: "flux-system" },
          components: ["../components/extra"],
          ignoreMissingComponents: true,
        },
      },
      resolveSubstituteFrom: false,
      origins: true,
    };
    const [without] = await runEngine(counting.context, root, [build]);
    expect(without!.error).toBeUndefined();
    await writeTree(root, {
      "apps/components/extra/kustomization.yaml":
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n  - configmap.yaml\n",
      "apps/components/extra/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-the-component\n",
    });
    const [withComponent] = await runEngine(counting.context, root, [build]);
    expect(counting.engineCalls()).toBe(2);
    expect(withComponent!.objects.map((object) => (object["metadata"] as Record<string, unknown>)["name"])).toContain("from-the-component");
  });

  it("treats a truncated entry as a miss, rebuilds it and writes it again", { timeout: TIMEOUT }, async () => {
    const root = await copyExample(FIXTURE);
    const cacheDir = await makeTempDir();
    const cold = await renderOnce(root, cacheDir);
    const entries = await Promise.all(
      (await entryFiles(cacheDir)).map(async (file) => ({ file, entry: entryOf(await readFile(file, "utf8")) })),
    );
    const victim = entries.find(({ entry }) => entry.result.inputs.trees.includes("apps/staging"))!.file;
    await truncate(victim, Math.floor((await stat(victim)).size / 2));

    const repaired = await renderOnce(root, cacheDir);
    expect(repaired.built).toEqual(["./apps/staging"]);
    expect(repaired.rendered).toEqual(cold.rendered);
    expect((await renderOnce(root, cacheDir)).engineCalls).toBe(0);
  });

  it("serves two concurrent runs on one cache folder", { timeout: TIMEOUT }, async () => {
    const root = await copyExample(FIXTURE);
    const cacheDir = await makeTempDir();
    const [a, b] = await Promise.all([renderOnce(root, cacheDir), renderOnce(root, cacheDir)]);
    expect(a.rendered.every((r) => r.ok)).toBe(true);
    expect(b.rendered).toEqual(a.rendered);
    const warm = await renderOnce(root, cacheDir);
    expect(warm.engineCalls).toBe(0);
    expect(warm.rendered).toEqual(a.rendered);
    expect((await readdir(path.dirname((await entryFiles(cacheDir))[0]!))).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });

  it("never keeps a build that substituted from a Secret", { timeout: TIMEOUT }, async () => {
    const root = await copyExample(FIXTURE);
    const cacheDir = await makeTempDir();
    const apps = path.join(root, "clusters/staging/apps.yaml");
    await writeFile(
      apps,
      (await readFile(apps, "utf8")).replace(
        "        name: cluster-vars",
        "        name: cluster-vars\n      - kind: Secret\n        name: cluster-secrets",
      ),
    );
    await writeFile(
      path.join(root, "clusters/staging/cluster-secrets.yaml"),
      "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cluster-secrets\n  namespace: flux-system\nstringData:\n  cluster_token: s3cr3t-from-the-secret\n",
    );
    await renderOnce(root, cacheDir);
    const again = await renderOnce(root, cacheDir);
    expect(again.built).toEqual(["./apps/staging"]);
    // The cluster's own build (which renders the Secret from the repository) is kept; staging's apps is not.
    const cachedTrees = await Promise.all(
      (await entryFiles(cacheDir)).map(async (file) => entryOf(await readFile(file, "utf8")).result.inputs.trees),
    );
    expect(cachedTrees.flat()).toContain("clusters/staging");
    expect(cachedTrees.flat()).toContain("apps/production");
    expect(cachedTrees.flat()).not.toContain("apps/staging");
  });
});

// HelmReleases of a chart vendored in the repository (no network in this project): the render is
// kept by the release request, the chart it resolved to and the chart's files.
describe("render cache: HelmRelease renders", () => {
  const chartRelease = (name: string, valuesFrom: string) =>
    release(
      name,
      `  chart:
    spec:
      chart: ./charts/webapp
      sourceRef:
        kind: GitRepository
        name: flux-system
        namespace: flux-system
  valuesFrom:
${valuesFrom}`,
    );
  const configMap = (greeting: string) =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: webapp-values\n  namespace: apps\ndata:\n  values.yaml: |\n    greeting: ${greeting}\n`;

  async function chartFleet(extra: Record<string, string> = {}): Promise<string> {
    const root = await makeRepo(
      fleet(
        {
          "values.yaml": configMap("hello"),
          "release.yaml": chartRelease("webapp", "    - kind: ConfigMap\n      name: webapp-values\n"),
          ...extra,
        },
        { prodPatch: configMap("hello-prod") },
      ),
    );
    await cp(path.join(FIXTURE_CHARTS, "webapp"), path.join(root, "charts/webapp"), { recursive: true });
    return root;
  }

  it("templates no release again for an unchanged tree, and renders the same", { timeout: TIMEOUT }, async () => {
    const root = await chartFleet();
    const cacheDir = await makeTempDir();
    const cold = await renderOnce(root, cacheDir);
    expect(cold.releases).toEqual(["apps/webapp", "apps/webapp"]);
    expect(cold.findings.filter((finding) => finding.severity !== "info")).toEqual([]);
    const warm = await renderOnce(root, cacheDir);
    expect(warm.releases).toEqual([]);
    expect(warm.rendered).toEqual(cold.rendered);
    expect(warm.findings).toEqual(cold.findings);
  });

  it(
    "templates again only the release whose values changed, and every release of a chart whose file changed",
    { timeout: TIMEOUT },
    async () => {
      const root = await chartFleet();
      const cacheDir = await makeTempDir();
      await renderOnce(root, cacheDir);
      await writeFile(path.join(root, "apps/overlays/prod/patch.yaml"), configMap("changed-in-prod"));
      const valuesChanged = await renderOnce(root, cacheDir);
      expect(valuesChanged.releases).toEqual(["apps/webapp"]);
      const prod = valuesChanged.rendered.find((r) => r.overlay === "prod/apps")!;
      expect(JSON.stringify(prod.manifests)).toContain("changed-in-prod");

      const template = path.join(root, "charts/webapp/templates/service.yaml");
      await writeFile(template, `${await readFile(template, "utf8")}\n# edited\n`);
      expect((await renderOnce(root, cacheDir)).releases).toEqual(["apps/webapp", "apps/webapp"]);
      await writeFile(path.join(root, "charts/webapp/templates/extra.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n");
      const added = await renderOnce(root, cacheDir);
      expect(added.releases).toEqual(["apps/webapp", "apps/webapp"]);
      expect(added.rendered.find((r) => r.overlay === "staging/apps")!.manifests.some((manifest) => manifest.ref.name === "extra")).toBe(
        true,
      );
      expect((await renderOnce(root, cacheDir)).releases).toEqual([]);
    },
  );

  it("templates again when the Kubernetes version changes", { timeout: TIMEOUT }, async () => {
    const root = await chartFleet();
    const cacheDir = await makeTempDir();
    await renderOnce(root, cacheDir);
    const counting = cachedContext(root, cacheDir);
    const result = await render(counting.context, { dir: root, kubernetesVersion: "1.31.4" });
    expect(counting.rendered()).toEqual(["apps/webapp", "apps/webapp"]);
    expect(JSON.stringify(result.rendered.map((r) => r.manifests))).toContain("v1.31.4");
  });

  it("never keeps a release whose values come from a Secret", { timeout: TIMEOUT }, async () => {
    const secret = "canary-41f8-release-values-secret";
    const root = await chartFleet({
      "db.yaml": `apiVersion: v1\nkind: Secret\nmetadata:\n  name: webapp-db\n  namespace: apps\nstringData:\n  values.yaml: |\n    database:\n      password: ${secret}\n`,
      "other.yaml": chartRelease("other", "    - kind: Secret\n      name: webapp-db\n"),
    });
    const cacheDir = await makeTempDir();
    await renderOnce(root, cacheDir);
    expect((await renderOnce(root, cacheDir)).releases).toEqual(["apps/other", "apps/other"]);
    // (The build of the layer holds the Secret as the repository does; the release renders are what must not.)
    const entries = (await Promise.all((await entryFiles(cacheDir)).map((file) => readFile(file, "utf8")))).filter((entry) =>
      entry.includes('"releaseName"'),
    );
    expect(entries).toHaveLength(2);
    expect(entries.join("\n")).not.toContain(secret);
    expect(entries.join("\n")).not.toContain(Buffer.from(secret).toString("base64"));
  });
});
