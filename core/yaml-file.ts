// Reads YAML the way a reviewer needs it: every document, with line numbers, and every syntax
// problem (duplicate keys included) as a finding instead of an exception.
import { readFile } from "node:fs/promises";
import { isMap, isSeq, LineCounter, parseAllDocuments, visit, type Document, type Node } from "yaml";
import type { Finding } from "./model/findings.ts";

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
    const converted = documentValue(document);
    if ("problem" in converted) {
      const line = converted.offset === undefined ? undefined : lineCounter.linePos(converted.offset).line;
      findings.push({ severity: "error", check: "yaml/syntax", file, ...(line ? { line } : {}), message: converted.problem });
      return;
    }
    const { value } = converted;
    if (value === null || value === undefined) return;
    const start = document.contents?.range[0] ?? 0;
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
 * A document's value, or why it has none. yaml composes an alias to an anchor that does not exist
 * without an error and throws only when converting; the alias name may be someone's secret value
 * (`password: *VALUE`), so the problem never quotes it.
 */
export function documentValue(document: Document): { value: unknown } | { problem: string; offset?: number } {
  try {
    return { value: document.toJS({ maxAliasCount: 1000 }) };
  } catch (error) {
    if (error instanceof ReferenceError) {
      return { problem: "an alias (*name) refers to no anchor (&name) defined before it", ...offsetOf(unresolvedAlias(document)) };
    }
    // yaml's other conversion error: an alias expanded more times than allowed (a "billion laughs" document).
    return { problem: "the document expands its aliases too many times (over 1000)" };
  }
}

function unresolvedAlias(document: Document): Node | undefined {
  const anchors = new Set<string>();
  let found: Node | undefined;
  visit(document, {
    Alias(_, alias) {
      if (!found && !anchors.has(alias.source)) found = alias;
    },
    Node(_, node) {
      if (node.anchor) anchors.add(node.anchor);
    },
  });
  return found;
}

function offsetOf(node: Node | undefined): { offset?: number } {
  return node?.range ? { offset: node.range[0] } : {};
}

/**
 * yaml's message without the excerpt and the location it ends with ("… at line 4, column 9:"):
 * the finding carries the line, and a sentence should not end in a colon.
 */
export function describeYamlError(message: string): string {
  const first = message.split("\n")[0] ?? message;
  // "Unexpected scalar token in YAML stream: "…"": the token may be a piece of a secret value.
  return first
    .replace(/\s+at line \d+, column \d+:?\s*$/, "")
    .replace(/(token in YAML stream|token)\s*:\s*".*"$/, "$1")
    .replace(/\s*:\s*$/, "");
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `Array.isArray`, typed as a list of unknowns rather than of `any`. */
export function isList(value: unknown): value is unknown[] {
  return Array.isArray(value);
}

/** A scalar YAML field as text; a map or list (which `String()` would print as "[object Object]") is the fallback. */
export function scalarText(value: unknown, fallback = ""): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  return fallback;
}
