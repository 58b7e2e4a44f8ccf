// Where a task's words go. Both streams redact, so no caller can forget to.
import type { Redactor } from "./redaction.ts";

export interface Output {
  /** Results: the report a user asked for (stdout). */
  out(text: string): void;
  /** Progress, warnings and errors (stderr). */
  err(text: string): void;
}

export interface WritableLike {
  write(text: string): unknown;
}

/** `beforeWrite` runs before every line of text: the live progress line is cleared first. */
export function createOutput(stdout: WritableLike, stderr: WritableLike, redactor: Redactor, beforeWrite: () => void = () => {}): Output {
  return {
    out: (text) => {
      beforeWrite();
      void stdout.write(redactor.redact(ensureNewline(text)));
    },
    err: (text) => {
      beforeWrite();
      void stderr.write(redactor.redact(ensureNewline(text)));
    },
  };
}

/** Collects output in memory, for tests and for reports that are assembled before printing. */
export function createBufferedOutput(redactor: Redactor): Output & { stdout: () => string; stderr: () => string } {
  let stdout = "";
  let stderr = "";
  const output = createOutput({ write: (text: string) => (stdout += text) }, { write: (text: string) => (stderr += text) }, redactor);
  return { ...output, stdout: () => stdout, stderr: () => stderr };
}

function ensureNewline(text: string): string {
  return text.endsWith("\n") ? text : `${text}\n`;
}
