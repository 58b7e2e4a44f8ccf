// The one place that starts subprocesses: argument arrays only, explicit environment, timeouts.
import { execa } from "execa";
import { ToolError } from "./errors.ts";

export interface RunRequest {
  cwd?: string;
  input?: string;
  /** Added to the runner's base environment; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
}

export interface RunResult {
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface ProcessRunner {
  /**
   * Runs a tool to completion. A non-zero exit is a result, not an exception: callers decide
   * whether it is a finding. Throws ToolError only when the tool could not run at all.
   */
  run(tool: string, args: readonly string[], request?: RunRequest): Promise<RunResult>;
}

export interface ProcessRunnerOptions {
  /** Environment passed to every subprocess (never inherited implicitly). */
  env: Record<string, string | undefined>;
  /** Maps a tool name to an executable path (see toolchain.ts). */
  resolveTool: (tool: string) => Promise<string>;
  defaultTimeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5 * 60_000;

export function createProcessRunner(options: ProcessRunnerOptions): ProcessRunner {
  return {
    async run(tool, args, request = {}) {
      const executable = await options.resolveTool(tool);
      const command = [tool, ...args].join(" ");
      const started = performance.now();
      const env = withoutUndefined({ ...options.env, ...request.env });
      try {
        const result = await execa(executable, [...args], {
          ...(request.cwd !== undefined ? { cwd: request.cwd } : {}),
          ...(request.input !== undefined ? { input: request.input } : {}),
          env,
          extendEnv: false,
          reject: false,
          stripFinalNewline: false,
          timeout: request.timeoutMs ?? options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS,
          maxBuffer: 512 * 1024 * 1024,
        });
        if (result.timedOut) {
          throw new ToolError(`${tool} timed out`, { command, stderr: result.stderr, timedOut: true });
        }
        if (result.failed && result.exitCode === undefined) {
          throw new ToolError(`${tool} could not be started`, {
            command,
            stderr: result.stderr,
            cause: result.cause,
          });
        }
        return {
          command,
          exitCode: result.exitCode ?? 0,
          stdout: result.stdout,
          stderr: result.stderr,
          durationMs: performance.now() - started,
        };
      } catch (error) {
        if (error instanceof ToolError) throw error;
        throw new ToolError(`${tool} could not be started`, { command, cause: error });
      }
    },
  };
}

function withoutUndefined(env: Record<string, string | undefined>): Record<string, string> {
  const clean: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) clean[key] = value;
  return clean;
}
