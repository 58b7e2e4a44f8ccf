// source-watcher's copy rules, one case per rule of docs/spec/v1beta1/artifactgenerators.md (and
// of internal/builder where the spec is silent), on throwaway source trees.
import { mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  copiedDirOf,
  copiedFileOf,
  matchDoublestar,
  materializeArtifact,
  readArtifactGenerator,
  type CopyOperation,
  type MaterializeResult,
} from "../../../core/flux/artifact-generator.ts";
import { makeRepo, makeTempDir, type Tree } from "../../helpers/temp-repo.ts";

const op = (from: string, to: string, extra: Partial<CopyOperation> = {}): CopyOperation => ({
  from,
  to,
  exclude: [],
  strategy: "Overwrite",
  ...extra,
});

/** Makes the artifact from one source tree (alias `source`) and lists its files with their contents. */
async function make(
  tree: Tree,
  copy: CopyOperation[],
  prepare?: (root: string) => Promise<void>,
): Promise<{ result: MaterializeResult; files: Record<string, string>; root: string }> {
  const root = await makeRepo(tree);
  await prepare?.(root);
  const dir = path.join(await makeTempDir(), "artifact");
  const result = await materializeArtifact(copy, new Map([["source", root]]), dir);
  return { result, files: result.ok ? await contents(dir) : {}, root };
}

async function contents(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, file).split(path.sep).join("/")] = await readFile(file, "utf8");
  }
  return out;
}

const configs: Tree = {
  "config.yaml": "a: 1\n",
  "configs/one.yaml": "one: 1\n",
  "configs/two.yaml": "two: 2\n",
  "configs/notes.md": "notes\n",
  "configs/sub/three.yaml": "three: 3\n",
};

describe("copy operations: cp-like semantics", () => {
  it("a file into a directory: a trailing slash in `to` (like `cp source/config.yaml artifact/apps/`)", async () => {
    const { files } = await make(configs, [op("@source/config.yaml", "@artifact/apps/")]);
    expect(files).toEqual({ "apps/config.yaml": "a: 1\n" });
  });

  it("a file to a path: no trailing slash names the file (like `cp source/config.yaml artifact/apps/app.yaml`)", async () => {
    const { files } = await make(configs, [op("@source/config.yaml", "@artifact/apps/app.yaml")]);
    expect(files).toEqual({ "apps/app.yaml": "a: 1\n" });
  });

  it("a file to a path that is already a directory goes into it", async () => {
    const { files } = await make(configs, [op("@source/configs/", "@artifact/"), op("@source/config.yaml", "@artifact/configs")]);
    expect(Object.keys(files).sort()).toEqual([
      "configs/config.yaml",
      "configs/notes.md",
      "configs/one.yaml",
      "configs/sub/three.yaml",
      "configs/two.yaml",
    ]);
  });

  it("a directory, with or without a trailing slash, is copied as a subdirectory (like `cp -r source/configs/ artifact/apps/`)", async () => {
    for (const from of ["@source/configs/", "@source/configs"]) {
      const { files } = await make(configs, [op(from, "@artifact/apps/")]);
      expect(Object.keys(files).sort(), from).toEqual([
        "apps/configs/notes.md",
        "apps/configs/one.yaml",
        "apps/configs/sub/three.yaml",
        "apps/configs/two.yaml",
      ]);
    }
  });

  it("`@source/` copies the whole source into the destination", async () => {
    const { files } = await make(configs, [op("@source/", "@artifact/")]);
    expect(Object.keys(files)).toHaveLength(5);
    expect(files["configs/sub/three.yaml"]).toBe("three: 3\n");
  });

  it("`dir/**` strips the directory prefix and copies the contents recursively (like `cp -r source/configs/** artifact/apps/`)", async () => {
    const { files } = await make(configs, [op("@source/configs/**", "@artifact/apps/")]);
    expect(Object.keys(files).sort()).toEqual(["apps/notes.md", "apps/one.yaml", "apps/sub/three.yaml", "apps/two.yaml"]);
  });

  it("`*.yaml` matches files of one folder; the builder keeps each match's path below the destination", async () => {
    const { files } = await make(configs, [op("@source/configs/*.yaml", "@artifact/apps/")]);
    // builder calculateGlobDestination: any glob but `dir/**` keeps the full match path.
    expect(Object.keys(files).sort()).toEqual(["apps/configs/one.yaml", "apps/configs/two.yaml"]);
  });

  it("`**` in `from` is Go's fs.Glob: one segment, like `*` (a matched folder is copied whole)", async () => {
    const { files } = await make({ ...configs, "deep/a/b/c.yaml": "c: 1\n", "deep/a/top.yaml": "top: 1\n" }, [
      op("@source/deep/**/*.yaml", "@artifact/"),
    ]);
    expect(Object.keys(files)).toEqual(["deep/a/top.yaml"]);
  });

  it("operations run in order: later ones overwrite files, folders are merged", async () => {
    const { files } = await make(
      {
        "one/config/app.yaml": "one: app\n",
        "one/config/db.yaml": "one: db\n",
        "two/config/app.yaml": "two: app\n",
        "two/config/net.yaml": "two: net\n",
      },
      [op("@source/one/**", "@artifact/"), op("@source/two/**", "@artifact/")],
    );
    expect(files).toEqual({ "config/app.yaml": "two: app\n", "config/db.yaml": "one: db\n", "config/net.yaml": "two: net\n" });
  });

  it("records where each file and folder came from", async () => {
    const tree: Tree = { "apps/base/podinfo/release.yaml": "r: 1\n", "apps/production/kustomization.yaml": "k: 1\n" };
    const { result } = await make(tree, [
      op("@source/apps/base/**", "@artifact/base/"),
      op("@source/apps/production/**", "@artifact/production/"),
    ]);
    if (!result.ok) throw new Error(result.message);
    const { artifact } = result;
    expect(copiedFileOf(artifact, "base/podinfo/release.yaml")).toEqual({ alias: "source", path: "apps/base/podinfo/release.yaml" });
    expect(copiedFileOf(artifact, "./production/kustomization.yaml")?.path).toBe("apps/production/kustomization.yaml");
    expect(copiedDirOf(artifact, "production")?.path).toBe("apps/production");
    expect(copiedDirOf(artifact, "base/podinfo")?.path).toBe("apps/base/podinfo");
    // The root holds both: the deepest folder that holds everything copied below it.
    expect(copiedDirOf(artifact, ".")?.path).toBe("apps");
    expect(copiedDirOf(artifact, "missing")).toBeUndefined();
  });
});

describe("exclude", () => {
  it("a pattern without a slash matches the file name at any depth (`*.md`)", async () => {
    const { files } = await make(configs, [op("@source/configs/**", "@artifact/", { exclude: ["*.md"] })]);
    expect(Object.keys(files).sort()).toEqual(["one.yaml", "sub/three.yaml", "two.yaml"]);
  });

  it("`**/testdata/**` leaves a whole folder out", async () => {
    const { files } = await make(
      { "app.yaml": "a\n", "testdata/t.yaml": "t\n", "configs/testdata/x.yaml": "x\n", "configs/prod.yaml": "p\n" },
      [op("@source/**", "@artifact/", { exclude: ["**/testdata/**"] })],
    );
    expect(Object.keys(files).sort()).toEqual(["app.yaml", "configs/prod.yaml"]);
  });

  it("matches paths below the `from` prefix and paths from the source root (fluxcd/source-watcher#306, #334)", async () => {
    const tree: Tree = { "infrastructure/controllers/descheduler/d.yaml": "d\n", "infrastructure/controllers/keep.yaml": "k\n" };
    for (const pattern of ["controllers/descheduler/**", "infrastructure/controllers/descheduler/**", "**/descheduler/**"]) {
      const { files } = await make(tree, [op("@source/infrastructure/**", "@artifact/", { exclude: [pattern] })]);
      expect(Object.keys(files), pattern).toEqual(["controllers/keep.yaml"]);
    }
  });

  it("an excluded single file is not copied; a glob whose every match is excluded fails", async () => {
    expect((await make(configs, [op("@source/config.yaml", "@artifact/c.yaml", { exclude: ["config.yaml"] })])).files).toEqual({});
    const { result } = await make(configs, [op("@source/configs/*.md", "@artifact/", { exclude: ["*.md"] })]);
    expect(result).toMatchObject({ ok: false, reason: "invalid", message: expect.stringContaining("were excluded") });
  });

  it("doublestar matching: `**` spans zero or more segments, `{a,b}` alternatives, `[!…]` classes", () => {
    expect(matchDoublestar("**/testdata/**", "testdata")).toBe(true);
    expect(matchDoublestar("**/testdata/**", "a/b/testdata/c/d.yaml")).toBe(true);
    expect(matchDoublestar("*.{md,txt}", "notes.txt")).toBe(true);
    expect(matchDoublestar("*.{md,txt}", "notes.yaml")).toBe(false);
    expect(matchDoublestar("[!a]*.yaml", "b.yaml")).toBe(true);
    expect(matchDoublestar("*.yaml", "dir/b.yaml")).toBe(false);
  });
});

describe("strategies", () => {
  it("Merge deep-merges YAML into the file an earlier operation copied; arrays are replaced (as Helm merges values)", async () => {
    const tree: Tree = {
      "chart/values.yaml": "image:\n  repository: podinfo\n  tag: '1'\nhosts: [a, b]\nreplicas: 1\n",
      "prod/values.yaml": "image:\n  tag: '2'\nhosts: [c]\n---\nextra: true\n",
    };
    const { files } = await make(tree, [
      op("@source/chart/", "@artifact/"),
      op("@source/prod/values.yaml", "@artifact/chart/values.yaml", { strategy: "Merge" }),
    ]);
    const { parse } = await import("yaml");
    expect(parse(files["chart/values.yaml"]!)).toEqual({
      image: { repository: "podinfo", tag: "2" },
      hosts: ["c"],
      replicas: 1,
      extra: true,
    });
  });

  it("Merge without an earlier file copies", async () => {
    const { files } = await make(configs, [op("@source/config.yaml", "@artifact/values.yaml", { strategy: "Merge" })]);
    expect(files).toEqual({ "values.yaml": "a: 1\n" });
  });

  it("Extract (tarballs) is not supported: the artifact is not made, and that is not the generator's fault", async () => {
    const { result } = await make({ "chart.tgz": "x" }, [op("@source/chart.tgz", "@artifact/", { strategy: "Extract" })]);
    expect(result).toMatchObject({ ok: false, reason: "unsupported" });
  });
});

describe("what source-watcher refuses", () => {
  it.each([
    ["a missing source", op("@source/missing.yaml", "@artifact/"), "does not exist"],
    ["a glob that matches nothing", op("@source/*.json", "@artifact/"), "no files match pattern"],
    ["a malformed glob", op("@source/[", "@artifact/"), "invalid glob pattern"],
    ["a malformed exclude", op("@source/*.yaml", "@artifact/", { exclude: ["[*.md"] }), "invalid exclude pattern"],
    ["an unknown alias", op("@other/config.yaml", "@artifact/"), "source alias 'other' not found"],
    ["a destination outside @artifact/", op("@source/config.yaml", "artifact/"), "must start with '@artifact/'"],
    ["a source above the root", op("@source/../config.yaml", "@artifact/"), "outside the source"],
    ["a glob above the root", op("@source/../*", "@artifact/"), "outside the source"],
    ["an absolute source", op("@source//etc/passwd", "@artifact/"), "outside the source"],
    ["a destination above the artifact", op("@source/config.yaml", "@artifact/../x.yaml"), "outside the artifact"],
  ])("%s", async (_, operation, message) => {
    const { result } = await make(configs, [operation]);
    expect(result).toMatchObject({ ok: false, reason: "invalid", message: expect.stringContaining(message) });
  });
});

describe("the source as source-controller's artifact holds it", () => {
  it("symlinks are left out and recorded, those pointing outside the source marked; their targets are never read", async () => {
    const outside = await makeTempDir();
    await writeFile(path.join(outside, "secret.yaml"), "secret: 1\n");
    const { result, files } = await make(
      { "apps/cm.yaml": "cm: 1\n", "apps/real/x.yaml": "x: 1\n" },
      [op("@source/apps/**", "@artifact/")],
      async (root) => {
        await symlink(path.join(outside, "secret.yaml"), path.join(root, "apps/secret.yaml"));
        await symlink("../cm.yaml", path.join(root, "apps/real/inside.yaml"));
        await symlink("real", path.join(root, "apps/linked-dir"));
      },
    );
    expect(files).toEqual({ "cm.yaml": "cm: 1\n", "real/x.yaml": "x: 1\n" });
    if (!result.ok) throw new Error(result.message);
    expect(result.artifact.skipped.map(({ path, outside }) => ({ path, outside })).sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { path: "apps/linked-dir", outside: false },
      { path: "apps/real/inside.yaml", outside: false },
      { path: "apps/secret.yaml", outside: true },
    ]);
  });

  it("a path through a symlink does not exist", async () => {
    const { result } = await make(configs, [op("@source/linked/one.yaml", "@artifact/")], (root) =>
      symlink("configs", path.join(root, "linked")),
    );
    expect(result).toMatchObject({
      ok: false,
      message: expect.stringContaining("does not exist"),
      skipped: [expect.objectContaining({ path: "linked", outside: false })],
    });
  });

  it("VCS and CI files are not in a GitRepository artifact (fluxcd/pkg sourceignore defaults)", async () => {
    const { files } = await make(
      { "app.yaml": "a\n", ".github/workflows/ci.yaml": "x\n", "sub/.sops.yaml": "x\n", ".gitignore": "x\n" },
      [op("@source/**", "@artifact/")],
      async (root) => {
        await mkdir(path.join(root, ".git"));
        await writeFile(path.join(root, ".git/HEAD"), "ref\n");
      },
    );
    expect(Object.keys(files)).toEqual(["app.yaml"]);
  });
});

describe("readArtifactGenerator", () => {
  it("reads sources, artifacts and copy operations, with the spec's defaults", () => {
    const generator = readArtifactGenerator(
      {
        apiVersion: "source.extensions.fluxcd.io/v1beta1",
        kind: "ArtifactGenerator",
        metadata: { name: "gen" },
        spec: {
          sources: [
            { alias: "repo", kind: "GitRepository", name: "flux-system" },
            { alias: "chart", kind: "OCIRepository", name: "podinfo", namespace: "apps" },
          ],
          artifacts: [
            {
              name: "apps",
              copy: [
                { from: "@repo/apps/**", to: "@artifact/", exclude: ["*.md"] },
                { from: "@chart/values.yaml", to: "@artifact/values.yaml", strategy: "Merge" },
              ],
            },
          ],
        },
      },
      "flux-system",
    );
    expect(generator).toEqual({
      name: "gen",
      namespace: "flux-system",
      sources: [
        { alias: "repo", kind: "GitRepository", name: "flux-system", namespace: "flux-system" },
        { alias: "chart", kind: "OCIRepository", name: "podinfo", namespace: "apps" },
      ],
      artifacts: [
        {
          name: "apps",
          copy: [
            { from: "@repo/apps/**", to: "@artifact/", exclude: ["*.md"], strategy: "Overwrite" },
            { from: "@chart/values.yaml", to: "@artifact/values.yaml", exclude: [], strategy: "Merge" },
          ],
        },
      ],
    });
  });
});
