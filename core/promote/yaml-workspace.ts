// Edits YAML text the way a person would: through `yaml`'s Document API, so comments, quoting,
// blank lines and key order stay; only the files (and inline patches) that change are written
// again, in the indentation and flow-collection style they were written in.
import { Document, isMap, isScalar, isSeq, parseAllDocuments, type Node, type ToStringOptions } from "yaml";
import type { FieldPath, YamlContainer } from "../model/promotion.ts";

export class YamlWorkspace {
  readonly #texts: Map<string, string>;
  readonly #parsed = new Map<string, Document[]>();
  readonly #inline = new Map<string, { file: string; path: FieldPath; documents: Document[] }>();
  readonly #changed = new Set<string>();

  constructor(files: ReadonlyMap<string, string>) {
    this.#texts = new Map(files);
  }

  has(file: string): boolean {
    return this.#texts.has(file) || this.#parsed.has(file);
  }

  files(): string[] {
    return [...new Set([...this.#texts.keys(), ...this.#parsed.keys()])].sort();
  }

  /** Every document of a file; parse errors leave the file out (an empty list). */
  documents(file: string): Document[] {
    const cached = this.#parsed.get(file);
    if (cached) return cached;
    const text = this.#texts.get(file);
    const documents = text === undefined ? [] : parseDocuments(text);
    this.#parsed.set(file, documents);
    return documents;
  }

  /** The documents of an inline patch: the string at `path` in the file's first document. */
  inlineDocuments(file: string, path: FieldPath): Document[] {
    const key = inlineKey(file, path);
    const cached = this.#inline.get(key);
    if (cached) return cached.documents;
    const node = this.documents(file)[0]?.getIn(path, true);
    const documents = isScalar(node) && typeof node.value === "string" ? parseDocuments(node.value) : [];
    this.#inline.set(key, { file, path, documents });
    return documents;
  }

  containerDocuments(container: Pick<YamlContainer, "file" | "inline">): Document[] {
    return container.inline ? this.inlineDocuments(container.file, container.inline) : this.documents(container.file);
  }

  document(container: YamlContainer): Document | undefined {
    return this.containerDocuments(container)[container.document];
  }

  /** Records that a container's documents were edited, so its file is written again. */
  touch(container: Pick<YamlContainer, "file" | "inline">): void {
    this.#changed.add(container.inline ? inlineKey(container.file, container.inline) : container.file);
  }

  /** A new inline patch: its documents, kept until the holding file is written. */
  createInline(file: string, path: FieldPath, documents: Document[]): void {
    const key = inlineKey(file, path);
    this.#inline.set(key, { file, path, documents });
    this.#changed.add(key);
  }

  /** A new file (or one replaced whole). */
  create(file: string, documents: Document[]): void {
    this.#parsed.set(file, documents);
    this.#texts.delete(file);
    this.#changed.add(file);
  }

  /** The new text of every file that changed, in its own style. */
  changedFiles(): Map<string, string> {
    const files = new Set<string>();
    for (const key of this.#changed) {
      const inline = this.#inline.get(key);
      if (!inline) {
        files.add(key);
        continue;
      }
      const holder = this.documents(inline.file)[0]?.getIn(inline.path, true);
      if (isScalar(holder) && typeof holder.value === "string") {
        holder.value = serialize(inline.documents, holder.value);
        files.add(inline.file);
      }
    }
    const result = new Map<string, string>();
    for (const file of [...files].sort()) {
      const original = this.#texts.get(file);
      const text = serialize(this.documents(file), original);
      if (text !== original) result.set(file, text);
    }
    return result;
  }
}

function inlineKey(file: string, path: FieldPath): string {
  return `${file}\u0000${path.join("\u0000")}`;
}

function parseDocuments(text: string): Document[] {
  const documents = parseAllDocuments(text, { keepSourceTokens: false });
  if (!Array.isArray(documents) || documents.some((document) => document.errors.length > 0)) return [];
  return documents as Document[];
}

/** Writes documents back in the style of the text they came from (or the common style for new files). */
export function serialize(documents: readonly Document[], original?: string): string {
  const options = styleOf(original ?? "");
  return documents.map((document) => document.toString(options)).join("");
}

/** Indentation, sequence indentation and flow padding as the original text has them. */
export function styleOf(text: string): ToStringOptions {
  const padded = text.match(/(?::\s|-\s)[[{] \S/g)?.length ?? 0;
  const tight = text.match(/(?::\s|-\s)[[{][^\s\]}]/g)?.length ?? 0;
  const flat = text.match(/^( *)[^\s#-][^\n]*:[ \t]*\n\1- /gm)?.length ?? 0;
  const nested = text.match(/^( *)[^\s#-][^\n]*:[ \t]*\n\1 +- /gm)?.length ?? 0;
  const indents = [...text.matchAll(/^( +)[^\s#]/gm)].map((match) => match[1]!.length);
  const smallest = indents.length > 0 ? Math.min(...indents) : 2;
  return {
    lineWidth: 0,
    flowCollectionPadding: padded >= tight,
    indentSeq: !(flat > nested),
    indent: Math.min(8, Math.max(2, smallest)),
  };
}

/** Sets the node at `path` (which must exist): a scalar keeps its style and comments. */
export function replaceValue(document: Document, path: FieldPath, value: unknown): void {
  const node = document.getIn(path, true);
  if (isScalar(node) && !isCollectionValue(value)) {
    node.value = value;
    return;
  }
  document.setIn(path, document.createNode(value));
}

/**
 * Sets a field, creating the maps on the way. Throws when something on the way is not a map (or
 * a list, for an index it has): the field cannot be written there without changing its meaning.
 */
export function setCreating(document: Document, path: FieldPath, value: unknown): void {
  for (let depth = 1; depth < path.length; depth += 1) {
    const node = document.getIn(path.slice(0, depth), true) as Node | null | undefined;
    const next = path[depth];
    const fits = isMap(node) || (isSeq(node) && typeof next === "number" && next < node.items.length);
    if (node !== undefined && node !== null && !fits) throw new Error(`${path.slice(0, depth).join(".")} is not a map`);
  }
  if (document.hasIn(path)) replaceValue(document, path, value);
  else document.setIn(path, document.createNode(value));
}

/** Appends an item to the sequence at `path`, creating the sequence when it is missing. */
export function appendToSequence(document: Document, path: FieldPath, item: unknown): number {
  const node = document.getIn(path, true);
  if (isSeq(node)) {
    node.items.push(document.createNode(item));
    return node.items.length - 1;
  }
  if (node !== undefined && node !== null) throw new Error(`${path.join(".")} is not a list`);
  document.setIn(path, document.createNode([item]));
  return 0;
}

function isCollectionValue(value: unknown): boolean {
  return typeof value === "object" && value !== null;
}

/** A new document holding `value`, for files gitops-ci writes itself. */
export function newDocument(value: unknown): Document {
  return new Document(value);
}
