// What every task receives instead of reaching for globals: env, cwd, output, the process runner.
import path from "node:path";
import type { ChartOptions } from "./flux/helm-engine.ts";
import { createRenderCache, type RenderCache } from "./flux/render-cache.ts";
import type { GitLabClientFactory } from "./gitlab/client.ts";
import type { KubernetesClientFactory } from "./kubernetes/client.ts";
import { createOutput, type Output, type WritableLike } from "./output.ts";
import { createProgress, PLAIN_TERMINAL, type Progress, type TerminalOptions } from "./progress.ts";
import { createProcessRunner, type ProcessRunner } from "./process-runner.ts";
import { Redactor } from "./redaction.ts";
import { createToolchain, type Toolchain } from "./toolchain.ts";

export interface TaskContext {
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  output: Output;
  /** The live line on a terminal, job-log sections in GitLab CI; silent otherwise. */
  progress: Progress;
  /** How stdout and stderr behave (colour, live line, sections). */
  terminal: TerminalOptions;
  redactor: Redactor;
  toolchain: Toolchain;
  runner: ProcessRunner;
  /** Upper bound on concurrent subprocesses. */
  concurrency: number;
  /** Opens a Kubernetes API client (diff, drift); tests pass fakes. Default: createKubernetesClient. */
  kubernetes?: KubernetesClientFactory;
  /**
   * Opens the GitLab API client (report, promote, drift, pipeline --collect-children) from the
   * options the task built; tests wrap createGitLabClient (a fake clock, a fault). Default: createGitLabClient.
   */
  gitlab?: GitLabClientFactory;
  /** Keeps engine builds between runs (--cache-dir, GITOPS_CI_CACHE_DIR); none: every build runs. */
  renderCache?: RenderCache;
  /** How long one Kustomization's build may take (GITOPS_CI_BUILD_TIMEOUT); default DEFAULT_BUILD_TIMEOUT_MS. */
  buildTimeoutMs?: number;
  /** How HelmReleases' charts are had: fetched into the cache dir, or (offline) only read from it. */
  charts: ChartOptions;
}

export interface ContextOptions {
  cwd: string;
  env: Record<string, string | undefined>;
  stdout: WritableLike;
  stderr: WritableLike;
  concurrency: number;
  redactor?: Redactor;
  /** The render cache's directory (absolute, or relative to cwd). */
  cacheDir?: string;
  buildTimeoutMs?: number;
  /** Default: plain streams (no colour, no live line, no sections). */
  terminal?: TerminalOptions;
  /** Charts only from the cache (--offline). */
  offline?: boolean;
}

export function createTaskContext(options: ContextOptions): TaskContext {
  const redactor = options.redactor ?? new Redactor();
  const toolchain = createToolchain(options.env);
  const terminal = options.terminal ?? PLAIN_TERMINAL;
  const progress = createProgress({ ...terminal, stderr: options.stderr });
  return {
    cwd: options.cwd,
    env: options.env,
    redactor,
    output: createOutput(options.stdout, options.stderr, redactor, () => progress.clear()),
    progress,
    terminal,
    toolchain,
    runner: createProcessRunner({ env: subprocessEnv(options.env), resolveTool: (tool) => toolchain.resolve(tool) }),
    concurrency: Math.max(1, options.concurrency),
    ...(options.cacheDir ? { renderCache: createRenderCache(path.resolve(options.cwd, options.cacheDir)) } : {}),
    ...(options.buildTimeoutMs ? { buildTimeoutMs: options.buildTimeoutMs } : {}),
    charts: { offline: options.offline ?? false, ...(options.cacheDir ? { cacheDir: path.resolve(options.cwd, options.cacheDir) } : {}) },
  };
}

/** Variables subprocesses may see by name. */
const SUBPROCESS_VARIABLES = new Set([
  "PATH",
  "HOME",
  "TMPDIR",
  "LANG",
  "LC_ALL",
  "TZ",
  "KUBECONFIG",
  "XDG_CONFIG_HOME",
  // Networks behind a proxy or a private CA (kustomize remote bases, helm), private Git over SSH.
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "no_proxy",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "SSH_AUTH_SOCK",
  "GIT_SSH_COMMAND",
  // sops' PGP keyring.
  "GNUPGHOME",
]);

/** Prefixes of the variables sops (age, cloud KMS, Vault) and kubeconfig exec plugins (aws, gcloud, kubelogin) need. */
const SUBPROCESS_PREFIXES = ["SOPS_", "AWS_", "GOOGLE_", "CLOUDSDK_", "AZURE_", "AAD_", "VAULT_"];

/**
 * Subprocesses get a small, explicit environment: what tools need to run and find their keys.
 * Anything else (GitLab and CI tokens above all) stays out of their reach.
 */
export function subprocessEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const picked: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (SUBPROCESS_VARIABLES.has(key) || SUBPROCESS_PREFIXES.some((prefix) => key.startsWith(prefix))) picked[key] = value;
  }
  return picked;
}
