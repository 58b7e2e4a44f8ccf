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

  constructor(message: string, options: { command: string; exitCode?: number; stderr?: string; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.command = options.command;
    this.exitCode = options.exitCode;
    this.stderr = options.stderr ?? "";
  }
}

/** Exit codes follow `flux diff`: 0 clean, 1 findings or changes, 2 could not run. */
export const ExitCode = { ok: 0, findings: 1, couldNotRun: 2, internal: 3 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof UserError || error instanceof ToolError) return ExitCode.couldNotRun;
  return ExitCode.internal;
}

/** What a person reads when a run fails: message, location, hint; a stack only for our own bugs. */
export function describeError(error: unknown): string {
  if (error instanceof UserError) {
    const where = error.file ? `${error.file}${error.line ? `:${error.line}` : ""}: ` : "";
    return `error: ${where}${error.message}${error.hint ? `\n  hint: ${error.hint}` : ""}`;
  }
  if (error instanceof ToolError) {
    const code = error.exitCode === undefined ? "" : ` (exit code ${error.exitCode}${meaningOfExitCode(error.exitCode)})`;
    const stderr = trimStderr(error.stderr);
    return `error: ${error.message}\n  command: ${error.command}${code}${stderr ? `\n${indent(stderr)}` : ""}`;
  }
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return `internal error (a bug in gitops-ci, please report it):\n${stack}`;
}

function meaningOfExitCode(code: number): string {
  if (code === 127) return ": command not found";
  if (code === 126) return ": not executable";
  if (code > 128) return `: killed by signal ${code - 128}`;
  return "";
}

/** Keep the last lines of stderr: that is where tools put the reason. */
export function trimStderr(stderr: string, maxLines = 20): string {
  const lines = stderr.trimEnd().split("\n").filter((line) => line.trim() !== "");
  if (lines.length <= maxLines) return lines.join("\n");
  return [`… ${lines.length - maxLines} earlier lines omitted`, ...lines.slice(-maxLines)].join("\n");
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `  | ${line}`)
    .join("\n");
}
