// The task image itself, as `npm run test:image` (docker/test-image.sh) has just built it from
// docker/Dockerfile: run inside it as its non-root user with buildah, compared with this
// checkout's own run of the same commands (same pins, same examples), and its file system read
// through `buildah mount`.
import { createHash } from "node:crypto";
import { chmod, lstat, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT, TOOLS } from "../../core/toolchain.ts";

const IMAGE = process.env["GITOPS_CI_TEST_IMAGE"];
const USER = "gitops-ci";
const TOOLS_DIR_IN_IMAGE = "/opt/gitops-ci-tools";
const EXAMPLES = ["layout-a", "layout-b"];
/**
 * Size target of the unpacked image (what `docker images` shows). 584.7 MB when set: about 275 MB
 * the Node base (Debian slim ~75, Node 24 with its headers and npm ~200), 191 MB the pinned Go
 * tools, 112 MB git (with perl), 16 MB the schemas, 10 MB the app (docker/README.md, Size). Past
 * this, something was added that a CI image pulled by every job should not carry.
 */
const SIZE_TARGET_MB = 600;

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

let container = "";
let rootfs = "";
let scratch = "";

async function buildah(args: readonly string[]): Promise<string> {
  const result = await execa("buildah", [...args], { reject: false });
  if (result.exitCode !== 0) throw new Error(`buildah ${args.join(" ")} exited with ${result.exitCode}: ${result.stderr}`);
  return result.stdout.trim();
}

/** A command inside the image: its non-root user unless `user` says otherwise; `volumes` are HOST:DEST[:ro]. */
async function inImage(
  command: readonly string[],
  options: { volumes?: string[]; env?: string[]; input?: string; user?: string | null } = {},
): Promise<Run> {
  const args = ["run"];
  if (options.user !== null) args.push("--user", options.user ?? USER);
  for (const volume of options.volumes ?? []) args.push("--volume", volume);
  for (const env of options.env ?? []) args.push("--env", env);
  const result = await execa("buildah", [...args, container, "--", ...command], {
    reject: false,
    ...(options.input !== undefined ? { input: options.input } : {}),
    stripFinalNewline: false,
  });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** The same command in this checkout: the CLI with node_modules' Node, the tools from .tools/bin. */
async function onHost(command: readonly string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<Run> {
  const [name, ...args] = command;
  const executable = name === "gitops-ci" ? process.execPath : path.join(PROJECT_ROOT, ".tools", "bin", name!);
  const argv = name === "gitops-ci" ? [path.join(PROJECT_ROOT, "bin", "gitops-ci.js"), ...args] : args;
  const result = await execa(executable, argv, {
    reject: false,
    ...(options.input !== undefined ? { input: options.input } : {}),
    env: { ...options.env, SOPS_DISABLE_VERSION_CHECK: "1" },
    stripFinalNewline: false,
  });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** The examples, read-only, at the same absolute path as in this checkout (so outputs that name paths compare as they are). */
function exampleVolume(example: string): string {
  const dir = path.join(PROJECT_ROOT, "examples", example);
  return `${dir}:${dir}:ro`;
}

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

interface Entry {
  path: string;
  size: number;
}

/** Every file of the image's root file system (hard links once), by path relative to it. */
async function walk(root: string): Promise<Entry[]> {
  const entries: Entry[] = [];
  const seen = new Set<string>();
  const pending = [""];
  while (pending.length > 0) {
    const relative = pending.pop()!;
    for (const dirent of await readdir(path.join(root, relative), { withFileTypes: true })) {
      const child = path.join(relative, dirent.name);
      if (dirent.isDirectory()) {
        pending.push(child);
        continue;
      }
      const stat = await lstat(path.join(root, child));
      const inode = `${stat.dev}:${stat.ino}`;
      if (stat.nlink > 1 && seen.has(inode)) continue;
      seen.add(inode);
      entries.push({ path: `/${child}`, size: stat.size });
    }
  }
  return entries;
}

describe.runIf(IMAGE)(`the task image ${IMAGE ?? ""}`, () => {
  let files: Entry[] = [];

  beforeAll(async () => {
    container = await buildah(["from", "--pull-never", IMAGE!]);
    rootfs = await buildah(["mount", container]);
    files = await walk(rootfs);
    scratch = await mkdtemp(path.join(tmpdir(), "gitops-ci-image-test-"));
    // mkdtemp makes it 0700 for root: the image's user must be able to read what is mounted from it.
    await chmod(scratch, 0o755);
  });

  afterAll(async () => {
    if (container) {
      await buildah(["umount", container]);
      await buildah(["rm", container]);
    }
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it(`is at most ${SIZE_TARGET_MB} MB unpacked; the biggest parts are reported`, () => {
    const total = files.reduce((sum, file) => sum + file.size, 0);
    // What dominates: every tool binary on its own, then folders two or three levels down.
    const parts = new Map<string, number>();
    for (const file of files) {
      const segments = file.path.split("/").filter(Boolean);
      const depth = file.path.startsWith("/usr/local/bin/")
        ? 4
        : file.path.startsWith("/opt/") || file.path.startsWith("/usr/local/")
          ? 3
          : 2;
      const key = `/${segments.slice(0, Math.min(depth, segments.length)).join("/")}`;
      parts.set(key, (parts.get(key) ?? 0) + file.size);
    }
    const mb = (bytes: number): string => (bytes / 1e6).toFixed(1).padStart(7);
    const biggest = [...parts].sort((a, b) => b[1] - a[1]).slice(0, 16);
    console.log(
      `image ${IMAGE}: ${mb(total).trim()} MB unpacked, ${files.length} files (target ${SIZE_TARGET_MB} MB)\n${biggest.map(([key, size]) => `${mb(size)} MB  ${key}`).join("\n")}`,
    );
    expect(total / 1e6).toBeLessThanOrEqual(SIZE_TARGET_MB);
  });

  it("runs as the non-root user gitops-ci by default, with a writable home", async () => {
    const config = JSON.parse(await buildah(["inspect", "--type", "image", IMAGE!])) as { OCIv1: { config: { User?: string } } };
    expect(config.OCIv1.config.User).toBe(USER);
    // No --user: the image's own configuration decides.
    const id = await inImage(["sh", "-c", 'id -un; id -u; touch "$HOME/.write-test" && echo writable'], { user: null });
    expect(id.exitCode, id.stderr).toBe(0);
    const [name, uid, writable] = id.stdout.trim().split("\n");
    expect(name).toBe(USER);
    expect(Number(uid)).toBeGreaterThan(0);
    expect(writable).toBe("writable");
  });

  it("gitops-ci doctor: every tool found in the image, at its pin", async () => {
    const doctor = await inImage(["gitops-ci", "doctor", "--json"]);
    expect(doctor.exitCode, doctor.stderr).toBe(0);
    const report = JSON.parse(doctor.stdout) as {
      toolsDir: string;
      tools: { name: string; pinned?: string; version?: string; path?: string; problem?: string }[];
    };
    expect(report.toolsDir).toBe(TOOLS_DIR_IN_IMAGE);
    expect(report.tools.map((tool) => tool.name)).toEqual(TOOLS.map((tool) => tool.name));
    for (const tool of report.tools) {
      expect(tool.problem, tool.name).toBeUndefined();
      expect(tool.path, tool.name).toBe(`/usr/local/bin/${tool.name}`);
      // As doctor compares them: sops prints its version without the module's leading v.
      if (tool.pinned !== undefined) expect(tool.version?.replace(/^v/, ""), tool.name).toBe(tool.pinned.replace(/^v/, ""));
    }
    // The pins as install.sh reads them in this checkout: the image's versions.txt is made of exactly those.
    const list = await execa("bash", [path.join(PROJECT_ROOT, "toolchain", "install.sh"), "--list", "core"]);
    const pins = new Map(
      list.stdout
        .split("\n")
        .map((line) => line.split(" "))
        .map(([name, , version]) => [name!, version!]),
    );
    pins.set("age-keygen", pins.get("age")!);
    const shipped = (await readFile(path.join(rootfs, TOOLS_DIR_IN_IMAGE, "bin", "versions.txt"), "utf8"))
      .trim()
      .split("\n")
      .map((line) => line.split(" "));
    expect(new Map(shipped.map(([name, version]) => [name!, version!]))).toEqual(pins);
  });

  it.each(EXAMPLES)("gitops-ci check examples/%s, mounted read-only: the same exit code and findings as this checkout", async (example) => {
    const dir = path.join(PROJECT_ROOT, "examples", example);
    const [image, host] = await Promise.all([
      inImage(["gitops-ci", "check", dir, "--json"], { volumes: [exampleVolume(example)] }),
      onHost(["gitops-ci", "check", dir, "--json"]),
    ]);
    expect([0, 1], host.stderr).toContain(host.exitCode);
    expect(image.exitCode, image.stderr).toBe(host.exitCode);
    const findings = (run: Run): unknown => {
      const report = JSON.parse(run.stdout) as { findings: unknown[]; summary: unknown[]; layerOrder: unknown[] };
      return { findings: report.findings, summary: report.summary, layerOrder: report.layerOrder };
    };
    expect(findings(image)).toEqual(findings(host));
  });

  describe("each external tool, reached in the image as in this checkout", () => {
    const overlay = path.join(PROJECT_ROOT, "examples", "layout-a", "gitops", "flux", "apps", "overlays", "staging");

    it("kustomize build: the same output", async () => {
      const [image, host] = await Promise.all([
        inImage(["kustomize", "build", overlay], { volumes: [exampleVolume("layout-a")] }),
        onHost(["kustomize", "build", overlay]),
      ]);
      expect(host.exitCode, host.stderr).toBe(0);
      expect(image.exitCode, image.stderr).toBe(0);
      expect(image.stdout).toBe(host.stdout);
    });

    it("kubeconform with the image's offline schemas: the same summary", async () => {
      const manifests = (
        await onHost(["kustomize", "build", path.join(PROJECT_ROOT, "examples", "layout-b", "clusters", "base", "applications", "podinfo")])
      ).stdout;
      expect(manifests).toContain("kind: Deployment");
      const kubeconform = (toolsDir: string): string[] => [
        "kubeconform",
        "-strict",
        "-summary",
        "-output",
        "json",
        "-kubernetes-version",
        "1.35.0",
        "-schema-location",
        `${toolsDir}/schemas/kubernetes/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
        "-",
      ];
      const hostToolsDir = path.join(PROJECT_ROOT, ".tools");
      const schemasDirs = await readdir(path.join(hostToolsDir, "schemas", "kubernetes"));
      const version = schemasDirs
        .find((name) => name.endsWith("-standalone-strict"))!
        .replace(/^v/, "")
        .replace(/-standalone-strict$/, "");
      const withVersion = (args: string[]): string[] => args.map((arg) => (arg === "1.35.0" ? version : arg));
      const [image, host] = await Promise.all([
        inImage(withVersion(kubeconform(TOOLS_DIR_IN_IMAGE)), { input: manifests }),
        onHost(withVersion(kubeconform(hostToolsDir)), { input: manifests }),
      ]);
      expect(host.exitCode, host.stdout).toBe(0);
      expect(image.exitCode, image.stdout).toBe(0);
      const summary = (run: Run): unknown => (JSON.parse(run.stdout) as { summary: unknown }).summary;
      expect(summary(image)).toEqual(summary(host));
      expect(summary(image)).toMatchObject({ valid: expect.any(Number), invalid: 0, errors: 0, skipped: 0 });
    });

    it("sops --decrypt with the example's age key: the same plaintext (compared by hash, never printed)", async () => {
      const example = path.join(PROJECT_ROOT, "examples", "layout-a");
      const secret = path.join(example, "gitops", "flux", "apps", "overlays", "staging", "secrets", "gitlab-smtp.yaml");
      const key = path.join(example, "example-age-key.txt");
      const [image, host] = await Promise.all([
        inImage(["sops", "--decrypt", secret], { volumes: [exampleVolume("layout-a")], env: [`SOPS_AGE_KEY_FILE=${key}`] }),
        onHost(["sops", "--decrypt", secret], { env: { SOPS_AGE_KEY_FILE: key } }),
      ]);
      expect(host.exitCode).toBe(0);
      expect(image.exitCode).toBe(0);
      expect(sha256(image.stdout)).toBe(sha256(host.stdout));
      expect(image.stdout).not.toContain("ENC[");
    });

    it("helm template of a chart helm create made here: the same output", async () => {
      const chart = path.join(scratch, "demo");
      const created = await onHost(["helm", "create", chart]);
      expect(created.exitCode, created.stderr).toBe(0);
      const [image, host] = await Promise.all([
        inImage(["helm", "template", "demo", chart], { volumes: [`${scratch}:${scratch}:ro`] }),
        onHost(["helm", "template", "demo", chart]),
      ]);
      expect(host.exitCode, host.stderr).toBe(0);
      expect(image.exitCode, image.stderr).toBe(0);
      expect(image.stdout).toContain("kind: Deployment");
      expect(image.stdout).toBe(host.stdout);
    });

    it("gitops-ci-engine renders a Flux Kustomization: the same response", async () => {
      const root = path.join(PROJECT_ROOT, "examples", "layout-a");
      const kustomization = {
        apiVersion: "kustomize.toolkit.fluxcd.io/v1",
        kind: "Kustomization",
        metadata: { name: "apps", namespace: "flux-system" },
        spec: {
          interval: "10m",
          path: "./gitops/flux/apps/overlays/staging",
          prune: true,
          sourceRef: { kind: "GitRepository", name: "flux-system" },
        },
      };
      const input = JSON.stringify({
        root,
        workers: 1,
        builds: [{ id: "apps", kustomization, resolveSubstituteFrom: false, placeholders: true, origins: true }],
      });
      const [image, host] = await Promise.all([
        inImage(["gitops-ci-engine"], { volumes: [exampleVolume("layout-a")], input }),
        onHost(["gitops-ci-engine"], { input }),
      ]);
      expect(host.exitCode, host.stderr).toBe(0);
      expect(image.exitCode, image.stderr).toBe(0);
      const response = JSON.parse(image.stdout) as { results: { id: string; error?: unknown }[] };
      expect(response.results.map((result) => result.id)).toEqual(["apps"]);
      // Everything but the time each build took.
      const timeless = (stdout: string): unknown => JSON.parse(stdout, (key, value: unknown) => (key === "durationMs" ? undefined : value));
      expect(timeless(image.stdout)).toEqual(timeless(host.stdout));
    });
  });

  it("holds no dev dependency, no Go toolchain, no test binary, no tests", async () => {
    const lock = JSON.parse(await readFile(path.join(PROJECT_ROOT, "package-lock.json"), "utf8")) as {
      packages: Record<string, { dev?: boolean; optional?: boolean }>;
    };
    const app = "/opt/gitops-ci";
    const present = new Set(files.map((file) => file.path));
    const installed = (key: string): boolean => present.has(`${app}/${key}/package.json`);
    const packages = Object.entries(lock.packages).filter(([key]) => key.startsWith("node_modules/"));
    const dev = packages.filter(([, entry]) => entry.dev).map(([key]) => key);
    const runtime = packages.filter(([, entry]) => !entry.dev && !entry.optional).map(([key]) => key);
    expect(dev.length).toBeGreaterThan(0);
    expect(dev.filter(installed), "dev dependencies in the image").toEqual([]);
    expect(
      runtime.filter((key) => !installed(key)),
      "runtime dependencies missing from the image",
    ).toEqual([]);

    const names = (file: Entry): string => path.posix.basename(file.path);
    // The Go toolchain: the go command, the compiler, the standard library's sources.
    expect(
      files
        .filter(
          (file) => names(file) === "go" || /\/pkg\/tool\/[^/]+\/compile$/.test(file.path) || file.path.endsWith("/src/runtime/runtime.go"),
        )
        .map((file) => file.path),
    ).toEqual([]);
    expect(
      files.filter((file) => file.path.startsWith("/go/") || file.path.startsWith("/usr/local/go/")).length,
      "GOPATH or GOROOT files",
    ).toBe(0);
    // Test-only binaries: the oracle and the local test cluster.
    expect(files.filter((file) => ["flux", "kube-apiserver", "kubectl", "etcd"].includes(names(file))).map((file) => file.path)).toEqual(
      [],
    );
    // The app holds what it runs, not its tests, benches, examples or build caches.
    const appFiles = files
      .filter((file) => file.path.startsWith(`${app}/`) && !file.path.startsWith(`${app}/node_modules/`))
      .map((file) => file.path.slice(app.length + 1));
    expect(
      appFiles.filter(
        (file) => /^(test|bench|examples|scripts|docs|\.tools|\.git|\.image|coverage)\//.test(file) || /\.test\.ts$/.test(file),
      ),
    ).toEqual([]);
    expect(appFiles).toContain("bin/gitops-ci.js");
  });
});

describe.skipIf(IMAGE)("the task image", () => {
  it("is tested by npm run test:image, which builds it first", () => {
    throw new Error(
      "GITOPS_CI_TEST_IMAGE is not set: run `npm run test:image` (docker/test-image.sh builds the image, then runs this project)",
    );
  });
});
