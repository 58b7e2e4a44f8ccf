// Two OCI registries on loopback, as charts are served from ghcr.io or Harbor: distribution's own
// `registry` (toolchain/registry, test-only), plain HTTP, one open and one behind htpasswd basic
// auth. Charts go in with `helm package` and the pinned `helm push`, as a chart's release job does.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { packageCharts, type ChartToServe } from "./helm-repository.ts";

const run = promisify(execFile);

export interface OciRegistries {
  /** host:port of the open registry. */
  open: string;
  /** host:port of the registry behind basic auth. */
  private: string;
  credentials: { username: string; password: string };
  /** Runs the pinned helm with its registry settings kept in the harness's folder. */
  helm: (args: readonly string[]) => Promise<string>;
  close: () => Promise<void>;
}

/** Who may pull from the private registry; the password is a canary no output may hold. */
const CREDENTIALS = { username: "ci-puller", password: "canary-7c2d-oci-registry-password" };
/** bcrypt of CREDENTIALS.password (cost 4: a test fixture), as `htpasswd -B` writes it. */
const HTPASSWD = "ci-puller:$2b$04$RVdbpC48Q0baRqj8XgVW/.etvU9lPpArKmYewUVuTrx4oUrvQNr8q\n";

/**
 * Starts both registries and pushes every chart version to each, under `charts/` (so a chart is
 * oci://host/charts/<name>:<version>).
 */
export async function startOciRegistries(
  registryBinary: string,
  helmBinary: string,
  charts: readonly ChartToServe[],
): Promise<OciRegistries> {
  const work = await mkdtemp(path.join(tmpdir(), "gitops-ci-oci-registry-"));
  const helmEnv = {
    PATH: process.env["PATH"] ?? "",
    HOME: work,
    HELM_CACHE_HOME: path.join(work, "helm-cache"),
    HELM_CONFIG_HOME: path.join(work, "helm-config"),
    HELM_DATA_HOME: path.join(work, "helm-data"),
    HELM_REGISTRY_CONFIG: path.join(work, "helm-registry.json"),
  };
  const helm = async (args: readonly string[]) => (await run(helmBinary, [...args], { env: helmEnv, maxBuffer: 64 << 20 })).stdout;
  const processes: ChildProcess[] = [];
  const close = async () => {
    await Promise.all(processes.map((child) => stop(child)));
    await rm(work, { recursive: true, force: true });
  };
  try {
    await writeFile(path.join(work, "htpasswd"), HTPASSWD);
    const open = await startRegistry(registryBinary, path.join(work, "open"), undefined, processes);
    const closed = await startRegistry(registryBinary, path.join(work, "private"), path.join(work, "htpasswd"), processes);
    const packaged = path.join(work, "packaged");
    await mkdir(packaged);
    for (const archive of await packageCharts(helm, charts, work, packaged)) {
      await helm(["push", archive, `oci://${open}/charts`, "--plain-http"]);
      await helm([
        "push",
        archive,
        `oci://${closed}/charts`,
        "--plain-http",
        "--username",
        CREDENTIALS.username,
        "--password",
        CREDENTIALS.password,
      ]);
    }
    return { open, private: closed, credentials: CREDENTIALS, helm, close };
  } catch (error) {
    await close();
    throw error;
  }
}

async function startRegistry(binary: string, dir: string, htpasswd: string | undefined, processes: ChildProcess[]): Promise<string> {
  await mkdir(path.join(dir, "storage"), { recursive: true });
  const port = await freePort();
  const config = [
    "version: 0.1",
    "log:",
    "  level: error",
    "  accesslog: {disabled: true}",
    "storage:",
    `  filesystem: {rootdirectory: ${JSON.stringify(path.join(dir, "storage"))}}`,
    "http:",
    `  addr: 127.0.0.1:${port}`,
    ...(htpasswd ? ["auth:", "  htpasswd:", "    realm: charts", `    path: ${JSON.stringify(htpasswd)}`] : []),
    "",
  ].join("\n");
  const file = path.join(dir, "config.yml");
  await writeFile(file, config);
  const child = spawn(binary, ["serve", file], { stdio: ["ignore", "ignore", "pipe"], env: { PATH: process.env["PATH"] ?? "" } });
  processes.push(child);
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const host = `127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the OCI registry exited (${child.exitCode}): ${stderr}`);
    const ready = await fetch(`http://${host}/v2/`).then(
      (response) => response.status === 200 || response.status === 401,
      () => false,
    );
    if (ready) return host;
    if (Date.now() > deadline) throw new Error(`the OCI registry did not answer on ${host} within 30s: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
  });
}
