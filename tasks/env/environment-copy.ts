// `env add`'s copy of one overlay, from text to text. Names that carry the old environment's
// name (nameSuffix `-staging`, `gitlab-smtp-staging`, `letsencrypt-staging`) are renamed, since
// they follow from the suffix; addresses, host names, e-mail addresses and URLs cannot be guessed,
// so each keeps its value and gets a marker comment; secret files get a marker on their first line
// (their ciphertext is never touched). Files that need no change are copied byte for byte.
import path from "node:path";
import { isMap, isScalar, isSeq, parseAllDocuments, type Document, type Node, type Scalar } from "yaml";
import { KUSTOMIZATION_FILES } from "../../core/kustomization-file.ts";
import { isYamlFile } from "../../core/repo-files.ts";
import { classifyValue, isSecretFile } from "../../core/promote/environment-values.ts";
import { markerComment } from "../../core/promote/markers.ts";
import type { FieldPath, OverlayFiles } from "../../core/model/promotion.ts";
import { serialize } from "../../core/promote/yaml-workspace.ts";

export interface RenamedValue {
  file: string;
  from: string;
  to: string;
}

export interface EnvironmentCopy {
  /** Overlay-relative file → content for the new environment. */
  files: Map<string, string>;
  renamed: RenamedValue[];
  /** Files that could not be parsed, copied unchanged. */
  unparsed: string[];
}

/** Kustomization fields that point at files or configure kustomize itself: never values of an environment. */
const KUSTOMIZATION_REFERENCES = new Set([
  "apiVersion",
  "kind",
  "resources",
  "components",
  "bases",
  "configurations",
  "crds",
  "generators",
  "transformers",
  "validators",
  "openapi",
  "helmGlobals",
  "buildMetadata",
  "sortOptions",
]);

const ANY_MARKER = /\s*gitops-ci: set for \S+ \(copied from \S+?\)\s*(;\s*)?/;

export function copyOverlay(source: OverlayFiles, environment: string): EnvironmentCopy {
  const copy: EnvironmentCopy = { files: new Map(), renamed: [], unparsed: [] };
  const from = source.environment;
  for (const [file, text] of source.files) {
    if (isSecretFile(file, text)) {
      const withoutOld = text.replace(/^#\s*gitops-ci: set for \S+ \(copied from \S+?\).*\n/, "");
      copy.files.set(file, `#${markerComment(environment, from)}\n${withoutOld}`);
      continue;
    }
    if (!isYamlFile(file)) {
      copy.files.set(file, text);
      continue;
    }
    const documents = parseAllDocuments(text);
    if (!Array.isArray(documents) || documents.some((document) => document.errors.length > 0)) {
      copy.unparsed.push(file);
      copy.files.set(file, text);
      continue;
    }
    const marker = new ValueMarker(file, from, environment, copy.renamed);
    const isKustomization = (KUSTOMIZATION_FILES as readonly string[]).includes(path.posix.basename(file));
    for (const document of documents) {
      if (isKustomization) marker.kustomization(document);
      else marker.walk(document.contents, []);
    }
    copy.files.set(file, marker.changed ? serialize(documents as Document[], text) : text);
  }
  return copy;
}

class ValueMarker {
  changed = false;
  readonly file: string;
  readonly from: string;
  readonly environment: string;
  readonly renamed: RenamedValue[];

  constructor(file: string, from: string, environment: string, renamed: RenamedValue[]) {
    this.file = file;
    this.from = from;
    this.environment = environment;
    this.renamed = renamed;
  }

  kustomization(document: Document): void {
    const contents = document.contents;
    if (!isMap(contents)) return;
    for (const pair of contents.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : "";
      if (KUSTOMIZATION_REFERENCES.has(key)) continue;
      const value = pair.value as Node | null;
      if ((key === "patches" || key === "patchesJson6902" || key === "patchesStrategicMerge") && isSeq(value)) {
        for (const entry of value.items as Node[]) this.#patchEntry(entry);
        continue;
      }
      this.walk(value, [key]);
    }
  }

  /** A patch entry: its inline patch is marked inside; its path and target are references. */
  #patchEntry(entry: Node): void {
    if (isScalar(entry) && typeof entry.value === "string" && entry.value.includes("\n")) {
      this.#inline(entry);
      return;
    }
    if (!isMap(entry)) return;
    const patch = entry.get("patch", true);
    if (isScalar(patch) && typeof patch.value === "string") this.#inline(patch);
  }

  #inline(holder: Scalar): void {
    const text = String(holder.value);
    const documents = parseAllDocuments(text);
    if (!Array.isArray(documents) || documents.some((document) => document.errors.length > 0)) return;
    const inner = new ValueMarker(this.file, this.from, this.environment, this.renamed);
    for (const document of documents) inner.walk(document.contents, []);
    if (!inner.changed) return;
    holder.value = serialize(documents as Document[], text);
    this.changed = true;
  }

  walk(node: Node | null, keyPath: FieldPath): void {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? (pair.key.value as string | number) : "";
        this.walk(pair.value as Node | null, [...keyPath, key]);
      }
    } else if (isSeq(node)) {
      (node.items as Node[]).forEach((item, index) => this.walk(item, [...keyPath, index]));
    } else if (isScalar(node)) {
      this.#scalar(node, keyPath);
    }
  }

  #scalar(node: Scalar, keyPath: FieldPath): void {
    if (node.comment && ANY_MARKER.test(node.comment)) {
      const rest = node.comment.replace(ANY_MARKER, "").trim();
      node.comment = rest === "" ? null : ` ${rest}`;
      this.changed = true;
    }
    if (typeof node.value !== "string") return;
    const key = keyPath.at(-1);
    const kind = classifyValue(node.value, { ...(key === undefined ? {} : { key }), environments: [this.from] });
    if (!kind) return;
    if (kind === "environment-name") {
      const renamed = replaceEnvironmentName(node.value, this.from, this.environment);
      this.renamed.push({ file: this.file, from: node.value, to: renamed });
      node.value = renamed;
    } else {
      node.comment = `${markerComment(this.environment, this.from)}${node.comment ? `;${node.comment}` : ""}`;
    }
    this.changed = true;
  }
}

/** `gitlab-smtp-staging` → `gitlab-smtp-qa`: the environment's name as a word, every time. */
export function replaceEnvironmentName(value: string, from: string, to: string): string {
  const escaped = from.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return value.replace(new RegExp(`(^|[^a-z0-9])${escaped}(?=[^a-z0-9]|$)`, "gi"), (_match, before: string) => `${before}${to}`);
}
