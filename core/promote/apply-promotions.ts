// Writes planned promotions into the target overlay's files. Where the target already sets a field,
// that value is replaced in place. Where it inherits the base, the value goes where the source
// keeps it: the patch file of the same name (and object) when the target has one, else a new
// patch in the same form (file or inline, strategic-merge or JSON 6902, same `target:`) listed in
// the target's kustomization; images go into the target's `images:`.
import path from "node:path";
import { isScalar, Scalar, type Document } from "yaml";
import { isRecord } from "../yaml-file.ts";
import type { PlannedPromotion } from "./find-promotions.ts";
import { sameValue } from "./find-promotions.ts";
import type { KeptDifference, OverlaySetting, OverlaySettings, Promotion, YamlContainer } from "../model/promotion.ts";
import { formatPointer } from "./overlay-settings.ts";
import { appendToSequence, newDocument, replaceValue, setCreating, type YamlWorkspace } from "./yaml-workspace.ts";

export interface AppliedPromotions {
  promotions: Promotion[];
  /** Promotions that could not be written (the field's parent is not a map there, no kustomization). */
  conflicts: KeptDifference[];
  /** Overlay-relative file → new content, for every file that changed or was created. */
  files: Map<string, string>;
}

export function applyPromotions(
  planned: readonly PlannedPromotion[],
  target: OverlaySettings,
  sourceWorkspace: YamlWorkspace,
  targetWorkspace: YamlWorkspace,
): AppliedPromotions {
  const writer = new OverlayWriter(target, sourceWorkspace, targetWorkspace, planned);
  const promotions: Promotion[] = [];
  const conflicts: KeptDifference[] = [];
  for (const promotion of planned) {
    const { source: _source, target: _target, ...plain } = promotion;
    try {
      const targetFile = writer.write(promotion);
      promotions.push({ ...plain, targetFile });
    } catch (error) {
      conflicts.push({ ...plain, reason: "conflict", detail: error instanceof Error ? error.message : String(error) });
    }
  }
  return { promotions, conflicts, files: targetWorkspace.changedFiles() };
}

class OverlayWriter {
  /** Containers created in this run, by the source container (and operation) they mirror. */
  readonly #created = new Map<string, YamlContainer>();
  /** JSON 6902 operations already copied whole. */
  readonly #copiedOperations = new Set<string>();

  readonly target: OverlaySettings;
  readonly sourceWorkspace: YamlWorkspace;
  readonly workspace: YamlWorkspace;
  readonly planned: readonly PlannedPromotion[];

  constructor(target: OverlaySettings, sourceWorkspace: YamlWorkspace, workspace: YamlWorkspace, planned: readonly PlannedPromotion[]) {
    this.target = target;
    this.sourceWorkspace = sourceWorkspace;
    this.workspace = workspace;
    this.planned = planned;
  }

  /** Writes one promotion; returns the target file it went to. */
  write(promotion: PlannedPromotion): string {
    const existing = promotion.target;
    if (existing) {
      const document = this.#document(existing.container);
      replaceValue(document, existing.nodePath, promotion.value);
      this.workspace.touch(existing.container);
      return existing.container.file;
    }
    const source = promotion.source;
    switch (source.form) {
      case "images":
        return this.#writeImage(source, promotion.value);
      case "resource":
        return this.#writeIntoResource(source, promotion.value);
      case "strategic-merge":
        return this.#writeStrategicMerge(source, promotion.value);
      case "json6902":
        return this.#writeJson6902(source, promotion.value);
    }
  }

  #document(container: YamlContainer): Document {
    const document = this.workspace.document(container);
    if (!document) throw new Error(`cannot read ${container.file}`);
    return document;
  }

  #kustomization(): { file: string; document: Document } {
    const file = this.target.kustomizationFile;
    const document = file ? this.workspace.documents(file)[0] : undefined;
    if (!file || !document) throw new Error("the target overlay has no kustomization");
    return { file, document };
  }

  #writeImage(source: OverlaySetting, value: unknown): string {
    const { file, document } = this.#kustomization();
    const name = source.subject.name;
    const images = (document.toJS() as Record<string, unknown>)["images"];
    const index = Array.isArray(images) ? images.findIndex((entry) => isRecord(entry) && entry["name"] === name) : -1;
    const field = source.path[0]!;
    if (index >= 0) setCreating(document, ["images", index, field], value);
    else appendToSequence(document, ["images"], { name, [field]: value });
    this.workspace.touch({ file });
    return file;
  }

  #writeIntoResource(source: OverlaySetting, value: unknown): string {
    const holder = this.target.settings.find((setting) => setting.form === "resource" && sameSubject(setting, source));
    if (!holder) throw new Error(`the target does not define ${source.subject.name}`);
    const container = { file: holder.container.file, document: holder.container.document };
    setCreating(this.#document(container), source.path, value);
    this.workspace.touch(container);
    return container.file;
  }

  #writeStrategicMerge(source: OverlaySetting, value: unknown): string {
    const container = this.#strategicMergeContainer(source);
    setCreating(this.#document(container), source.nodePath, value);
    this.workspace.touch(container);
    return container.file;
  }

  #strategicMergeContainer(source: OverlaySetting): YamlContainer {
    // The patch of the same name, for the same object, when the target has one.
    const sameFile = this.target.settings.find(
      (setting) =>
        setting.form === "strategic-merge" &&
        !setting.container.inline &&
        !source.container.inline &&
        setting.container.file === source.container.file &&
        sameSubject(setting, source),
    );
    if (sameFile) return sameFile.container;
    const key = containerKey(source.container);
    const created = this.#created.get(key);
    if (created) return created;
    const header = this.#sourceHeader(source);
    const container = this.#createPatch(source, newDocument(header));
    this.#created.set(key, container);
    return container;
  }

  #writeJson6902(source: OverlaySetting, value: unknown): string {
    const operation = source.operation!;
    const sameFile = this.target.settings.find(
      (setting) =>
        setting.form === "json6902" &&
        sameSubject(setting, source) &&
        (source.container.inline
          ? setting.container.inline !== undefined && sameValue(setting.entry?.target, source.entry?.target)
          : setting.container.file === source.container.file && !setting.container.inline),
    );
    const key = containerKey(source.container);
    let container = sameFile?.container ?? this.#created.get(key);
    if (!container) {
      container = this.#createPatch(source, newDocument([]));
      this.#created.set(key, container);
    }
    const document = this.#document(container);
    const operationKey = `${key}#${operation.index}`;
    const sourceDocument = this.sourceWorkspace.document(source.container);
    const original = sourceDocument?.getIn([operation.index], true) as { toJS(document: Document): unknown } | undefined;
    const originalValue = sourceDocument?.getIn([operation.index, "value"], true) as { toJS(document: Document): unknown } | undefined;
    // When every field of the source operation is promoted (and none was written in place), copy
    // the operation as it is, once; otherwise add the promoted fields one by one.
    const promotedHere = this.planned.filter(
      (other) => !other.target && containerKey(other.source.container) === key && other.source.operation?.index === operation.index,
    ).length;
    const leaves = originalValue && sourceDocument ? countLeaves(originalValue.toJS(sourceDocument)) : 1;
    if (original && sourceDocument && promotedHere === leaves) {
      if (!this.#copiedOperations.has(operationKey)) {
        appendToSequence(document, [], original.toJS(sourceDocument));
        this.#copiedOperations.add(operationKey);
      }
    } else {
      appendToSequence(document, [], { op: "add", path: formatPointer(source.path), value });
    }
    this.workspace.touch(container);
    return container.file;
  }

  /** apiVersion, kind and metadata of the source's patch document, for a new patch of the same object. */
  #sourceHeader(source: OverlaySetting): Record<string, unknown> {
    const object = this.sourceWorkspace.document(source.container)?.toJS() as unknown;
    const metadata = isRecord(object) && isRecord(object["metadata"]) ? object["metadata"] : {};
    const subject = source.subject as { kind: string; name: string };
    return {
      apiVersion: isRecord(object) && typeof object["apiVersion"] === "string" ? object["apiVersion"] : source.apiVersion,
      kind: isRecord(object) && typeof object["kind"] === "string" ? object["kind"] : subject.kind,
      metadata: {
        name: typeof metadata["name"] === "string" ? metadata["name"] : subject.name,
        ...(typeof metadata["namespace"] === "string" ? { namespace: metadata["namespace"] } : {}),
      },
    };
  }

  /** A new patch in the target mirroring the source's: the same file name (when free) or inline, the same `target:`. */
  #createPatch(source: OverlaySetting, document: Document): YamlContainer {
    const { file: kustomizationFile, document: kustomization } = this.#kustomization();
    const target = source.entry?.target;
    if (source.container.inline) {
      const index = appendToSequence(kustomization, ["patches"], { patch: "", ...(target ? { target } : {}) });
      const inlinePath = ["patches", index, "patch"];
      const holder = kustomization.getIn(inlinePath, true);
      if (isScalar(holder)) holder.type = Scalar.BLOCK_LITERAL;
      this.workspace.createInline(kustomizationFile, inlinePath, [document]);
      this.workspace.touch({ file: kustomizationFile });
      return { file: kustomizationFile, inline: inlinePath, document: 0 };
    }
    const file = this.#freeName(source.container.file);
    this.workspace.create(file, [document]);
    appendToSequence(kustomization, ["patches"], { path: file, ...(target ? { target } : {}) });
    this.workspace.touch({ file: kustomizationFile });
    return { file, document: 0 };
  }

  #freeName(wanted: string): string {
    if (!this.workspace.has(wanted)) return wanted;
    const extension = path.posix.extname(wanted);
    const stem = wanted.slice(0, wanted.length - extension.length);
    for (let attempt = 1; ; attempt += 1) {
      const candidate = `${stem}-promoted${attempt === 1 ? "" : `-${attempt}`}${extension}`;
      if (!this.workspace.has(candidate)) return candidate;
    }
  }
}

function sameSubject(a: OverlaySetting, b: OverlaySetting): boolean {
  return (
    a.subject.type === b.subject.type &&
    a.subject.name === b.subject.name &&
    (a.subject.type === "image" || (b.subject.type === "object" && a.subject.kind === b.subject.kind))
  );
}

function containerKey(container: YamlContainer): string {
  return `${container.file}\u0000${container.inline?.join("\u0000") ?? ""}\u0000${container.document}`;
}

function countLeaves(value: unknown): number {
  if (isRecord(value) && Object.keys(value).length > 0)
    return Object.values(value).reduce<number>((sum, item) => sum + countLeaves(item), 0);
  return 1;
}
