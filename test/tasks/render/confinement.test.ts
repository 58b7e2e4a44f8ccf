// Reads stay inside the repository, as with kustomize-controller's secure filesystem: every way
// out is an error finding that names the file, and the content outside is never rendered.
import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../../cli/main.ts";
import { render } from "../../../tasks/render/index.ts";
import { filesUnder, findLeak } from "../../canary/leak-scan.ts";
import { captureContext } from "../../helpers/context.ts";
import { makeRepo, makeTempDir } from "../../helpers/temp-repo.ts";

const CANARY = "canary-outside-the-repository-4d1c";

const sync = (path: string) =>
  `apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ${path}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n`;

const app = (name: string, kustomizationPath: string) =>
  `apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: ${name}\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ${kustomizationPath}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n`;

async function outsideFile(): Promise<string> {
  const dir = await makeTempDir();
  const file = path.join(dir, "secret.txt");
  await writeFile(file, `${CANARY}\n`);
  return file;
}

describe("render never reads outside the repository", () => {
  const doors: [string, (outside: string) => Record<string, string>][] = [
    [
      "a configMapGenerator file by absolute path",
      (outside) => ({
        "apps/kustomization.yaml": `configMapGenerator:\n  - name: leak\n    namespace: default\n    files: [leak=${outside}]\n`,
      }),
    ],
    [
      "a configMapGenerator envs file by ../ chain",
      (outside) => ({
        "apps/kustomization.yaml": `configMapGenerator:\n  - name: leak\n    namespace: default\n    envs: [${"../".repeat(30)}${outside.slice(1)}]\n`,
      }),
    ],
    ["a resource by absolute path", (outside) => ({ "apps/kustomization.yaml": `resources: [${outside}]\n` })],
    [
      "a patch by absolute path",
      (outside) => ({
        "apps/kustomization.yaml": `resources: [cm.yaml]\npatches:\n  - path: ${outside}\n`,
        "apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: default\n",
      }),
    ],
    [
      "a component by ../ chain",
      (outside) => ({ "apps/kustomization.yaml": `components: [${"../".repeat(30)}${path.dirname(outside).slice(1)}]\n` }),
    ],
    [
      "a secretGenerator file by ../ chain",
      (outside) => ({
        "apps/kustomization.yaml": `secretGenerator:\n  - name: leak\n    namespace: default\n    files: [leak=${"../".repeat(30)}${outside.slice(1)}]\n`,
      }),
    ],
    [
      "a secretGenerator envs file by absolute path",
      (outside) => ({ "apps/kustomization.yaml": `secretGenerator:\n  - name: leak\n    namespace: default\n    envs: [${outside}]\n` }),
    ],
    ["a resource by ../ chain", (outside) => ({ "apps/kustomization.yaml": `resources: [${"../".repeat(30)}${outside.slice(1)}]\n` })],
    ["a resource folder by absolute path", (outside) => ({ "apps/kustomization.yaml": `resources: [${path.dirname(outside)}]\n` })],
    [
      "a patch by ../ chain",
      (outside) => ({
        "apps/kustomization.yaml": `resources: [cm.yaml]\npatches:\n  - path: ${"../".repeat(30)}${outside.slice(1)}\n`,
        "apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: default\n",
      }),
    ],
    [
      "a patchesStrategicMerge entry by absolute path",
      (outside) => ({
        "apps/kustomization.yaml": `resources: [cm.yaml]\npatchesStrategicMerge: [${outside}]\n`,
        "apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: default\n",
      }),
    ],
    ["a component by absolute path", (outside) => ({ "apps/kustomization.yaml": `components: [${path.dirname(outside)}]\n` })],
  ];

  it.each(doors)("%s is an error naming the file, and nothing is read", async (_name, files) => {
    const outside = await outsideFile();
    const root = await makeRepo({
      "clusters/prod/flux-system/gotk-sync.yaml": sync("./clusters/prod"),
      "clusters/prod/apps.yaml": app("apps", "./apps"),
      ...files(outside),
    });
    const { context, stdout, stderr } = captureContext(root);
    const result = await render(context, { dir: root, outDir: path.join(root, "out") });
    expect(result.exitCode).toBe(1);
    const apps = result.rendered.find((r) => r.overlay.layer === "apps")!;
    expect(apps.ok).toBe(false);
    expect(apps.findings).toEqual([
      expect.objectContaining({
        severity: "error",
        file: expect.stringMatching(/^(apps\/kustomization\.yaml|clusters\/prod\/apps\.yaml)$/),
      }),
    ]);
    expect(JSON.stringify(result.rendered.map((r) => r.manifests)) + stdout() + stderr()).not.toContain(CANARY);
  });

  it("a symlink out of the repository is refused", async () => {
    const outside = await outsideFile();
    const root = await makeRepo({
      "clusters/prod/flux-system/gotk-sync.yaml": sync("./clusters/prod"),
      "clusters/prod/apps.yaml": app("apps", "./apps"),
      "apps/kustomization.yaml": "configMapGenerator:\n  - name: leak\n    namespace: default\n    files: [leak=link.txt]\n",
    });
    await symlink(outside, path.join(root, "apps/link.txt"));
    const { context, stdout, stderr } = captureContext(root);
    const result = await render(context, { dir: root });
    const apps = result.rendered.find((r) => r.overlay.layer === "apps")!;
    expect(apps.ok).toBe(false);
    expect(apps.findings).toEqual([expect.objectContaining({ severity: "error", check: "render/outside-repository" })]);
    expect(JSON.stringify(result.rendered.map((r) => r.manifests)) + stdout() + stderr()).not.toContain(CANARY);
  });

  it("a Flux spec.path with ../ stays inside the repository, as kustomize-controller joins it", async () => {
    const outside = await outsideFile();
    const root = await makeRepo({
      "clusters/prod/flux-system/gotk-sync.yaml": sync("./clusters/prod"),
      "clusters/prod/apps.yaml": app("apps", `${"../".repeat(30)}${path.dirname(outside).slice(1)}`),
    });
    await mkdir(path.join(root, "apps"), { recursive: true });
    const { context, stdout, stderr } = captureContext(root);
    const result = await render(context, { dir: root });
    expect(result.exitCode).toBe(1);
    expect(result.findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ severity: "error", check: "fleet/missing-path", file: "clusters/prod/apps.yaml" }),
      ]),
    );
    expect(JSON.stringify(result.rendered.map((r) => r.manifests)) + stdout() + stderr()).not.toContain(CANARY);
  });

  it("a symlinked folder out of the repository is refused", async () => {
    const outside = await outsideFile();
    const root = await makeRepo({
      "clusters/prod/flux-system/gotk-sync.yaml": sync("./clusters/prod"),
      "clusters/prod/apps.yaml": app("apps", "./apps"),
      "apps/kustomization.yaml": "configMapGenerator:\n  - name: leak\n    namespace: default\n    files: [leak=linked/secret.txt]\n",
    });
    await symlink(path.dirname(outside), path.join(root, "apps/linked"));
    const { context, stdout, stderr } = captureContext(root);
    const result = await render(context, { dir: root });
    const apps = result.rendered.find((r) => r.overlay.layer === "apps")!;
    expect(apps.ok).toBe(false);
    expect(apps.findings).toEqual([expect.objectContaining({ severity: "error", check: "render/outside-repository" })]);
    expect(JSON.stringify(result.rendered.map((r) => r.manifests)) + stdout() + stderr()).not.toContain(CANARY);
  });

  it("a Flux spec.path that is absolute stays inside the repository", async () => {
    const outside = await outsideFile();
    const root = await makeRepo({
      "clusters/prod/flux-system/gotk-sync.yaml": sync("./clusters/prod"),
      "clusters/prod/apps.yaml": app("apps", path.dirname(outside)),
    });
    const { context, stdout, stderr } = captureContext(root);
    const result = await render(context, { dir: root });
    expect(result.exitCode).toBe(1);
    expect(result.findings).toEqual(
      expect.arrayContaining([expect.objectContaining({ severity: "error", file: "clusters/prod/apps.yaml" })]),
    );
    expect(JSON.stringify(result.rendered.map((r) => r.manifests)) + stdout() + stderr()).not.toContain(CANARY);
  });

  it("a symlink loop is a finding naming the file, not a silent skip", async () => {
    const root = await makeRepo({
      "clusters/prod/flux-system/gotk-sync.yaml": sync("./clusters/prod"),
      "clusters/prod/apps.yaml": app("apps", "./apps"),
      "apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: default\n",
    });
    await symlink("loop-b.yaml", path.join(root, "apps/loop-a.yaml"));
    await symlink("loop-a.yaml", path.join(root, "apps/loop-b.yaml"));
    const { context } = captureContext(root);
    const result = await render(context, { dir: root });
    expect(result.exitCode).toBe(1);
    expect(result.findings).toEqual(
      expect.arrayContaining([expect.objectContaining({ severity: "error", check: "render/symlink-loop", file: "apps/loop-a.yaml" })]),
    );
  });

  const chart = {
    "charts/app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\n",
    "charts/app/values.yaml": "greeting: hello\n",
    "charts/app/templates/cm.yaml":
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  greeting: {{ .Values.greeting | quote }}\n",
  };
  const release = (valuesFiles: string[]) =>
    `apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app\n  namespace: default\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: ./charts/app\n      sourceRef:\n        kind: GitRepository\n        name: flux-system\n        namespace: flux-system\n      valuesFiles: [${valuesFiles.join(", ")}]\n`;
  const valuesDoors: [string, (outside: string) => string[], boolean][] = [
    ["by absolute path", (outside) => [outside], false],
    ["by ../ chain", (outside) => [`${"../".repeat(30)}${outside.slice(1)}`], false],
    ["through a symlink in the chart", () => ["charts/app/values-prod.yaml"], true],
  ];

  it.each(valuesDoors)(
    "a HelmRelease chart's valuesFiles %s outside the repository is an error, and nothing is read",
    async (_name, files, linked) => {
      const outside = await outsideFile();
      const root = await makeRepo({
        "clusters/prod/flux-system/gotk-sync.yaml": sync("./clusters/prod"),
        "clusters/prod/apps.yaml": app("apps", "./apps"),
        "apps/kustomization.yaml": "resources: [release.yaml]\n",
        "apps/release.yaml": release(files(outside)),
        ...chart,
      });
      if (linked) await symlink(outside, path.join(root, "charts/app/values-prod.yaml"));
      const { context, stdout, stderr } = captureContext(root);
      const result = await render(context, { dir: root, outDir: path.join(root, "out") });
      expect(result.exitCode).toBe(1);
      const apps = result.rendered.find((r) => r.overlay.layer === "apps")!;
      expect(apps.findings).toContainEqual(
        expect.objectContaining({ severity: "error", check: expect.stringMatching(/^helm\//), file: "apps/release.yaml" }),
      );
      const artifacts = (await Promise.all((await filesUnder(path.join(root, "out"))).map((file) => readFile(file, "utf8")))).join("\n");
      expect(JSON.stringify(result.rendered.map((r) => r.manifests)) + stdout() + stderr() + artifacts).not.toContain(CANARY);
    },
  );

  it("check --out with /proc/self/environ, /etc/passwd and the kubeconfig as generator files reads none of them", async () => {
    const secrets = {
      SOPS_AGE_KEY: "AGE-SECRET-KEY-1CANARYENVIRON0000000000000000000000000000000000000000000",
      CI_JOB_TOKEN: "glcbt-canary-job-token-5e1d",
      GITLAB_TOKEN: "glpat-canary-gitlab-token-8c3a",
    };
    const out = await makeTempDir();
    const kubeconfig = path.join(out, "kubeconfig");
    await writeFile(
      kubeconfig,
      "apiVersion: v1\nkind: Config\nusers:\n  - name: admin\n    user:\n      token: canary-kubeconfig-token-2b7f\n",
    );
    const root = await makeRepo({
      "clusters/prod/flux-system/gotk-sync.yaml": sync("./clusters/prod"),
      "clusters/prod/apps.yaml": app("apps", "./apps"),
      "clusters/prod/other.yaml": app("other", "./other"),
      "apps/kustomization.yaml": `configMapGenerator:\n  - name: leak\n    namespace: default\n    files: [leak=/proc/self/environ, passwd=/etc/passwd, kubeconfig=${kubeconfig}]\n`,
      "other/kustomization.yaml": "resources: [cm.yaml]\n",
      "other/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fine\n  namespace: default\ndata:\n  mode: strict\n",
    });
    let text = "";
    const write = { write: (chunk: string) => (text += chunk) };
    const env = { PATH: process.env["PATH"], HOME: process.env["HOME"], KUBECONFIG: kubeconfig, ...secrets };
    const exitCode = await runCli(["check", root, "--out", path.join(out, "check")], {
      cwd: root,
      env,
      stdout: write,
      stderr: write,
      cpus: 2,
    });
    expect(exitCode).toBe(1);
    for (const file of await filesUnder(path.join(out, "check"))) text += await readFile(file, "utf8");
    expect(text).toContain("render/outside-repository");
    expect(text).toContain("apps/kustomization.yaml");
    const passwd = (await readFile("/etc/passwd", "utf8")).split("\n")[0]!;
    for (const value of [...Object.values(secrets), "canary-kubeconfig-token-2b7f", passwd])
      expect(findLeak(text, value), value).toBeUndefined();
  });
});
