// Reads a file the way sops would before decrypting it: which store (by extension), the metadata
// (from the first YAML document only, as yaml.v3 Unmarshal does), and the state of every stored
// value. Plaintext values are classified, never kept: nothing here returns a value.
import { LineCounter, parseAllDocuments, type Document } from "yaml";
import { documentValue, isRecord } from "../yaml-file.ts";
import { parseDotenv, parseIni, unflattenMetadata, type FlatFile } from "./flat-formats.ts";
import { readSopsMetadata, type SopsMetadata } from "./metadata.ts";
import { encryptedValueProblem, looksEncrypted } from "./sops-value.ts";

export type SopsFormat = "yaml" | "json" | "dotenv" | "ini" | "binary";

export interface StoredValue {
  document: number;
  /** Map keys leading to the value (list positions left out, as sops does). */
  path: string[];
  line?: number;
  state: "encrypted" | "corrupt" | "plaintext" | "empty";
  /** For corrupt values: what is wrong with the ENC[…] string. */
  problem?: string;
}

export interface InspectedDocument {
  index: number;
  line: number;
  value: unknown;
}

export interface SopsFileInspection {
  file: string;
  format: SopsFormat;
  /** NUL bytes or invalid UTF-8. */
  binaryContent: boolean;
  /** Why the file could not be read as its format; never quotes the content. */
  parseError?: { message: string; line?: number };
  documents: InspectedDocument[];
  metadata?: SopsMetadata;
  metadataLine?: number;
  /** A later YAML document carries sops metadata but the first does not: sops cannot read it. */
  metadataNotInFirstDocument?: number;
  /** Documents whose sops block differs from the first one's (files concatenated after encryption). */
  divergentMetadata: { document: number; line: number }[];
  values: StoredValue[];
  /** Line of a value inside a document, for findings (path with list positions). */
  lineOf(document: number, path: readonly (string | number)[]): number | undefined;
}

/** The store sops picks from a file name (cmd/sops/common: DefaultStoreForPath). */
export function sopsFormatOf(file: string): SopsFormat {
  if (file.endsWith(".yaml") || file.endsWith(".yml")) return "yaml";
  if (file.endsWith(".json")) return "json";
  if (file.endsWith(".env")) return "dotenv";
  if (file.endsWith(".ini")) return "ini";
  return "binary";
}

export function isBinaryContent(bytes: Uint8Array): boolean {
  if (bytes.includes(0)) return true;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return false;
  } catch {
    return true;
  }
}

export function inspectSopsFile(file: string, bytes: Uint8Array): SopsFileInspection {
  const format = sopsFormatOf(file);
  const base: SopsFileInspection = {
    file,
    format,
    binaryContent: false,
    documents: [],
    divergentMetadata: [],
    values: [],
    lineOf: () => undefined,
  };
  if (isBinaryContent(bytes)) return { ...base, binaryContent: true, parseError: { message: "binary content" } };
  const text = new TextDecoder().decode(bytes);
  switch (format) {
    case "yaml":
      return inspectYaml(base, text);
    case "json":
    case "binary":
      return inspectJson(base, text);
    case "dotenv":
      return inspectFlat(base, parseDotenv(text));
    case "ini":
      return inspectFlat(base, parseIni(text));
  }
}

export function isSopsEncryptedFile(inspection: SopsFileInspection): boolean {
  return inspection.metadata !== undefined;
}

function inspectYaml(base: SopsFileInspection, text: string, asJson = false): SopsFileInspection {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const documents = Array.isArray(parsed) ? parsed : [];
  for (const document of documents) {
    const error = document.errors[0];
    if (error) {
      const line = lineCounter.linePos(error.pos[0]).line;
      return { ...base, parseError: { message: `not valid ${asJson ? "JSON" : "YAML"} (${error.code})`, line } };
    }
  }
  const lineOfNode = (document: Document, path: readonly (string | number)[]) => {
    const node = document.getIn(path, true) as { range?: [number, number, number] } | undefined;
    return node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
  };
  const converted = documents.map((document) => documentValue(document));
  const unconverted = converted.findIndex((item) => "problem" in item);
  if (unconverted >= 0) {
    const item = converted[unconverted] as { problem: string; offset?: number };
    const line = lineCounter.linePos(item.offset ?? documents[unconverted]!.contents?.range[0] ?? 0).line;
    return { ...base, parseError: { message: `not valid ${asJson ? "JSON" : "YAML"} (${item.problem})`, line } };
  }
  const inspected: InspectedDocument[] = [];
  const values: StoredValue[] = [];
  documents.forEach((document, index) => {
    const value = (converted[index] as { value: unknown }).value;
    const line = lineCounter.linePos(document.contents?.range[0] ?? 0).line;
    inspected.push({ index, line, value });
    values.push(...storedValues(value, index, (path) => lineOfNode(document, path)));
  });
  const result: SopsFileInspection = {
    ...base,
    documents: inspected,
    values,
    lineOf: (index, path) => {
      const document = documents[index];
      return document ? lineOfNode(document, path) : undefined;
    },
  };
  const blocks = inspected.map((document) => (isRecord(document.value) ? document.value["sops"] : undefined));
  const first = inspected[0];
  if (first && blocks[0] !== undefined) {
    result.metadata = readSopsMetadata(blocks[0]);
    const line = result.lineOf(first.index, ["sops"]);
    if (line !== undefined) result.metadataLine = line;
    const reference = JSON.stringify(blocks[0]);
    blocks.forEach((block, position) => {
      if (position === 0 || block === undefined || JSON.stringify(block) === reference) return;
      const document = inspected[position]!;
      result.divergentMetadata.push({ document: document.index, line: result.lineOf(document.index, ["sops"]) ?? document.line });
    });
  } else {
    const later = blocks.findIndex((block) => block !== undefined);
    if (later > 0) result.metadataNotInFirstDocument = inspected[later]!.index;
  }
  return result;
}

/** JSON and sops's binary store (a JSON object with `data` and `sops`). JSON is read as YAML for lines. */
function inspectJson(base: SopsFileInspection, text: string): SopsFileInspection {
  if (base.format === "binary" && !/^\s*\{/.test(text))
    return { ...base, parseError: { message: "not a sops binary-store JSON document" } };
  const asYaml = inspectYaml(base, text, true);
  if (!asYaml.parseError)
    return asYaml.documents.length > 1 ? { ...base, parseError: { message: "not valid JSON (more than one document)" } } : asYaml;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ...base, parseError: asYaml.parseError };
  }
  const result: SopsFileInspection = {
    ...base,
    documents: [{ index: 0, line: 1, value }],
    values: storedValues(value, 0, () => undefined),
  };
  if (isRecord(value) && value["sops"] !== undefined) result.metadata = readSopsMetadata(value["sops"]);
  return result;
}

function inspectFlat(base: SopsFileInspection, parsed: FlatFile): SopsFileInspection {
  if (parsed.error) return { ...base, parseError: parsed.error };
  const object: Record<string, unknown> = {};
  const values: StoredValue[] = parsed.entries.map((entry) => ({
    document: 0,
    path: entry.path,
    line: entry.line,
    ...classify(entry.value),
  }));
  const lines = new Map(parsed.entries.map((entry) => [entry.path.join("\0"), entry.line]));
  for (const entry of parsed.entries) {
    if (entry.path.length === 1) object[entry.path[0]!] = entry.value;
    else {
      const section = (object[entry.path[0]!] ??= {}) as Record<string, unknown>;
      section[entry.path[1]!] = entry.value;
    }
  }
  const result: SopsFileInspection = {
    ...base,
    documents: [{ index: 0, line: 1, value: object }],
    values,
    lineOf: (_document, path) => lines.get(path.map(String).join("\0")),
  };
  if (parsed.metadata) {
    const metadata = unflattenMetadata(parsed.metadata.entries);
    result.metadata = readSopsMetadata(metadata);
    result.metadataLine = parsed.metadata.line;
  }
  return result;
}

function classify(value: unknown): Pick<StoredValue, "state" | "problem"> {
  if (value === "") return { state: "empty" };
  if (!looksEncrypted(value)) return { state: "plaintext" };
  const problem = encryptedValueProblem(value);
  return problem ? { state: "corrupt", problem } : { state: "encrypted" };
}

/** Every leaf outside the top-level `sops` key; null leaves are skipped, as sops skips them. */
function storedValues(root: unknown, document: number, lineOf: (path: (string | number)[]) => number | undefined): StoredValue[] {
  const values: StoredValue[] = [];
  const walk = (value: unknown, keys: string[], fullPath: (string | number)[]) => {
    if (value === null || value === undefined) return;
    if (Array.isArray(value)) {
      value.forEach((item, index) => walk(item, keys, [...fullPath, index]));
      return;
    }
    if (isRecord(value)) {
      for (const [key, child] of Object.entries(value)) {
        if (fullPath.length === 0 && key === "sops") continue;
        walk(child, [...keys, key], [...fullPath, key]);
      }
      return;
    }
    const line = lineOf(fullPath);
    values.push({ document, path: keys, ...(line !== undefined ? { line } : {}), ...classify(value) });
  };
  walk(root, [], []);
  return values;
}
