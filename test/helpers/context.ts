// A real task context whose output is captured, for tests that run tasks end to end.
import { availableParallelism } from "node:os";
import { createTaskContext, type TaskContext } from "../../core/context.ts";
import { Redactor } from "../../core/redaction.ts";

export interface CapturedContext {
  context: TaskContext;
  stdout: () => string;
  stderr: () => string;
}

/**
 * Charts are not fetched unless a test asks (`fetchCharts`): the fixtures' HelmReleases point at
 * public chart repositories, which tests never reach (their releases get helm/chart-not-cached).
 * The *.charts.test.ts files fetch from the Helm repository on loopback.
 */
export function captureContext(
  cwd: string,
  env: Record<string, string | undefined> = {},
  options: { fetchCharts?: boolean } = {},
): CapturedContext {
  let stdout = "";
  let stderr = "";
  const context = createTaskContext({
    cwd,
    env: { PATH: process.env["PATH"], HOME: process.env["HOME"], ...env },
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    concurrency: availableParallelism(),
    redactor: new Redactor(),
    offline: !options.fetchCharts,
  });
  return { context, stdout: () => stdout, stderr: () => stderr };
}

/** A context for calls that need one but whose output the test does not read. */
export function quietContext(cwd = process.cwd()): TaskContext {
  return captureContext(cwd).context;
}

/** A quiet context whose environment holds `env` (and PATH, HOME), for what reads the task's variables. */
export function quietContextWithEnv(env: Record<string, string | undefined>, cwd = process.cwd()): TaskContext {
  return captureContext(cwd, env).context;
}
