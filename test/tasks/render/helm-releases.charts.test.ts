// HelmReleases rendered from the tests' Helm repository on loopback (test/charts/global-setup.ts),
// compared with `helm template` (the pinned helm, the Helm version helm-controller builds with) on
// the same merged values, object for object.
import { readdir } from "node:fs/promises";
import path from "node:path";
import { describe, expect, inject, it } from "vitest";
import { check } from "../../../tasks/check/index.ts";
import { render } from "../../../tasks/render/index.ts";
import { captureContext } from "../../helpers/context.ts";
import { makeRepo, makeTempDir } from "../../helpers/temp-repo.ts";
import { runReleases } from "../../../core/flux/helm-engine.ts";
import { asHelmTemplates, fleet, helmTemplate, key, quietContext, release, repository } from "../../charts/fleet.ts";

const url = () => inject("helmRepositoryUrl");

async function archive(name: string, version: string): Promise<string> {
  const dir = inject("helmRepositoryDir");
  const file = (await readdir(dir)).find((entry) => entry === `${name}-${version}.tgz`);
  if (!file) throw new Error(`${name}-${version}.tgz is not in the test repository`);
  return path.join(dir, file);
}

describe("HelmReleases from an HTTP HelmRepository", () => {
  it("resolves a semver range to the highest match, merges valuesFrom (targetPath) and values as helm-controller, and renders what helm template renders", async () => {
    const root = await makeRepo(
      fleet({
        "repository.yaml": repository("charts", url()),
        "values.yaml":
          "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: webapp-values\n  namespace: apps\ndata:\n  values.yaml: |\n    greeting: from-configmap\n    replicaCount: 2\n  tag: 9.9.9\n",
        "release.yaml": release(
          "webapp",
          `  chart:
    spec:
      chart: webapp
      version: ">=1.0.0 <2.0.0"
      sourceRef:
        kind: HelmRepository
        name: charts
  valuesFrom:
    - kind: ConfigMap
      name: webapp-values
    - kind: ConfigMap
      name: webapp-values
      valuesKey: tag
      targetPath: image.tag
  values:
    replicaCount: 3
`,
        ),
      }),
    );
    const { context } = captureContext(root, {}, { fetchCharts: true });
    const result = await render(context, { dir: root });
    expect(result.findings.filter((finding) => finding.severity !== "info")).toEqual([]);
    const apps = result.rendered.find((r) => r.overlay.environment === "prod" && r.overlay.layer === "apps")!;
    const chartObjects = apps.manifests.filter((manifest) => manifest.chart);
    expect(chartObjects.map((manifest) => manifest.chart!.chart)).toContain("webapp 1.1.0");

    // Every object carries the origin labels and the namespace it is applied in.
    for (const manifest of chartObjects) {
      const metadata = manifest.object["metadata"] as Record<string, Record<string, string>>;
      expect(metadata["labels"]).toMatchObject({ "helm.toolkit.fluxcd.io/name": "webapp", "helm.toolkit.fluxcd.io/namespace": "apps" });
      expect(manifest.ref.namespace).toBe("apps");
    }
    const deployment = chartObjects.find((manifest) => manifest.ref.kind === "Deployment")!.object as {
      spec: { replicas: number; template: { spec: { containers: { image: string; env: { value: string }[] }[] } } };
    };
    expect(deployment.spec.replicas).toBe(3); // spec.values over valuesFrom
    expect(deployment.spec.template.spec.containers[0]!.image).toBe("ghcr.io/example/webapp:9.9.9"); // targetPath
    expect(deployment.spec.template.spec.containers[0]!.env[0]!.value).toBe("from-configmap");
    // Chart tests are left out.
    expect(chartObjects.some((manifest) => manifest.ref.kind === "Pod")).toBe(false);

    const oracle = await helmTemplate("webapp", "apps", await archive("webapp", "1.1.0"), {
      greeting: "from-configmap",
      replicaCount: 3,
      image: { tag: "9.9.9" },
    });
    const ours = new Map(chartObjects.map((manifest) => [key(manifest.object), asHelmTemplates(manifest.object)]));
    expect([...ours.keys()].sort()).toEqual(oracle.map(key).sort());
    for (const object of oracle) {
      const metadata = object["metadata"] as Record<string, unknown>;
      metadata["namespace"] ??= "apps";
      expect(ours.get(key(object))).toEqual(object);
    }
  });

  it("reports a values-schema violation in one environment only, at the line of the offending value", async () => {
    const root = await makeRepo(
      fleet(
        {
          "repository.yaml": repository("charts", url()),
          "release.yaml": release(
            "webapp",
            "  chart:\n    spec:\n      chart: webapp\n      version: 1.0.0\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n  values:\n    replicaCount: 1\n",
          ),
        },
        { prodPatch: release("webapp", "  values:\n    replicaCount: three\n") },
      ),
    );
    const { context } = captureContext(root, {}, { fetchCharts: true });
    const result = await check(context, { dir: root, json: true });
    const schema = result.report.findings.filter((finding) => finding.check === "helm/values-schema");
    expect(schema).toEqual([
      expect.objectContaining({
        severity: "error",
        environment: "prod",
        layer: "apps",
        file: "apps/overlays/prod/patch.yaml",
        line: 9,
        message: expect.stringMatching(/HelmRelease apps\/webapp .*webapp 1\.0\.0.*\/replicaCount.*set in spec\.values/),
      }),
    ]);
    const failing = result.report.summary.filter((row) => row.errors > 0).map((row) => `${row.environment}/${row.layer}`);
    expect(failing).toEqual(["prod/apps"]);
    expect(result.exitCode).toBe(1);
  });

  it("reports a chart template error with the chart's message, and an unreachable repository naming the release and its source, while the others render", async () => {
    const root = await makeRepo(
      fleet({
        "repository.yaml": repository("charts", url()),
        "unreachable.yaml": repository("gone", "http://127.0.0.1:9/charts"),
        "ok.yaml": release(
          "ok",
          "  chart:\n    spec:\n      chart: webapp\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n",
        ),
        "broken.yaml": release(
          "broken",
          "  chart:\n    spec:\n      chart: webapp\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n  values:\n    mustFail: true\n",
        ),
        "far.yaml": release(
          "far",
          "  chart:\n    spec:\n      chart: webapp\n      sourceRef:\n        kind: HelmRepository\n        name: gone\n",
        ),
      }),
    );
    const { context } = captureContext(root, {}, { fetchCharts: true });
    const result = await render(context, { dir: root });
    const staging = result.findings.filter((finding) => finding.environment === "staging" && finding.check.startsWith("helm/"));
    expect(staging).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          check: "helm/template",
          severity: "error",
          resource: expect.objectContaining({ name: "broken" }),
          file: "apps/base/broken.yaml",
          message: expect.stringContaining("webapp: mustFail is set, refusing to render"),
        }),
        expect.objectContaining({
          check: "helm/chart-fetch",
          severity: "error",
          resource: expect.objectContaining({ name: "far" }),
          file: "apps/base/far.yaml",
          message: expect.stringContaining("http://127.0.0.1:9/charts"),
        }),
      ]),
    );
    expect(staging).toHaveLength(2);
    const apps = result.rendered.find((r) => r.overlay.environment === "staging" && r.overlay.layer === "apps")!;
    expect(
      apps.manifests
        .filter((manifest) => manifest.chart?.helmRelease.name === "ok")
        .map((manifest) => manifest.ref.kind)
        .sort(),
    ).toEqual(["Deployment", "Service"]);
    expect(result.exitCode).toBe(1);
  });

  it("applies postRenderers (kustomize patches and images) and reads credentials from the repository's secretRef without printing them", async () => {
    const credentials = inject("helmRepositoryCredentials");
    const root = await makeRepo(
      fleet({
        "repository.yaml": repository("private", `${url()}/private`, "charts-auth"),
        "auth.yaml": `apiVersion: v1\nkind: Secret\nmetadata:\n  name: charts-auth\n  namespace: apps\nstringData:\n  username: ${credentials.username}\n  password: ${credentials.password}\n`,
        "release.yaml": release(
          "webapp",
          `  chart:
    spec:
      chart: webapp
      version: 1.0.0
      sourceRef:
        kind: HelmRepository
        name: private
  postRenderers:
    - kustomize:
        images:
          - name: ghcr.io/example/webapp
            newName: registry.example.com/mirror/webapp
        patches:
          - target:
              kind: Deployment
            patch: |
              - op: add
                path: /metadata/annotations
                value:
                  patched: "yes"
`,
        ),
      }),
    );
    const { context, stdout, stderr } = captureContext(root, {}, { fetchCharts: true });
    const result = await render(context, { dir: root, outDir: path.join(root, "out") });
    const apps = result.rendered.find((r) => r.overlay.environment === "staging" && r.overlay.layer === "apps")!;
    const deployment = apps.manifests.find((manifest) => manifest.chart && manifest.ref.kind === "Deployment")!.object as {
      metadata: { annotations: Record<string, string> };
      spec: { template: { spec: { containers: { image: string }[] } } };
    };
    expect(deployment.metadata.annotations).toEqual({ patched: "yes" });
    expect(deployment.spec.template.spec.containers[0]!.image).toBe("registry.example.com/mirror/webapp:1.0.0");
    expect(stdout() + stderr()).not.toContain(credentials.password);
  });

  it("redacts values that come from a Secret wherever the chart puts them", async () => {
    const canary = "canary-9d2c-values-from-secret";
    const root = await makeRepo(
      fleet({
        "repository.yaml": repository("charts", url()),
        "db.yaml": `apiVersion: v1\nkind: Secret\nmetadata:\n  name: webapp-db\n  namespace: apps\nstringData:\n  values.yaml: |\n    greeting: ${canary}\n`,
        "release.yaml": release(
          "webapp",
          "  chart:\n    spec:\n      chart: webapp\n      version: 1.0.0\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n  valuesFrom:\n    - kind: Secret\n      name: webapp-db\n",
        ),
      }),
    );
    const { context, stdout, stderr } = captureContext(root, {}, { fetchCharts: true });
    await render(context, { dir: root, outDir: path.join(root, "out") });
    const deployment = (await readdir(path.join(root, "out/rendered/staging"))).find((file) => file.includes("apps"))!;
    const { readFile } = await import("node:fs/promises");
    expect(await readFile(path.join(root, "out/rendered/staging", deployment), "utf8")).not.toContain(canary);
    context.output.out(`the greeting is ${canary}`);
    expect(stdout() + stderr()).not.toContain(canary);
  });
});

describe("chart CRDs", () => {
  it("count for the layer contracts and validate the custom resources of later layers with the chart's own schema", async () => {
    const widget = (size: string) =>
      `apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: apps\nspec:\n  size: ${size}\n`;
    const root = await makeRepo({
      ...fleet({ "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: apps\n" }),
      "controllers/base/kustomization.yaml": "resources: [namespace.yaml, repository.yaml, operator.yaml]\n",
      "controllers/base/repository.yaml": repository("charts", url()),
      "controllers/base/operator.yaml": release(
        "widgets",
        "  chart:\n    spec:\n      chart: widgets\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n",
      ),
      "configs/base/kustomization.yaml": "resources: [cm.yaml, widget.yaml]\n",
      "configs/base/widget.yaml": widget("1"),
      "configs/overlays/prod/kustomization.yaml": "resources: [../../base]\npatches:\n  - path: patch.yaml\n",
      "configs/overlays/prod/patch.yaml": widget('"big"'),
    });
    const { context } = captureContext(root, {}, { fetchCharts: true });
    const result = await check(context, { dir: root, json: true });
    const errors = result.report.findings.filter((finding) => finding.severity !== "info");
    expect(errors).toEqual([
      expect.objectContaining({
        check: "validate/schema",
        environment: "prod",
        layer: "configs",
        resource: expect.objectContaining({ kind: "Widget" }),
      }),
    ]);
    expect(result.report.findings.some((finding) => finding.check.startsWith("contracts/"))).toBe(false);
  });

  it("makes a chart's CRDs API versions of the releases after it (Capabilities.APIVersions)", async () => {
    const root = await makeRepo({
      ...fleet({
        "repository.yaml": repository("charts", url()),
        "release.yaml": release(
          "webapp",
          "  chart:\n    spec:\n      chart: webapp\n      version: 1.0.0\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n",
        ),
      }),
      "controllers/base/kustomization.yaml": "resources: [namespace.yaml, repository.yaml, operator.yaml]\n",
      "controllers/base/repository.yaml": repository("charts", url()),
      "controllers/base/operator.yaml": release(
        "widgets",
        "  chart:\n    spec:\n      chart: widgets\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n",
      ),
    });
    const { context } = captureContext(root, {}, { fetchCharts: true });
    const result = await render(context, { dir: root });
    const apps = result.rendered.find((r) => r.overlay.environment === "staging" && r.overlay.layer === "apps")!;
    expect(apps.manifests.some((manifest) => manifest.ref.kind === "Widget")).toBe(true);
  });
});

describe("chart cache", () => {
  it("renders offline from the cache a previous run filled, and reports a chart it lacks", async () => {
    const root = await makeRepo(
      fleet({
        "repository.yaml": repository("charts", url()),
        "release.yaml": release(
          "webapp",
          "  chart:\n    spec:\n      chart: webapp\n      version: 1.0.0\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n",
        ),
      }),
    );
    const cacheDir = await makeTempDir();

    const empty = await render(quietContext(root, { offline: true, cacheDir: await makeTempDir() }), { dir: root });
    expect(
      empty.findings.filter((finding) => finding.check.startsWith("helm/")).map((finding) => `${finding.severity} ${finding.check}`),
    ).toEqual(["warning helm/chart-not-cached", "warning helm/chart-not-cached"]);

    const online = await render(quietContext(root, { offline: false, cacheDir }), { dir: root });
    expect(online.findings.filter((finding) => finding.check.startsWith("helm/"))).toEqual([]);
    const offline = await render(quietContext(root, { offline: true, cacheDir }), { dir: root });
    expect(offline.findings.filter((finding) => finding.check.startsWith("helm/"))).toEqual([]);
    const objects = (result: typeof online) =>
      result.rendered.flatMap((r) => r.manifests.filter((manifest) => manifest.chart).map((manifest) => manifest.object));
    expect(objects(offline)).toEqual(objects(online));
    expect(objects(offline).length).toBeGreaterThan(0);
  });
});

// The engine's own answer for a release whose name is too long for Helm: shortened as helm-controller does.
describe("release name", () => {
  it("shortens [targetNamespace-]name past 53 characters like helm-controller", async () => {
    const root = await makeRepo({ "x.txt": "" });
    const [result] = await runReleases(
      captureContext(root, {}, { fetchCharts: true }).context,
      root,
      [
        {
          id: "0",
          helmRelease: {
            apiVersion: "helm.toolkit.fluxcd.io/v2",
            kind: "HelmRelease",
            metadata: { name: "a-release-with-a-really-long-name-for-helm", namespace: "apps" },
            spec: {
              targetNamespace: "a-long-target-namespace",
              chart: { spec: { chart: "webapp", version: "1.0.0", sourceRef: { kind: "HelmRepository", name: "charts" } } },
            },
          },
          sources: [
            {
              apiVersion: "source.toolkit.fluxcd.io/v1",
              kind: "HelmRepository",
              metadata: { name: "charts", namespace: "apps" },
              spec: { url: url() },
            },
          ],
          objects: [],
          localGitRepositories: [],
        },
      ],
      { offline: false },
    );
    const name = "a-long-target-namespace-a-release-with-a-really-long-name-for-helm";
    const { createHash } = await import("node:crypto");
    expect(result!.releaseName).toBe(`${name.slice(0, 40)}-${createHash("sha256").update(name).digest("hex").slice(0, 12)}`);
    expect(result!.namespace).toBe("a-long-target-namespace");
  });
});
