// Writes every report of a check run into one directory, for the job's artifacts. Secrets are
// masked twice: in the findings before any formatting, because escaping (`&amp;`, `\|`, `&#10;`)
// would otherwise hide a secret from the redactor, and in each finished file.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Redactor } from "../redaction.ts";
import { formatCodeQuality, type CodeQualityOptions } from "./code-quality.ts";
import { formatJson } from "./json.ts";
import { formatJUnit } from "./junit.ts";
import { formatMarkdown, type MarkdownOptions } from "./markdown.ts";
import type { CheckReportInput } from "./summary.ts";

/** File names the pipeline's `artifacts:reports` entries point at. */
export const REPORT_FILES = {
  json: "report.json",
  junit: "junit.xml",
  codeQuality: "gl-code-quality-report.json",
  markdown: "report.md",
} as const;

export interface WriteReportsOptions {
  markdown?: MarkdownOptions;
  codeQuality?: Omit<CodeQualityOptions, "summary">;
}

/** Returns the paths written, in {@link REPORT_FILES} order. */
export async function writeReports(
  outDir: string,
  input: CheckReportInput,
  redactor: Pick<Redactor, "redact">,
  options: WriteReportsOptions = {},
): Promise<string[]> {
  const safe = redactStrings(input, redactor);
  const contents: [string, string][] = [
    [REPORT_FILES.json, formatJson(safe)],
    [REPORT_FILES.junit, formatJUnit(safe)],
    [REPORT_FILES.codeQuality, formatCodeQuality(safe.findings, { ...options.codeQuality, summary: safe.summary })],
    [REPORT_FILES.markdown, formatMarkdown(safe, options.markdown)],
  ];
  await mkdir(outDir, { recursive: true });
  const written = contents.map(([name]) => path.join(outDir, name));
  await Promise.all(contents.map(([name, text]) => writeFile(path.join(outDir, name), redactor.redact(text))));
  return written;
}

/**
 * JUnit and Code Quality alone, for a run whose own report is not a check's (the live diff, whose
 * problems are findings too): the pipeline's `artifacts:reports` pick them up beside the check's.
 */
export async function writeFindingReports(
  outDir: string,
  input: CheckReportInput,
  redactor: Pick<Redactor, "redact">,
  options: Omit<CodeQualityOptions, "summary"> = {},
): Promise<string[]> {
  const safe = redactStrings(input, redactor);
  const contents: [string, string][] = [
    [REPORT_FILES.junit, formatJUnit(safe)],
    [REPORT_FILES.codeQuality, formatCodeQuality(safe.findings, { ...options, summary: safe.summary })],
  ];
  await mkdir(outDir, { recursive: true });
  await Promise.all(contents.map(([name, text]) => writeFile(path.join(outDir, name), redactor.redact(text))));
  return contents.map(([name]) => path.join(outDir, name));
}

/** A copy of `value` with every string value passed through the redactor; keys are ours, not data. */
function redactStrings<T>(value: T, redactor: Pick<Redactor, "redact">): T {
  if (typeof value === "string") return redactor.redact(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => redactStrings(item, redactor)) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactStrings(item, redactor)])) as T;
  }
  return value;
}
