// The fields of an object that a reviewer should see change, as Flux's drift detection compares
// them: everything but status, and of metadata only name, namespace, labels and annotations.
// What the server sets on every write (managedFields, resourceVersion, uid, generation,
// creationTimestamp, …) is left out, so a dry-run result and the live object compare equal when
// applying would change nothing.
import { stringify } from "yaml";
import { isRecord } from "../yaml-file.ts";

/** Annotations written by clients or controllers as bookkeeping, not intent. */
const IGNORED_ANNOTATIONS = new Set(["kubectl.kubernetes.io/last-applied-configuration"]);

const KEPT_METADATA = ["name", "namespace", "labels", "annotations"] as const;

export function fieldsThatMatter(object: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(object);
  delete copy["status"];
  const metadata = isRecord(copy["metadata"]) ? copy["metadata"] : {};
  const kept: Record<string, unknown> = {};
  for (const key of KEPT_METADATA) if (metadata[key] !== undefined) kept[key] = metadata[key];
  if (isRecord(kept["annotations"])) {
    for (const key of Object.keys(kept["annotations"])) if (IGNORED_ANNOTATIONS.has(key)) delete kept["annotations"][key];
  }
  for (const key of ["labels", "annotations"]) if (isRecord(kept[key]) && Object.keys(kept[key]).length === 0) delete kept[key];
  copy["metadata"] = kept;
  return copy;
}

/** Deep equality of JSON values, key order ignored. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, index) => sameJson(item, b[index]));
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((key) => Object.hasOwn(b, key) && sameJson(a[key], b[key]));
  }
  return false;
}

/** Stable YAML for diffs: keys sorted, no line folding. */
export function toDiffYaml(object: Record<string, unknown>): string {
  return stringify(object, { sortMapEntries: true, lineWidth: 0 });
}
