// The three kinds of failure a run can end in; `exitCodeFor` is the one place that maps them.

/** Bad input from the user: a config, a path, an option. Carries a hint on how to fix it. */
export class UserError extends Error {
  override readonly name = "UserError";
  readonly hint: string | undefined;
  readonly file: string | undefined;
  readonly line: number | undefined;

  constructor(message: string, options: { hint?: string; file?: string; line?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.hint = options.hint;
    this.file = options.file;
    this.line = options.line;
  }
}

/** A subprocess could not run or failed where failure is not a finding. */
export class ToolError extends Error {
  override readonly name = "ToolError";
  readonly command: string;
  readonly exitCode: number | undefined;
  readonly stderr: string;
  /** Stopped at its timeout. */
  readonly timedOut: boolean;

  constructor(message: string, options: { command: string; exitCode?: number; stderr?: string; cause?: unknown; timedOut?: boolean }) {
    super(message, { cause: options.cause });
    this.command = options.command;
    this.exitCode = options.exitCode;
    this.stderr = options.stderr ?? "";
    this.timedOut = options.timedOut ?? false;
  }
}

/**
 * Exit codes follow `flux diff`: 0 clean, 1 findings or changes, 2 could not run. Our own bug is
 * "could not run" too: no input may end a run with any other code.
 */
export const ExitCode = { ok: 0, findings: 1, couldNotRun: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export function exitCodeFor(_error: unknown): ExitCode {
  return ExitCode.couldNotRun;
}

/**
 * What a person reads when a run fails: message, location, hint. Our own bugs say so, without the
 * stack unless asked for (GITOPS_CI_DEBUG=1): a stack is for us, and its frames can quote input.
 */
export function describeError(error: unknown, options: { stack?: boolean } = {}): string {
  if (error instanceof UserError) {
    const where = error.file ? `${error.file}${error.line ? `:${error.line}` : ""}: ` : "";
    return `error: ${where}${error.message}${error.hint ? `\n  hint: ${error.hint}` : ""}`;
  }
  if (error instanceof ToolError) {
    const code = error.exitCode === undefined ? "" : ` (exit code ${error.exitCode}${meaningOfExitCode(error.exitCode)})`;
    const stderr = trimStderr(error.stderr);
    return `error: ${error.message}\n  command: ${error.command}${code}${stderr ? `\n${indent(stderr)}` : ""}`;
  }
  const message = error instanceof Error ? `${error.name}: ${error.message.split("\n")[0]}` : String(error);
  const stack = options.stack && error instanceof Error && error.stack ? `\n${error.stack}` : "";
  return `internal error (a bug in gitops-ci, please report it): ${message}${stack}\n  hint: run again with GITOPS_CI_DEBUG=1 for the stack trace to attach to the report`;
}

function meaningOfExitCode(code: number): string {
  if (code === 127) return ": command not found";
  if (code === 126) return ": not executable";
  if (code > 128) return `: killed by signal ${code - 128}`;
  return "";
}

/** Keep the last lines of stderr: that is where tools put the reason. */
export function trimStderr(stderr: string, maxLines = 20): string {
  const lines = stderr
    .trimEnd()
    .split("\n")
    .filter((line) => line.trim() !== "");
  if (lines.length <= maxLines) return lines.join("\n");
  return [`… ${lines.length - maxLines} earlier lines omitted`, ...lines.slice(-maxLines)].join("\n");
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `  | ${line}`)
    .join("\n");
}
