// Points a finding about a rendered object at the line of its source file: the field itself when
// the source has it, else the document that declares the object.
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { ResourceRef } from "./model/findings.ts";
import { isRecord, parseYaml, type ParsedYaml, type YamlDocument } from "./yaml-file.ts";

export class SourceLocator {
  readonly root: string;
  readonly #files = new Map<string, Promise<ParsedYaml | undefined>>();

  constructor(root: string) {
    this.root = root;
  }

  async lineOf(file: string, resource: ResourceRef, fieldPath: readonly (string | number)[] = []): Promise<number | undefined> {
    const parsed = await this.#parse(file);
    if (!parsed) return undefined;
    const document = findDocument(parsed.documents, resource);
    if (!document) return undefined;
    if (fieldPath.length === 0) return document.line;
    return parsed.lineAt(document, fieldPath) ?? document.line;
  }

  /** The line of the field itself, or undefined when the file's document does not set it. */
  async fieldLineOf(file: string, resource: ResourceRef, fieldPath: readonly (string | number)[]): Promise<number | undefined> {
    const parsed = await this.#parse(file);
    if (!parsed) return undefined;
    const document = findDocument(parsed.documents, resource);
    return document ? parsed.lineAt(document, fieldPath) : undefined;
  }

  #parse(file: string): Promise<ParsedYaml | undefined> {
    let parsed = this.#files.get(file);
    if (!parsed) {
      parsed = readFile(path.join(this.root, file), "utf8").then(
        (text) => parseYaml(text, file),
        () => undefined,
      );
      this.#files.set(file, parsed);
    }
    return parsed;
  }
}

/** The rendered name may carry a prefix or suffix from the overlay; the source has the bare name. */
function findDocument(documents: readonly YamlDocument[], resource: ResourceRef): YamlDocument | undefined {
  const sameKind = documents.filter((document) => isRecord(document.value) && document.value["kind"] === resource.kind);
  const nameOf = (document: YamlDocument) => {
    const metadata = isRecord(document.value) && isRecord(document.value["metadata"]) ? document.value["metadata"] : {};
    return typeof metadata["name"] === "string" ? metadata["name"] : "";
  };
  return (
    sameKind.find((document) => nameOf(document) === resource.name) ??
    sameKind
      .filter((document) => nameOf(document) !== "" && resource.name.includes(nameOf(document)))
      .sort((a, b) => nameOf(b).length - nameOf(a).length)[0] ??
    (sameKind.length === 1 ? sameKind[0] : undefined)
  );
}

/** kubeconform reports JSON pointers like /spec/template/spec/containers/0/image. */
export function pointerToFieldPath(pointer: string): (string | number)[] {
  return pointer
    .split("/")
    .filter(Boolean)
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}
