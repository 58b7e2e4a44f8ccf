// npm run bench (second part): 100 HelmReleases over 10 charts from an HTTP Helm repository on
// loopback, rendered by gitops-ci with a warm chart cache (every release templated), against a
// sequential `helm template` loop over the same releases (charts already downloaded, one values
// file each); and the warm re-render, whose releases come from the render cache. Same machine,
// same run. A report, not a test: it prints the ratio beside its target and exits 0.
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { dump } from "js-yaml";
import { createTaskContext } from "../core/context.ts";
import { createToolchain, PROJECT_ROOT } from "../core/toolchain.ts";
import { render } from "../tasks/render/index.ts";
import { startHelmRepository } from "../test/charts/helm-repository.ts";

const run = promisify(execFile);
const CHARTS = 10;
const RELEASES = 100;
const work = await mkdtemp(path.join(tmpdir(), "gitops-ci-bench-helm-"));
const helm = await createToolchain(process.env).resolve("helm");

try {
  const sources = path.join(work, "charts");
  for (let index = 0; index < CHARTS; index++) {
    const dir = path.join(sources, `app${index}`);
    await cp(path.join(PROJECT_ROOT, "test/fixtures/charts/webapp"), dir, { recursive: true });
    const chartFile = path.join(dir, "Chart.yaml");
    await writeFile(chartFile, (await readFile(chartFile, "utf8")).replace(/^name: .*$/m, `name: app${index}`));
  }
  const repository = await startHelmRepository(
    helm,
    Array.from({ length: CHARTS }, (_, index) => ({ dir: path.join(sources, `app${index}`) })),
  );
  try {
    const root = path.join(work, "repo");
    const releases = Array.from({ length: RELEASES }, (_, index) => ({
      name: `release-${index}`,
      chart: `app${index % CHARTS}`,
      values: { replicaCount: 1 + (index % 3), greeting: `hello ${index}` },
    }));
    await mkdir(path.join(root, "apps/base"), { recursive: true });
    const docs = [
      `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n`,
      `apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: charts\n  namespace: apps\nspec:\n  interval: 1h\n  url: ${repository.url}\n`,
      ...releases.map((release) =>
        dump({
          apiVersion: "helm.toolkit.fluxcd.io/v2",
          kind: "HelmRelease",
          metadata: { name: release.name, namespace: "apps" },
          spec: {
            interval: "10m",
            chart: { spec: { chart: release.chart, version: "1.0.0", sourceRef: { kind: "HelmRepository", name: "charts" } } },
            values: release.values,
          },
        }),
      ),
    ];
    await writeFile(path.join(root, "apps/base/releases.yaml"), docs.join("---\n"));
    await writeFile(path.join(root, "apps/base/kustomization.yaml"), "resources: [releases.yaml]\n");
    await mkdir(path.join(root, "apps/overlays/prod"), { recursive: true });
    await writeFile(path.join(root, "apps/overlays/prod/kustomization.yaml"), "resources: [../../base]\n");
    await writeFile(
      path.join(root, "gitops-ci.yaml"),
      "apiVersion: gitops-ci/v1\nkind: Config\nlayers:\n  - name: apps\n    path: apps\nenvironments: [prod]\n",
    );

    const cacheDir = path.join(work, "cache");
    const context = () =>
      createTaskContext({
        cwd: root,
        env: process.env,
        stdout: { write: () => {} },
        stderr: { write: () => {} },
        concurrency: availableParallelism(),
        cacheDir,
      });
    const cold = await render(context(), { dir: root }); // fills the chart cache
    const objects = cold.rendered.flatMap((result) => result.manifests.filter((manifest) => manifest.chart)).length;
    if (cold.findings.some((finding) => finding.severity === "error"))
      throw new Error(`the fleet does not render: ${JSON.stringify(cold.findings.slice(0, 3))}`);

    // Charts from the chart cache, every release templated: no render cache.
    const { renderCache: _renderCache, ...templating } = context();
    const startedOurs = performance.now();
    await render(templating, { dir: root });
    const ours = performance.now() - startedOurs;
    const startedWarm = performance.now();
    await render(context(), { dir: root });
    const warm = performance.now() - startedWarm;

    const valuesDir = path.join(work, "values");
    await mkdir(valuesDir);
    const startedLoop = performance.now();
    for (const release of releases) {
      const file = path.join(valuesDir, `${release.name}.yaml`);
      await writeFile(file, dump(release.values));
      await run(helm, [
        "template",
        release.name,
        path.join(repository.dir, `${release.chart}-1.0.0.tgz`),
        "--namespace",
        "apps",
        "--values",
        file,
        "--include-crds",
        "--skip-tests",
      ]);
    }
    const loop = performance.now() - startedLoop;
    const ratio = loop / ours;
    console.log(`HelmReleases: ${RELEASES} releases over ${CHARTS} charts, ${objects} chart objects`);
    console.log(`  gitops-ci render, warm chart cache (Kustomization build, engine render, findings): ${(ours / 1000).toFixed(2)} s`);
    console.log(`  gitops-ci render, warm render cache (charts resolved, no release templated):     ${(warm / 1000).toFixed(2)} s`);
    console.log(`  sequential helm template loop (charts already downloaded):                      ${(loop / 1000).toFixed(2)} s`);
    console.log(`  ratio ${ratio.toFixed(1)}x (target >= 3x): ${ratio >= 3 ? "PASS" : "MISS"}`);
  } finally {
    await repository.close();
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
