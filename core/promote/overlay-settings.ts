// Reads what an overlay sets on top of its base, field by field: kustomize `images:` entries,
// strategic-merge patches, JSON 6902 patches (files and inline), and the objects the overlay
// defines itself. Works on text; files outside the overlay folder (shared between environments)
// are not the overlay's own and are left out.
import path from "node:path";
import { isMap, isScalar, isSeq, type Document, type Node, type YAMLMap } from "yaml";
import { KUSTOMIZATION_FILES } from "../kustomization-file.ts";
import { isRecord } from "../yaml-file.ts";
import { isSecretFile, SECRET_KINDS } from "./environment-values.ts";
import type { FieldPath, OverlayFiles, OverlaySetting, OverlaySettings, PatchEntry, Subject, YamlContainer } from "../model/promotion.ts";
import { subjectKey } from "../model/promotion.ts";
import { YamlWorkspace } from "./yaml-workspace.ts";

/** Fields of a patch document that identify its object rather than set anything. */
const IDENTITY_FIELDS: readonly FieldPath[] = [["apiVersion"], ["kind"], ["metadata", "name"], ["metadata", "namespace"]];

export function readOverlaySettings(overlay: OverlayFiles, workspace = new YamlWorkspace(overlay.files)): OverlaySettings {
  const result: OverlaySettings = {
    environment: overlay.environment,
    dir: overlay.dir,
    settings: [],
    resourceSubjects: new Map(),
    problems: [],
  };
  const kustomizationFile = KUSTOMIZATION_FILES.find((name) => overlay.files.has(name));
  if (!kustomizationFile) {
    result.problems.push(`${overlay.dir} has no kustomization.yaml: only overlays with one are compared`);
    return result;
  }
  result.kustomizationFile = kustomizationFile;
  const kustomization = workspace.documents(kustomizationFile)[0];
  const spec = kustomization?.toJS() as unknown;
  if (!kustomization || !isRecord(spec)) {
    result.problems.push(`${overlay.dir}/${kustomizationFile} is not a valid kustomization`);
    return result;
  }
  readImages(spec, kustomizationFile, result);

  const resolve = (reference: string): string | undefined => {
    const relative = path.posix.normalize(path.posix.join(path.posix.dirname(kustomizationFile), reference));
    return relative.startsWith("../") || relative === ".." ? undefined : relative;
  };

  for (const field of ["patches", "patchesStrategicMerge", "patchesJson6902"] as const) {
    const entries = spec[field];
    if (!Array.isArray(entries)) continue;
    entries.forEach((raw: unknown, index) => {
      const entry: PatchEntry = { field, index, ...(isRecord(raw) && isRecord(raw["target"]) ? { target: raw["target"] } : {}) };
      let container: Omit<YamlContainer, "document"> | undefined;
      if (typeof raw === "string") {
        // patchesStrategicMerge: a path, or an inline document.
        container = raw.includes("\n") ? { file: kustomizationFile, inline: [field, index] } : fileContainer(raw);
      } else if (isRecord(raw) && typeof raw["path"] === "string") {
        container = fileContainer(raw["path"]);
      } else if (isRecord(raw) && typeof raw["patch"] === "string") {
        container = { file: kustomizationFile, inline: [field, index, "patch"] };
      }
      if (!container) return;
      workspace.containerDocuments(container).forEach((document, documentIndex) => {
        readPatchDocument(document, { ...container, document: documentIndex }, entry, result);
      });
    });
  }

  const resources = spec["resources"];
  if (Array.isArray(resources)) {
    for (const reference of resources) {
      if (typeof reference !== "string") continue;
      const file = resolve(reference);
      if (!file || !overlay.files.has(file)) continue;
      if (isSecretFile(file, overlay.files.get(file))) continue;
      workspace.documents(file).forEach((document, documentIndex) => {
        const object = document.toJS() as unknown;
        if (!isRecord(object)) return;
        const subject = objectSubject(object);
        if (!subject) return;
        if (SECRET_KINDS.has(subject.kind)) return;
        result.resourceSubjects.set(subjectKey(subject), subject);
        flattenMap(document, document.contents as Node, [], (fieldPath, value, nodePath) => {
          result.settings.push({
            subject,
            path: fieldPath,
            value,
            form: "resource",
            container: { file, document: documentIndex },
            nodePath,
            ...documentHeader(object),
          });
        });
      });
    }
  }
  return result;

  function fileContainer(reference: string): Omit<YamlContainer, "document"> | undefined {
    const file = resolve(reference);
    if (!file) return undefined;
    if (!overlay.files.has(file)) {
      result.problems.push(`${overlay.dir}/${kustomizationFile} lists ${reference}, which does not exist`);
      return undefined;
    }
    return { file };
  }
}

function readImages(spec: Record<string, unknown>, file: string, result: OverlaySettings): void {
  const images = spec["images"];
  if (!Array.isArray(images)) return;
  images.forEach((entry: unknown, index) => {
    if (!isRecord(entry) || typeof entry["name"] !== "string") return;
    const subject: Subject = { type: "image", name: entry["name"] };
    for (const field of ["newName", "newTag", "digest"]) {
      if (entry[field] === undefined) continue;
      result.settings.push({
        subject,
        path: [field],
        value: entry[field],
        form: "images",
        container: { file, document: 0 },
        nodePath: ["images", index, field],
      });
    }
  });
}

function readPatchDocument(document: Document, container: YamlContainer, entry: PatchEntry, result: OverlaySettings): void {
  const contents = document.contents;
  if (isSeq(contents)) {
    const subject = selectorSubject(entry.target);
    if (!subject) {
      result.problems.push(`a JSON 6902 patch in ${where(result, container)} has no target kind and name: left out`);
      return;
    }
    contents.items.forEach((item, index) => {
      const operation = isMap(item) ? (item.toJSON() as Record<string, unknown>) : undefined;
      const op = operation?.["op"];
      const pointer = operation?.["path"];
      if (!operation || (op !== "add" && op !== "replace") || typeof pointer !== "string" || !("value" in operation)) return;
      const opPath = parsePointer(pointer);
      const valueNode = (item as YAMLMap).get("value", true) as Node;
      const push = (fieldPath: FieldPath, value: unknown, nodePath: FieldPath) =>
        result.settings.push({
          subject,
          path: fieldPath,
          value,
          form: "json6902",
          container,
          nodePath,
          operation: { index, op, path: opPath },
          entry,
        });
      if (isMap(valueNode) && valueNode.items.length > 0) {
        flattenMap(
          document,
          valueNode,
          [],
          (fieldPath, value, nodePath) => push([...opPath, ...fieldPath], value, [index, "value", ...nodePath]),
          false,
        );
      } else {
        push(opPath, operation["value"], [index, "value"]);
      }
    });
    return;
  }
  if (!isMap(contents)) return;
  const object = document.toJS() as Record<string, unknown>;
  const subject = selectorSubject(entry.target) ?? objectSubject(object);
  if (!subject) {
    result.problems.push(`a patch in ${where(result, container)} names no kind and name: left out`);
    return;
  }
  if (SECRET_KINDS.has(subject.kind)) return;
  flattenMap(document, contents, [], (fieldPath, value, nodePath) => {
    result.settings.push({
      subject,
      path: fieldPath,
      value,
      form: "strategic-merge",
      container,
      nodePath,
      entry,
      ...documentHeader(object),
    });
  });
}

/** Every leaf below a map: scalars, whole sequences, empty maps. Skips identity fields and `$patch` directives. */
function flattenMap(
  document: Document,
  node: Node,
  prefix: FieldPath,
  visit: (fieldPath: FieldPath, value: unknown, nodePath: FieldPath) => void,
  skipIdentity = true,
): void {
  if (!isMap(node)) return;
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? pair.key.value : pair.key;
    if (typeof key !== "string" && typeof key !== "number") continue;
    if (typeof key === "string" && key.startsWith("$")) continue;
    const fieldPath = [...prefix, key];
    if (skipIdentity && prefix.length <= 1 && IDENTITY_FIELDS.some((identity) => samePath(identity, fieldPath))) continue;
    const value = pair.value as Node | null | undefined;
    if (isMap(value) && value.items.length > 0) {
      flattenMap(document, value, fieldPath, visit, skipIdentity);
      continue;
    }
    visit(fieldPath, value === null || value === undefined ? null : value.toJS(document), fieldPath);
  }
}

function samePath(a: FieldPath, b: FieldPath): boolean {
  return a.length === b.length && a.every((segment, index) => segment === b[index]);
}

function objectSubject(object: Record<string, unknown>): (Subject & { type: "object" }) | undefined {
  const metadata = isRecord(object["metadata"]) ? object["metadata"] : {};
  if (typeof object["kind"] !== "string" || typeof metadata["name"] !== "string") return undefined;
  return { type: "object", kind: object["kind"], name: metadata["name"] };
}

function selectorSubject(target: Record<string, unknown> | undefined): (Subject & { type: "object" }) | undefined {
  if (!target || typeof target["kind"] !== "string" || typeof target["name"] !== "string") return undefined;
  return { type: "object", kind: target["kind"], name: target["name"] };
}

function documentHeader(object: Record<string, unknown>): Pick<OverlaySetting, "apiVersion" | "namespace"> {
  const metadata = isRecord(object["metadata"]) ? object["metadata"] : {};
  return {
    ...(typeof object["apiVersion"] === "string" ? { apiVersion: object["apiVersion"] } : {}),
    ...(typeof metadata["namespace"] === "string" ? { namespace: metadata["namespace"] } : {}),
  };
}

/** RFC 6901: `/spec/rules/0/host` → ["spec", "rules", 0, "host"]. */
export function parsePointer(pointer: string): FieldPath {
  if (pointer === "" || pointer === "/") return [];
  return pointer
    .replace(/^\//, "")
    .split("/")
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

export function formatPointer(path: FieldPath): string {
  return `/${path.map((segment) => String(segment).replace(/~/g, "~0").replace(/\//g, "~1")).join("/")}`;
}

function where(result: OverlaySettings, container: YamlContainer): string {
  return `${result.dir}/${container.file}${container.inline ? " (inline patch)" : ""}`;
}
