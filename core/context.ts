// What every task receives instead of reaching for globals: env, cwd, output, the process runner.
import type { KubernetesClientFactory } from "./kubernetes/client.ts";
import { createOutput, type Output, type WritableLike } from "./output.ts";
import { createProcessRunner, type ProcessRunner } from "./process-runner.ts";
import { Redactor } from "./redaction.ts";
import { createToolchain, type Toolchain } from "./toolchain.ts";

export interface TaskContext {
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  output: Output;
  redactor: Redactor;
  toolchain: Toolchain;
  runner: ProcessRunner;
  /** Upper bound on concurrent subprocesses. */
  concurrency: number;
  /** Opens a Kubernetes API client (diff, drift); tests pass fakes. Default: createKubernetesClient. */
  kubernetes?: KubernetesClientFactory;
}

export interface ContextOptions {
  cwd: string;
  env: Record<string, string | undefined>;
  stdout: WritableLike;
  stderr: WritableLike;
  concurrency: number;
  redactor?: Redactor;
}

export function createTaskContext(options: ContextOptions): TaskContext {
  const redactor = options.redactor ?? new Redactor();
  const toolchain = createToolchain(options.env);
  return {
    cwd: options.cwd,
    env: options.env,
    redactor,
    output: createOutput(options.stdout, options.stderr, redactor),
    toolchain,
    runner: createProcessRunner({ env: subprocessEnv(options.env), resolveTool: (tool) => toolchain.resolve(tool) }),
    concurrency: Math.max(1, options.concurrency),
  };
}

/**
 * Subprocesses get a small, explicit environment: what tools need to run and find their keys.
 * Anything else (CI tokens above all) stays out of their reach.
 */
export function subprocessEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const keep = ["PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TZ", "SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE", "SOPS_AGE_KEY_CMD", "KUBECONFIG", "XDG_CONFIG_HOME"];
  const picked: Record<string, string | undefined> = {};
  for (const key of keep) if (env[key] !== undefined) picked[key] = env[key];
  return picked;
}
