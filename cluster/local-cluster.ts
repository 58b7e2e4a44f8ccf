// A real Kubernetes API server on loopback for tests, the demo and the benchmark: the pinned etcd
// and kube-apiserver from .tools/bin, generated keys and static tokens, RBAC authorization, a
// kubeconfig. No Docker, no controllers (nothing reconciles: objects stay as they are applied).
import { randomBytes, generateKeyPairSync } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import https from "node:https";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { UserError } from "../core/errors.ts";
import { createProcessRunner } from "../core/process-runner.ts";
import { createToolchain, PROJECT_ROOT } from "../core/toolchain.ts";
import { isGroupAlive, startDaemon, stopProcessGroup } from "./daemon.ts";

/** The identities the local cluster knows, each with a static token and a kubeconfig context. */
export const LOCAL_USERS = {
  /** system:masters: sets the cluster up. */
  admin: { user: "gitops-ci-admin", groups: ["system:masters"], context: "gitops-ci-local" },
  /** Authenticated, bound to nothing: every object request is forbidden. */
  nobody: { user: "gitops-ci-nobody", groups: [], context: "gitops-ci-local-nobody" },
  /** The diff identity: bound to docs/rbac/diff-identity.yaml by whoever applies that file. */
  diff: { user: "gitops-ci-diff", groups: [], context: "gitops-ci-local-diff" },
} as const;

export type LocalUser = keyof typeof LOCAL_USERS;

export interface LocalClusterState {
  stateDir: string;
  server: string;
  kubeconfig: string;
  tokens: Record<LocalUser, string>;
  etcd: { pid: number; clientPort: number; peerPort: number };
  apiserver: { pid: number; port: number };
  /** Stops the cluster when `owner` dies (tests, demo, benchmark). */
  watchdog?: { pid: number; owner: number };
  startupMs: number;
}

export interface StartOptions {
  stateDir: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Process whose death stops the cluster; none for `npm run cluster -- up`. */
  owner?: number;
  log?: (text: string) => void;
  readyTimeoutMs?: number;
}

const STATE_FILE = "state.json";
const WATCHDOG = fileURLToPath(new URL("./watchdog.ts", import.meta.url));

export async function readClusterState(stateDir: string): Promise<LocalClusterState | undefined> {
  try {
    return JSON.parse(await readFile(path.join(stateDir, STATE_FILE), "utf8")) as LocalClusterState;
  } catch {
    return undefined;
  }
}

export function isClusterRunning(state: LocalClusterState): boolean {
  return isGroupAlive(state.apiserver.pid) && isGroupAlive(state.etcd.pid);
}

/** Builds the pinned binaries if needed (Go module proxy), starts etcd and kube-apiserver, waits for /readyz. */
export async function startLocalCluster(options: StartOptions): Promise<LocalClusterState> {
  const log = options.log ?? (() => undefined);
  const started = performance.now();
  const stateDir = path.resolve(options.stateDir);
  const previous = await readClusterState(stateDir);
  if (previous) {
    if (isClusterRunning(previous)) return previous;
    await stopLocalCluster(stateDir); // leftovers of a run that died: clean them up first
  }
  const bin = await installClusterBinaries(options.env, log);

  await rm(stateDir, { recursive: true, force: true });
  await mkdir(path.join(stateDir, "certs"), { recursive: true });
  const serviceAccountKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" });
  await writeFile(path.join(stateDir, "service-account.key"), serviceAccountKey, { mode: 0o600 });
  const tokens = { admin: token(), nobody: token(), diff: token() };
  const tokenFile = (Object.keys(LOCAL_USERS) as LocalUser[])
    .map((name, index) => `${tokens[name]},${LOCAL_USERS[name].user},${index + 1},"${LOCAL_USERS[name].groups.join(",")}"`)
    .join("\n");
  await writeFile(path.join(stateDir, "tokens.csv"), `${tokenFile}\n`, { mode: 0o600 });

  const [clientPort, peerPort, apiPort] = (await freePorts(3)) as [number, number, number];
  const daemonEnv = { PATH: options.env["PATH"] ?? "/usr/bin:/bin", HOME: stateDir };
  log(`starting etcd on 127.0.0.1:${clientPort}`);
  const etcdPid = startDaemon({
    executable: bin("etcd"),
    args: [
      "--name=local",
      `--data-dir=${path.join(stateDir, "etcd")}`,
      `--listen-client-urls=http://127.0.0.1:${clientPort}`,
      `--advertise-client-urls=http://127.0.0.1:${clientPort}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=local=http://127.0.0.1:${peerPort}`,
      "--unsafe-no-fsync", // a throwaway cluster: durability is not worth the disk waits
      "--log-level=warn",
    ],
    logFile: path.join(stateDir, "etcd.log"),
    env: daemonEnv,
  });
  const state: LocalClusterState = {
    stateDir,
    server: `https://127.0.0.1:${apiPort}`,
    kubeconfig: path.join(stateDir, "kubeconfig"),
    tokens,
    etcd: { pid: etcdPid, clientPort, peerPort },
    apiserver: { pid: 0, port: apiPort },
    startupMs: 0,
  };
  await writeState(state);
  try {
    await waitFor(`etcd (log: ${path.join(stateDir, "etcd.log")})`, etcdPid, options.readyTimeoutMs ?? 60_000, async () => {
      const body = await fetchText(`http://127.0.0.1:${clientPort}/health`);
      return body.includes('"health":"true"');
    });
    log(`starting kube-apiserver on 127.0.0.1:${apiPort}`);
    state.apiserver.pid = startDaemon({
      executable: bin("kube-apiserver"),
      args: [
        `--etcd-servers=http://127.0.0.1:${clientPort}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--secure-port=${apiPort}`,
        `--cert-dir=${path.join(stateDir, "certs")}`, // generates its own self-signed serving certificate
        `--token-auth-file=${path.join(stateDir, "tokens.csv")}`,
        "--authorization-mode=RBAC",
        "--anonymous-auth=false",
        `--service-account-issuer=https://127.0.0.1:${apiPort}`,
        `--service-account-key-file=${path.join(stateDir, "service-account.key")}`,
        `--service-account-signing-key-file=${path.join(stateDir, "service-account.key")}`,
        "--service-cluster-ip-range=10.0.0.0/24",
        "--profiling=false",
      ],
      logFile: path.join(stateDir, "kube-apiserver.log"),
      env: daemonEnv,
    });
    await writeState(state);
    if (options.owner !== undefined)
      state.watchdog = { pid: startWatchdog(options.owner, [state.apiserver.pid, etcdPid], stateDir, options.env), owner: options.owner };
    await writeState(state);
    await waitFor(
      `kube-apiserver (log: ${path.join(stateDir, "kube-apiserver.log")})`,
      state.apiserver.pid,
      options.readyTimeoutMs ?? 90_000,
      async () => {
        const body = await fetchText(`${state.server}/readyz`, tokens.admin);
        return body.trim() === "ok";
      },
    );
    const ca = await readFile(path.join(stateDir, "certs", "apiserver.crt"), "utf8");
    await writeFile(state.kubeconfig, kubeconfigFor(state, ca), { mode: 0o600 });
    state.startupMs = Math.round(performance.now() - started);
    await writeState(state);
    log(`local cluster ready in ${(state.startupMs / 1000).toFixed(1)}s: ${state.server}, KUBECONFIG=${state.kubeconfig}`);
    return state;
  } catch (error) {
    await stopLocalCluster(stateDir).catch(() => undefined);
    throw error;
  }
}

/** Stops kube-apiserver, then etcd (it needs etcd to shut down), and checks that nothing is left. */
export async function stopLocalCluster(stateDir: string, options: { removeState?: boolean } = {}): Promise<{ wasRunning: boolean }> {
  const state = await readClusterState(stateDir);
  if (!state) return { wasRunning: false };
  const wasRunning = isClusterRunning(state);
  const groups = [state.apiserver.pid, state.etcd.pid, state.watchdog?.pid ?? 0].filter((pid) => pid > 0);
  for (const pgid of groups) await stopProcessGroup(pgid);
  const left = groups.filter(isGroupAlive);
  if (left.length > 0) throw new Error(`local cluster processes still running after stop: process groups ${left.join(", ")}`);
  if (options.removeState) await rm(stateDir, { recursive: true, force: true });
  else await rm(path.join(stateDir, STATE_FILE), { force: true });
  return { wasRunning };
}

/** The kubeconfig of the local cluster: one context per identity, the admin's current. */
export function kubeconfigFor(state: Pick<LocalClusterState, "server" | "tokens">, caPem: string): string {
  const users = Object.keys(LOCAL_USERS) as LocalUser[];
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    "current-context": LOCAL_USERS.admin.context,
    clusters: [
      { name: "gitops-ci-local", cluster: { server: state.server, "certificate-authority-data": Buffer.from(caPem).toString("base64") } },
    ],
    users: users.map((name) => ({ name: LOCAL_USERS[name].user, user: { token: state.tokens[name] } })),
    contexts: users.map((name) => ({
      name: LOCAL_USERS[name].context,
      context: { cluster: "gitops-ci-local", user: LOCAL_USERS[name].user },
    })),
  });
}

/** `bash toolchain/install.sh kube-apiserver etcd`: a no-op when the pinned binaries are there. */
async function installClusterBinaries(
  env: Readonly<Record<string, string | undefined>>,
  log: (text: string) => void,
): Promise<(name: string) => string> {
  const toolchain = createToolchain({ ...env });
  const binDir = path.join(toolchain.toolsDir, "bin");
  const runner = createProcessRunner({ env: buildEnv(env), resolveTool: (tool) => toolchain.resolve(tool) });
  const result = await runner.run("bash", [path.join(PROJECT_ROOT, "toolchain", "install.sh"), "kube-apiserver", "etcd"], {
    cwd: PROJECT_ROOT,
    timeoutMs: 60 * 60_000,
  });
  const missing = ["kube-apiserver", "etcd"].filter((name) => !existsSync(path.join(binDir, name)));
  if (result.exitCode !== 0 || missing.length > 0) {
    throw new UserError(`could not install the pinned kube-apiserver and etcd into ${binDir}`, {
      hint: `run \`bash toolchain/install.sh --cluster\` (needs Go >= 1.26): ${result.stderr.trim().split("\n").slice(-3).join(" / ")}`,
    });
  }
  if (result.stdout.includes("built")) log(result.stdout.trim().split("\n").at(-1) ?? "");
  return (name) => path.join(binDir, name);
}

/** Go needs its own variables (proxy, caches) on top of the usual ones. */
export function buildEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const keep = [
    "PATH",
    "HOME",
    "TMPDIR",
    "LANG",
    "GOPATH",
    "GOMODCACHE",
    "GOCACHE",
    "GOPROXY",
    "GOSUMDB",
    "GONOSUMDB",
    "GOPRIVATE",
    "GONOPROXY",
    "GOFLAGS",
    "GOTOOLCHAIN",
    "GITOPS_CI_TOOLS_DIR",
    "XDG_CACHE_HOME",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
  ];
  return Object.fromEntries(keep.filter((key) => env[key] !== undefined).map((key) => [key, env[key]]));
}

function startWatchdog(owner: number, groups: number[], stateDir: string, env: Readonly<Record<string, string | undefined>>): number {
  return startDaemon({
    executable: process.execPath,
    args: [WATCHDOG, String(owner), ...groups.map(String)],
    logFile: path.join(stateDir, "watchdog.log"),
    env: { PATH: env["PATH"] ?? "/usr/bin:/bin" },
  });
}

async function writeState(state: LocalClusterState): Promise<void> {
  await writeFile(path.join(state.stateDir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

function token(): string {
  return randomBytes(24).toString("hex");
}

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once("error", reject);
          server.listen(0, "127.0.0.1", () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

async function waitFor(what: string, pid: number, timeoutMs: number, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isGroupAlive(pid)) throw new Error(`${what} exited during startup`);
    if (await ready().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} was not ready after ${timeoutMs / 1000}s`);
}

/** One GET for readiness polls; the serving certificate is not known yet, so it is not verified. */
function fetchText(url: string, bearer?: string): Promise<string> {
  const secure = url.startsWith("https:");
  return new Promise((resolve, reject) => {
    const request = (secure ? https : http).get(
      url,
      { headers: bearer ? { Authorization: `Bearer ${bearer}` } : {}, timeout: 2_000, ...(secure ? { rejectUnauthorized: false } : {}) },
      (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (body += chunk));
        response.on("end", () => (response.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${response.statusCode}`))));
      },
    );
    request.on("timeout", () => request.destroy(new Error("timeout")));
    request.on("error", reject);
  });
}
