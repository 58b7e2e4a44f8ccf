// Reads stay inside the repository, as with kustomize-controller's secure filesystem: every way
// out is an error finding that names the file, and the content outside is never rendered.
import { mkdir, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { render } from "../../../tasks/render/index.ts";
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
    ["a configMapGenerator file by absolute path", (outside) => ({ "apps/kustomization.yaml": `configMapGenerator:\n  - name: leak\n    namespace: default\n    files: [leak=${outside}]\n` })],
    ["a configMapGenerator envs file by ../ chain", (outside) => ({ "apps/kustomization.yaml": `configMapGenerator:\n  - name: leak\n    namespace: default\n    envs: [${"../".repeat(30)}${outside.slice(1)}]\n` })],
    ["a resource by absolute path", (outside) => ({ "apps/kustomization.yaml": `resources: [${outside}]\n` })],
    ["a patch by absolute path", (outside) => ({ "apps/kustomization.yaml": `resources: [cm.yaml]\npatches:\n  - path: ${outside}\n`, "apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: default\n" })],
    ["a component by ../ chain", (outside) => ({ "apps/kustomization.yaml": `components: [${"../".repeat(30)}${path.dirname(outside).slice(1)}]\n` })],
  ];

  it.each(doors)("%s is an error naming the file, and nothing is read", async (_name, files) => {
    const outside = await outsideFile();
    const root = await makeRepo({ "clusters/prod/flux-system/gotk-sync.yaml": sync("./clusters/prod"), "clusters/prod/apps.yaml": app("apps", "./apps"), ...files(outside) });
    const { context, stdout, stderr } = captureContext(root);
    const result = await render(context, { dir: root, outDir: path.join(root, "out") });
    expect(result.exitCode).toBe(1);
    const apps = result.rendered.find((r) => r.overlay.layer === "apps")!;
    expect(apps.ok).toBe(false);
    expect(apps.findings).toEqual([expect.objectContaining({ severity: "error", file: expect.stringMatching(/^(apps\/kustomization\.yaml|clusters\/prod\/apps\.yaml)$/) })]);
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
    expect(result.findings).toEqual(expect.arrayContaining([expect.objectContaining({ severity: "error", check: "fleet/missing-path", file: "clusters/prod/apps.yaml" })]));
    expect(JSON.stringify(result.rendered.map((r) => r.manifests)) + stdout() + stderr()).not.toContain(CANARY);
  });
});
