// Reads YAML the way a reviewer needs it: every document, with line numbers, and every syntax
// problem (duplicate keys included) as a finding instead of an exception.
import { readFile } from "node:fs/promises";
import { isMap, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from "yaml";
import type { Finding } from "./findings.ts";

export interface YamlDocument {
  /** Position of the document in its file, from 0. */
  index: number;
  value: unknown;
  /** Line where the document starts, from 1. */
  line: number;
  document: Document;
}

export interface ParsedYaml {
  file: string;
  documents: YamlDocument[];
  findings: Finding[];
  /** Line of a node inside a document, e.g. lineAt(doc, ["spec", "path"]). */
  lineAt(document: YamlDocument, keyPath: readonly (string | number)[]): number | undefined;
}

export function parseYaml(text: string, file: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const documents: YamlDocument[] = [];
  const findings: Finding[] = [];
  const parsed = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: true });
  const all = Array.isArray(parsed) ? parsed : [];
  if (!Array.isArray(parsed)) {
    findings.push({ severity: "error", check: "yaml/syntax", file, message: "not a YAML stream" });
  }
  all.forEach((document, index) => {
    for (const error of document.errors) {
      const line = error.linePos?.[0].line;
      const duplicate = error.code === "DUPLICATE_KEY";
      findings.push({
        severity: "error",
        check: duplicate ? "yaml/duplicate-key" : "yaml/syntax",
        file,
        ...(line ? { line } : {}),
        message: describeYamlError(error.message),
      });
    }
    if (document.errors.length > 0) return;
    const value: unknown = document.toJS({ maxAliasCount: 1000 });
    if (value === null || value === undefined) return;
    const start = document.contents?.range?.[0] ?? 0;
    documents.push({ index, value, line: lineCounter.linePos(start).line, document });
  });
  return {
    file,
    documents,
    findings,
    lineAt(document, keyPath) {
      const node = document.document.getIn(keyPath, true) as Node | undefined;
      const offset = node?.range?.[0] ?? findKeyOffset(document.document, keyPath);
      return offset === undefined ? undefined : lineCounter.linePos(offset).line;
    },
  };
}

export async function readYamlFile(absolutePath: string, file: string): Promise<ParsedYaml> {
  const text = await readFile(absolutePath, "utf8");
  return parseYaml(text, file);
}

/** Falls back to the parent collection when a key path does not exist, so findings keep a line. */
function findKeyOffset(document: Document, keyPath: readonly (string | number)[]): number | undefined {
  for (let depth = keyPath.length - 1; depth >= 0; depth -= 1) {
    const node = document.getIn(keyPath.slice(0, depth), true) as Node | undefined;
    if (node && (isMap(node) || isSeq(node)) && node.range) return node.range[0];
  }
  return undefined;
}

/**
 * yaml's message without the excerpt and the location it ends with ("… at line 4, column 9:"):
 * the finding carries the line, and a sentence should not end in a colon.
 */
export function describeYamlError(message: string): string {
  const first = message.split("\n")[0] ?? message;
  return first.replace(/\s+at line \d+, column \d+:?\s*$/, "").replace(/\s*:\s*$/, "");
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
