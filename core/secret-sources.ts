// The values of every secret-bearing file of a repository, registered with the redactor before a
// build, a parser or a tool can print one: a kustomize error may quote a generator literal, a YAML
// error a token of a broken Secret. A file that fails to parse gives every value it holds outside
// metadata, token by token and line by line: over-masking a broken file is the safe mistake.
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { mapWithConcurrency } from "./concurrency.ts";
// Larger files are not read: a build refuses them, and the secrets checks report them.
import { MAX_INPUT_BYTES } from "./flux/build-limits.ts";
import { KUSTOMIZATION_FILES } from "./kustomization-file.ts";
import type { Redactor } from "./redaction.ts";
import { listRepoFiles, readTextUpTo } from "./repo-files.ts";
import { plaintextSecretValues } from "./secret-values.ts";
import { documentValue, isRecord } from "./yaml-file.ts";

/** A manifest's own kind, at the top level (not a substituteFrom or valuesFrom entry naming a Secret). */
const SECRET_KIND = /^kind:[ \t]*["']?(Secret|SealedSecret)["']?[ \t]*(#.*)?$/m;
const SECRET_GENERATOR = /^[ \t]*secretGenerator:/m;

/** Pieces guessed from broken text are masked from this length on: shorter ones are ordinary words. */
const MIN_GUESSED_LENGTH = 6;
/** Scalars no secret is: masking them would blank every boolean and number in a report. */
const COMMON_SCALAR = /^(true|false|null|yes|no|on|off|~|-?\d+(\.\d+)?)$/i;

/** Keys whose values name things rather than hold them. */
const NAMING_KEYS = new Set(["apiVersion", "kind", "name", "namespace", "type", "behavior", "immutable"]);

export async function registerRepositorySecrets(root: string, redactor: Redactor, concurrency = 8): Promise<void> {
  const files = await listRepoFiles(root);
  const generatorInputs = new Set<string>();
  await mapWithConcurrency(files, concurrency, async (file) => {
    const text = await readTextUpTo(path.join(root, file), MAX_INPUT_BYTES);
    if (text === undefined) return;
    for (const value of secretValuesOfText(file, text)) redactor.add(value);
    if (KUSTOMIZATION_FILES.includes(path.posix.basename(file) as (typeof KUSTOMIZATION_FILES)[number]) && SECRET_GENERATOR.test(text)) {
      for (const input of secretGeneratorInputs(file, text)) generatorInputs.add(input);
    }
  });
  await mapWithConcurrency([...generatorInputs], concurrency, async (file) => {
    const text = await readTextUpTo(path.join(root, file), MAX_INPUT_BYTES);
    if (text !== undefined) for (const value of generatorInputValues(text)) redactor.add(value);
  });
}

/**
 * Every value of a Secret, SealedSecret template or secretGenerator literal in the file's text. A
 * Secret's document also gives its raw pieces (a tag, an anchor, a value that breaks the file);
 * a kustomization gives its secretGenerator section's when it does not parse.
 */
export function secretValuesOfText(file: string, text: string): string[] {
  const values: string[] = [];
  const isKustomization = KUSTOMIZATION_FILES.includes(path.posix.basename(file) as (typeof KUSTOMIZATION_FILES)[number]);
  const holdsSecret = SECRET_KIND.test(text);
  const generates = isKustomization && SECRET_GENERATOR.test(text);
  if (!holdsSecret && !generates) return values;
  const documents = parsedDocuments(text);
  for (const document of documents ?? []) {
    if (!isRecord(document)) continue;
    values.push(...plaintextSecretValues(document));
    if (isKustomization && Array.isArray(document["secretGenerator"])) values.push(...literalValues(document["secretGenerator"]));
  }
  if (holdsSecret) for (const part of text.split(/^---.*$/m)) if (SECRET_KIND.test(part)) values.push(...tolerantValues(part));
  if (generates && !documents) values.push(...tolerantValues(sectionOf(text, "secretGenerator")));
  return values;
}

/** The lines of a top-level key's section, up to the next top-level key. */
function sectionOf(text: string, key: string): string {
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((line) => line.startsWith(`${key}:`));
  if (start < 0) return "";
  const end = lines.findIndex((line, index) => index > start && /^[^\s#-]/.test(line));
  return lines.slice(start, end < 0 ? undefined : end).join("\n");
}

function parsedDocuments(text: string): unknown[] | undefined {
  const documents: unknown[] = [];
  for (const document of parseAllDocuments(text, { uniqueKeys: false })) {
    if (document.errors.length > 0) return undefined;
    const converted = documentValue(document);
    if ("problem" in converted) return undefined;
    documents.push(converted.value);
  }
  return documents;
}

/** `key=value` literals give their value; a malformed one (no `=`, kustomize quotes it whole) gives all of it. */
function literalValues(generators: unknown[]): string[] {
  const values: string[] = [];
  for (const generator of generators) {
    if (!isRecord(generator) || !Array.isArray(generator["literals"])) continue;
    for (const literal of generator["literals"]) {
      if (typeof literal !== "string") continue;
      values.push(literal);
      if (literal.includes("=")) values.push(literal.slice(literal.indexOf("=") + 1));
    }
  }
  return values;
}

/**
 * A file that does not parse: every value outside `metadata:` (and the naming keys), as the raw
 * text after `key:`, as each scalar-looking token of it, and each line that is not a key alone.
 */
export function tolerantValues(text: string): string[] {
  const values: string[] = [];
  let section = "";
  let metadataIndent: number | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\s+$/, "");
    if (line.trim() === "" || line.trim().startsWith("#") || /^(---|\.\.\.)/.test(line)) continue;
    const indented = /^\s/.test(line);
    const indent = line.length - line.trimStart().length;
    const pair = /^\s*(?:-\s+)?("[^"]*"|'[^']*'|[^\s:#][^:]*?)\s*:(?:\s+(.*))?$/.exec(line);
    if (!indented && pair) section = pair[1]!;
    // Anything under a metadata: key, at any depth (a SealedSecret template's too), names things.
    if (metadataIndent !== undefined && indent > metadataIndent) continue;
    metadataIndent = pair && pair[1] === "metadata" && (pair[2] ?? "") === "" ? indent : undefined;
    if (metadataIndent !== undefined) continue;
    if (section === "metadata" || (pair && NAMING_KEYS.has(pair[1]!) && !indented)) continue;
    if (pair && NAMING_KEYS.has(pair[1]!) && section !== "data" && section !== "stringData") continue;
    const value = pair ? (pair[2] ?? "") : line.trim().replace(/^-\s+/, "");
    if (value === "" || COMMON_SCALAR.test(value)) continue;
    values.push(value, ...[line.trim(), ...tokensOf(value)].filter((piece) => piece.length >= MIN_GUESSED_LENGTH));
  }
  return values.filter((value) => !COMMON_SCALAR.test(value));
}

/** The pieces a YAML error may quote: the value without quotes and flow indicators, split at them. */
function tokensOf(value: string): string[] {
  return value
    .split(/[{}[\],]|\s#|:\s/)
    .map((token) =>
      token
        .trim()
        .replace(/^[&*!|>%@`'"-]+/, "")
        .replace(/['"]+$/, "")
        .trim(),
    )
    .filter((token) => token !== "");
}

function secretGeneratorInputs(kustomization: string, text: string): string[] {
  const dir = path.posix.dirname(kustomization);
  const inputs: string[] = [];
  const documents = parsedDocuments(text);
  const entries: unknown[] = [];
  if (documents) {
    for (const document of documents) {
      if (!isRecord(document) || !Array.isArray(document["secretGenerator"])) continue;
      for (const generator of document["secretGenerator"]) {
        if (!isRecord(generator)) continue;
        for (const field of ["files", "envs"]) if (Array.isArray(generator[field])) entries.push(...(generator[field] as unknown[]));
        entries.push(generator["env"]);
      }
    }
  }
  for (const entry of entries) {
    if (typeof entry !== "string" || entry.trim() === "") continue;
    const source = entry.includes("=") ? entry.slice(entry.indexOf("=") + 1) : entry;
    const file = path.posix.normalize(path.posix.join(dir === "." ? "" : dir, source.trim()));
    // Never outside the repository: the engine refuses those reads, and so do we.
    if (!file.startsWith("../") && !path.posix.isAbsolute(file) && file !== "..") inputs.push(file);
  }
  return inputs;
}

/** A generator input: all of it, each line, and each env value. */
function generatorInputValues(text: string): string[] {
  // Encrypted inputs are ciphertext and sops metadata: decryption registers what they hold.
  if (text.includes("ENC[AES256_GCM,data:")) return [];
  const values = [text];
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    if (trimmed.length >= MIN_GUESSED_LENGTH) values.push(trimmed);
    if (trimmed.includes("=")) values.push(trimmed.slice(trimmed.indexOf("=") + 1));
  }
  return values.filter((value) => !COMMON_SCALAR.test(value.trim()));
}
