// HelmReleases whose charts come from OCI registries on loopback (distribution's registry, charts
// pushed with the pinned `helm push`; test/charts/oci-registry.ts): a HelmRepository of type oci
// and an OCIRepository a chartRef names, compared with `helm template` of the chart `helm pull`
// fetches, on the same merged values, object for object.
import { execFile } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, inject, it } from "vitest";
import { registryVariablePrefix } from "../../../core/flux/registry-auth.ts";
import { createToolchain } from "../../../core/toolchain.ts";
import { render, type RenderResult } from "../../../tasks/render/index.ts";
import { captureContext } from "../../helpers/context.ts";
import { makeRepo, makeTempDir } from "../../helpers/temp-repo.ts";
import { asHelmTemplates, fleet, helmTemplate, key, quietContext, release } from "../../charts/fleet.ts";

const run = promisify(execFile);
const open = () => inject("ociRegistry");
const closed = () => inject("ociPrivateRegistry");

function ociHelmRepository(name: string, host: string, secret?: string): string {
  return `apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: ${name}
  namespace: apps
spec:
  type: oci
  interval: 1h
  url: oci://${host}/charts
  insecure: true
${secret ? `  secretRef:\n    name: ${secret}\n` : ""}`;
}

function ociRepository(name: string, host: string, ref: string, secret?: string): string {
  return `apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: ${name}
  namespace: apps
spec:
  interval: 1h
  url: oci://${host}/charts/webapp
  insecure: true
  ref:
${ref}
  layerSelector:
    mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip
    operation: copy
${secret ? `  secretRef:\n    name: ${secret}\n` : ""}`;
}

const fromHelmRepository = (repository: string, version: string) =>
  `  chart:\n    spec:\n      chart: webapp\n      version: "${version}"\n      sourceRef:\n        kind: HelmRepository\n        name: ${repository}\n`;
const fromOciRepository = (name: string) => `  chartRef:\n    kind: OCIRepository\n    name: ${name}\n`;

/** The chart archive `helm pull` fetches (the oracle's chart), in a folder of its own. */
async function helmPull(host: string, version: string, credentials?: { username: string; password: string }): Promise<string> {
  const helm = await createToolchain(process.env).resolve("helm");
  const dir = await makeTempDir();
  const auth = credentials ? ["--username", credentials.username, "--password", credentials.password] : [];
  const env = {
    PATH: process.env["PATH"] ?? "",
    HOME: dir,
    HELM_REGISTRY_CONFIG: path.join(dir, "registry.json"),
    HELM_CACHE_HOME: path.join(dir, "cache"),
  };
  await run(helm, ["pull", `oci://${host}/charts/webapp`, "--version", version, "--plain-http", "--destination", dir, ...auth], { env });
  return path.join(dir, `webapp-${version}.tgz`);
}

/** The pulled chart with the version helm-controller gives a chart from an OCIRepository: <version>+<manifest digest[0:12]>. */
async function withVersion(archive: string, version: string): Promise<string> {
  const dir = await makeTempDir();
  await run("tar", ["-xzf", archive, "-C", dir]);
  const file = path.join(dir, "webapp", "Chart.yaml");
  await writeFile(file, (await readFile(file, "utf8")).replace(/^version: .*$/m, `version: ${version}`));
  return path.join(dir, "webapp");
}

function chartObjectsOf(result: RenderResult, environment: string, name: string) {
  const apps = result.rendered.find((r) => r.overlay.environment === environment && r.overlay.layer === "apps")!;
  return apps.manifests.filter((manifest) => manifest.chart?.helmRelease.name === name);
}

async function expectSameAsHelmTemplate(result: RenderResult, name: string, chart: string, values: Record<string, unknown>): Promise<void> {
  const ours = new Map(chartObjectsOf(result, "prod", name).map((manifest) => [key(manifest.object), asHelmTemplates(manifest.object)]));
  const oracle = await helmTemplate(name, "apps", chart, values);
  expect([...ours.keys()].sort()).toEqual(oracle.map(key).sort());
  for (const object of oracle) {
    (object["metadata"] as Record<string, unknown>)["namespace"] ??= "apps";
    expect(ours.get(key(object))).toEqual(object);
  }
}

function manifestDigest(host: string, tag: string): Promise<string> {
  return fetch(`http://${host}/v2/charts/webapp/manifests/${tag}`, {
    method: "HEAD",
    headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
  }).then((response) => {
    const digest = response.headers.get("docker-content-digest");
    if (!digest) throw new Error(`no digest for webapp:${tag} on ${host}`);
    return digest;
  });
}

describe("HelmReleases from a HelmRepository of type oci", () => {
  it("resolves a semver range to the highest tag in the registry, as source-controller, and renders what helm template renders of the pulled chart", async () => {
    const root = await makeRepo(
      fleet({
        "repository.yaml": ociHelmRepository("oci-charts", open()),
        "release.yaml": release(
          "webapp",
          `${fromHelmRepository("oci-charts", ">=1.0.0 <2.0.0")}  values:\n    replicaCount: 2\n    greeting: from-oci\n`,
        ),
      }),
    );
    const { context } = captureContext(root, {}, { fetchCharts: true });
    const result = await render(context, { dir: root });
    expect(result.findings.filter((finding) => finding.severity !== "info")).toEqual([]);
    const objects = chartObjectsOf(result, "prod", "webapp");
    expect(new Set(objects.map((manifest) => manifest.chart!.chart))).toEqual(new Set(["webapp 1.1.0"]));
    await expectSameAsHelmTemplate(result, "webapp", await helmPull(open(), "1.1.0"), { replicaCount: 2, greeting: "from-oci" });
  });
});

describe("HelmReleases from an OCIRepository (chartRef)", () => {
  it("pulls spec.ref.tag, and a semver range's highest tag, with the digest in the chart version as helm-controller sets it", async () => {
    const root = await makeRepo(
      fleet({
        "tagged.yaml": ociRepository("webapp-tagged", open(), "    tag: 1.0.0"),
        "ranged.yaml": ociRepository("webapp-ranged", open(), '    semver: "1.x"'),
        "pinned.yaml": release("pinned", `${fromOciRepository("webapp-tagged")}  values:\n    greeting: tagged\n`),
        "latest.yaml": release("latest", fromOciRepository("webapp-ranged")),
      }),
    );
    const { context } = captureContext(root, {}, { fetchCharts: true });
    const result = await render(context, { dir: root });
    expect(result.findings.filter((finding) => finding.severity !== "info")).toEqual([]);
    const tagged = `1.0.0+${(await manifestDigest(open(), "1.0.0")).slice("sha256:".length, "sha256:".length + 12)}`;
    const ranged = `1.1.0+${(await manifestDigest(open(), "1.1.0")).slice("sha256:".length, "sha256:".length + 12)}`;
    expect(new Set(chartObjectsOf(result, "prod", "pinned").map((manifest) => manifest.chart!.chart))).toEqual(
      new Set([`webapp ${tagged}`]),
    );
    expect(new Set(chartObjectsOf(result, "prod", "latest").map((manifest) => manifest.chart!.chart))).toEqual(
      new Set([`webapp ${ranged}`]),
    );
    await expectSameAsHelmTemplate(result, "pinned", await withVersion(await helmPull(open(), "1.0.0"), tagged), { greeting: "tagged" });
    await expectSameAsHelmTemplate(result, "latest", await withVersion(await helmPull(open(), "1.1.0"), ranged), {});
  });

  it("pulls spec.ref.digest", async () => {
    const digest = await manifestDigest(open(), "1.1.0");
    const root = await makeRepo(
      fleet({
        "source.yaml": ociRepository("webapp", open(), `    digest: ${digest}`),
        "release.yaml": release("webapp", fromOciRepository("webapp")),
      }),
    );
    const { context } = captureContext(root, {}, { fetchCharts: true });
    const result = await render(context, { dir: root });
    expect(result.findings.filter((finding) => finding.severity !== "info")).toEqual([]);
    expect(new Set(chartObjectsOf(result, "staging", "webapp").map((manifest) => manifest.chart!.chart))).toEqual(
      new Set([`webapp 1.1.0+${digest.slice(7, 19)}`]),
    );
  });
});

describe("OCI registry credentials", () => {
  it("come from the source's secretRef (username/password, dockerconfigjson) or the CI variables, and are never printed", async () => {
    const credentials = inject("ociCredentials");
    const dockerConfig = JSON.stringify({
      auths: { [closed()]: { auth: Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64") } },
    });
    const root = await makeRepo(
      fleet({
        "basic.yaml": ociHelmRepository("basic", closed(), "registry-basic"),
        "basic-secret.yaml": `apiVersion: v1\nkind: Secret\nmetadata:\n  name: registry-basic\n  namespace: apps\nstringData:\n  username: ${credentials.username}\n  password: ${credentials.password}\n`,
        "docker.yaml": ociRepository("docker", closed(), "    tag: 1.0.0", "registry-docker"),
        "docker-secret.yaml": `apiVersion: v1\nkind: Secret\nmetadata:\n  name: registry-docker\n  namespace: apps\ntype: kubernetes.io/dockerconfigjson\nstringData:\n  .dockerconfigjson: '${dockerConfig}'\n`,
        "ci.yaml": ociHelmRepository("ci", closed()),
        "by-secret.yaml": release("by-secret", fromHelmRepository("basic", "1.0.0")),
        "by-docker-config.yaml": release("by-docker-config", fromOciRepository("docker")),
        "by-ci-variables.yaml": release("by-ci-variables", fromHelmRepository("ci", "1.1.0")),
      }),
    );
    const prefix = registryVariablePrefix(closed());
    const { context, stdout, stderr } = captureContext(
      root,
      { [`${prefix}_USERNAME`]: credentials.username, [`${prefix}_PASSWORD`]: credentials.password },
      { fetchCharts: true },
    );
    const out = path.join(root, "out");
    const result = await render(context, { dir: root, outDir: out });
    expect(result.findings.filter((finding) => finding.check.startsWith("helm/"))).toEqual([]);
    for (const name of ["by-secret", "by-docker-config", "by-ci-variables"])
      expect(chartObjectsOf(result, "staging", name).length).toBeGreaterThan(0);
    const artifacts = await Promise.all(
      (await readdir(path.join(out, "rendered/staging"))).map((file) => readFile(path.join(out, "rendered/staging", file), "utf8")),
    );
    expect(stdout() + stderr() + artifacts.join("\n")).not.toContain(credentials.password);

    // Without them, the registry refuses: a finding naming the release and its source, no credential in it.
    const { context: anonymous, stdout: out2, stderr: err2 } = captureContext(root, {}, { fetchCharts: true });
    const refused = await render(anonymous, { dir: root });
    const fetchErrors = refused.findings.filter((finding) => finding.environment === "staging" && finding.check === "helm/chart-fetch");
    expect(fetchErrors).toEqual([
      expect.objectContaining({
        severity: "error",
        resource: expect.objectContaining({ name: "by-ci-variables" }),
        message: expect.stringContaining(`HelmRepository apps/ci (oci://${closed()}/charts)`),
      }),
    ]);
    expect(out2() + err2() + JSON.stringify(refused.findings)).not.toContain(credentials.password);
  });
});

describe("an unreachable OCI registry", () => {
  it("is a finding naming the HelmRelease and its source, and the other releases still render", async () => {
    const root = await makeRepo(
      fleet({
        "repository.yaml": ociHelmRepository("oci-charts", open()),
        "gone.yaml": ociHelmRepository("gone", "127.0.0.1:9"),
        "gone-oci.yaml": ociRepository("gone-oci", "127.0.0.1:9", "    tag: 1.0.0"),
        "ok.yaml": release("ok", fromHelmRepository("oci-charts", "1.0.0")),
        "far.yaml": release("far", fromHelmRepository("gone", "1.x")),
        "farther.yaml": release("farther", fromOciRepository("gone-oci")),
      }),
    );
    const { context } = captureContext(root, {}, { fetchCharts: true });
    const result = await render(context, { dir: root });
    const staging = result.findings.filter((finding) => finding.environment === "staging" && finding.check.startsWith("helm/"));
    expect(staging).toHaveLength(2);
    expect(staging).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          check: "helm/chart-fetch",
          severity: "error",
          resource: expect.objectContaining({ name: "far" }),
          file: "apps/base/far.yaml",
          message: expect.stringContaining("HelmRepository apps/gone (oci://127.0.0.1:9/charts)"),
        }),
        expect.objectContaining({
          check: "helm/chart-fetch",
          severity: "error",
          resource: expect.objectContaining({ name: "farther" }),
          file: "apps/base/farther.yaml",
          message: expect.stringContaining("OCIRepository apps/gone-oci (oci://127.0.0.1:9/charts/webapp)"),
        }),
      ]),
    );
    expect(
      chartObjectsOf(result, "staging", "ok")
        .map((manifest) => manifest.ref.kind)
        .sort(),
    ).toEqual(["Deployment", "Service"]);
    expect(result.exitCode).toBe(1);
  });
});

describe("the OCI chart cache", () => {
  it("renders offline from what a previous run fetched (a semver range resolved as then), and reports a chart it lacks", async () => {
    const root = await makeRepo(
      fleet({
        "repository.yaml": ociHelmRepository("oci-charts", open()),
        "source.yaml": ociRepository("webapp", open(), '    semver: ">=1.0.0"'),
        "ranged.yaml": release("ranged", fromHelmRepository("oci-charts", "1.x")),
        "ref.yaml": release("ref", fromOciRepository("webapp")),
      }),
    );
    const cacheDir = await makeTempDir();
    const helmFindings = (result: RenderResult) =>
      result.findings
        .filter((finding) => finding.check.startsWith("helm/"))
        .map((finding) => `${finding.environment} ${finding.resource?.name} ${finding.check}`)
        .sort();

    const miss = await render(quietContext(root, { offline: true, cacheDir: await makeTempDir() }), { dir: root });
    expect(helmFindings(miss)).toEqual([
      "prod ranged helm/chart-not-cached",
      "prod ref helm/chart-not-cached",
      "staging ranged helm/chart-not-cached",
      "staging ref helm/chart-not-cached",
    ]);

    const online = await render(quietContext(root, { offline: false, cacheDir }), { dir: root });
    expect(helmFindings(online)).toEqual([]);
    expect((await readdir(path.join(cacheDir, "charts"))).length).toBeGreaterThan(0);
    const offline = await render(quietContext(root, { offline: true, cacheDir }), { dir: root });
    expect(helmFindings(offline)).toEqual([]);
    const objects = (result: RenderResult) =>
      result.rendered.flatMap((r) => r.manifests.filter((manifest) => manifest.chart).map((manifest) => manifest.object));
    expect(objects(offline)).toEqual(objects(online));
    expect(objects(offline).length).toBeGreaterThan(0);
  });
});

describe("the Kubernetes version", () => {
  it("render gives charts the configured kubernetesVersion as .Capabilities.KubeVersion, --kubernetes-version over it", async () => {
    const tree = fleet({
      "repository.yaml": ociHelmRepository("oci-charts", open()),
      "release.yaml": release("webapp", fromHelmRepository("oci-charts", "1.0.0")),
    });
    const root = await makeRepo({ ...tree, "gitops-ci.yaml": `${tree["gitops-ci.yaml"]}kubernetesVersion: 1.31.4\n` });
    const kubeVersionOf = (result: RenderResult) => {
      const deployment = chartObjectsOf(result, "staging", "webapp").find((manifest) => manifest.ref.kind === "Deployment")!.object as {
        spec: { template: { spec: { containers: { env: { name: string; value: string }[] }[] } } };
      };
      return deployment.spec.template.spec.containers[0]!.env.find((variable) => variable.name === "KUBE_VERSION")!.value;
    };
    expect(kubeVersionOf(await render(captureContext(root, {}, { fetchCharts: true }).context, { dir: root }))).toBe("v1.31.4");
    expect(
      kubeVersionOf(await render(captureContext(root, {}, { fetchCharts: true }).context, { dir: root, kubernetesVersion: "1.33.2" })),
    ).toBe("v1.33.2");
  });
});
