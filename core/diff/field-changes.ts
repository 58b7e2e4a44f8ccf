// A field-level diff of two versions of one Kubernetes object, the way a reviewer reads them: list
// entries matched by their merge key (a container by name, a volumeMount by mountPath), a reorder
// reported once as a reorder, and the metadata every chart bump rewrites marked as noise.
import { isRecord } from "../yaml-file.ts";
import { sameJson } from "./normalize.ts";

export type FieldChangeKind = "added" | "removed" | "changed" | "reordered";

export interface FieldChange {
  /** `spec.template.spec.containers[name=app].image`, `metadata.labels["helm.sh/chart"]`. */
  path: string;
  kind: FieldChangeKind;
  before?: unknown;
  after?: unknown;
  /** Chart-bump bookkeeping (helm.sh/chart, app.kubernetes.io/version, checksum/* annotations). */
  noise?: boolean;
  /** A Secret's key: which key changed is shown, never a value. */
  secretKey?: boolean;
}

/**
 * Lists matched by key, as strategic merge patch and server-side apply match them; the first
 * candidate that every entry on both sides carries, uniquely, is used.
 */
const LIST_KEYS: Readonly<Record<string, readonly string[]>> = {
  containers: ["name"],
  initContainers: ["name"],
  ephemeralContainers: ["name"],
  env: ["name"],
  ports: ["name", "containerPort", "port"],
  volumes: ["name"],
  volumeMounts: ["mountPath", "name"],
  volumeDevices: ["devicePath"],
  imagePullSecrets: ["name"],
  hostAliases: ["ip"],
  topologySpreadConstraints: ["topologyKey"],
};

const NOISE_LABELS = new Set(["helm.sh/chart", "app.kubernetes.io/version"]);

export function diffFields(before: unknown, after: unknown): FieldChange[] {
  const changes: FieldChange[] = [];
  walk(before, after, [], changes);
  return changes;
}

type Segment = { key: string } | { index: number } | { match: string; value: string | number };

function walk(before: unknown, after: unknown, at: readonly Segment[], out: FieldChange[]): void {
  if (sameJson(before, after)) return;
  if (isRecord(before) && isRecord(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    for (const key of keys) {
      const path = [...at, { key }];
      if (!Object.hasOwn(after, key)) out.push(change(path, "removed", before[key], undefined));
      else if (!Object.hasOwn(before, key)) out.push(change(path, "added", undefined, after[key]));
      else walk(before[key], after[key], path, out);
    }
    return;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    walkList(before, after, at, out);
    return;
  }
  out.push(change(at, "changed", before, after));
}

function walkList(before: readonly unknown[], after: readonly unknown[], at: readonly Segment[], out: FieldChange[]): void {
  const last = at.at(-1);
  const field = last && "key" in last ? last.key : "";
  const key = mergeKeyOf(field, before, after);
  if (key) {
    const valueOf = (item: unknown) => (item as Record<string, string | number>)[key]!;
    const beforeKeys = before.map(valueOf);
    const afterKeys = after.map(valueOf);
    for (const item of before) {
      const value = valueOf(item);
      const path = [...at, { match: key, value }];
      const counterpart = after.find((candidate) => valueOf(candidate) === value);
      if (counterpart === undefined) out.push(change(path, "removed", item, undefined));
      else walk(item, counterpart, path, out);
    }
    for (const item of after) {
      if (!beforeKeys.includes(valueOf(item))) out.push(change([...at, { match: key, value: valueOf(item) }], "added", undefined, item));
    }
    const common = (list: readonly (string | number)[], other: readonly (string | number)[]) =>
      list.filter((value) => other.includes(value));
    const orderBefore = common(beforeKeys, afterKeys);
    const orderAfter = common(afterKeys, beforeKeys);
    if (!sameJson(orderBefore, orderAfter)) out.push(change(at, "reordered", orderBefore, orderAfter));
    return;
  }
  if (before.length === after.length && isPermutation(before, after)) {
    out.push(change(at, "reordered", before, after));
    return;
  }
  if (before.length === after.length) {
    before.forEach((item, index) => walk(item, after[index], [...at, { index }], out));
    return;
  }
  out.push(change(at, "changed", before, after));
}

/** The merge key of a list: from LIST_KEYS for its field, else `name` when every entry has a unique one. */
function mergeKeyOf(field: string, before: readonly unknown[], after: readonly unknown[]): string | undefined {
  const candidates = LIST_KEYS[field] ?? ["name"];
  return candidates.find((candidate) => [before, after].every((list) => uniquelyKeyed(list, candidate)));
}

function uniquelyKeyed(list: readonly unknown[], key: string): boolean {
  const seen = new Set<string | number>();
  for (const item of list) {
    if (!isRecord(item)) return false;
    const value = item[key];
    if ((typeof value !== "string" && typeof value !== "number") || seen.has(value)) return false;
    seen.add(value);
  }
  return list.length > 0;
}

function isPermutation(before: readonly unknown[], after: readonly unknown[]): boolean {
  const counts = new Map<string, number>();
  for (const item of before) counts.set(canonical(item), (counts.get(canonical(item)) ?? 0) + 1);
  for (const item of after) {
    const count = counts.get(canonical(item)) ?? 0;
    if (count === 0) return false;
    counts.set(canonical(item), count - 1);
  }
  return !sameJson(before, after);
}

function change(at: readonly Segment[], kind: FieldChangeKind, before: unknown, after: unknown): FieldChange {
  return {
    path: formatPath(at),
    kind,
    ...(before !== undefined ? { before } : {}),
    ...(after !== undefined ? { after } : {}),
    ...(isNoise(at) ? { noise: true } : {}),
  };
}

/** A label or annotation that a chart bump rewrites on every object, wherever the metadata sits. */
function isNoise(at: readonly Segment[]): boolean {
  const last = at.at(-1);
  const parent = at.at(-2);
  if (!last || !parent || !("key" in last) || !("key" in parent)) return false;
  if (parent.key === "labels") return NOISE_LABELS.has(last.key);
  if (parent.key === "annotations") return last.key.startsWith("checksum/");
  return false;
}

export function formatPath(at: readonly Segment[]): string {
  let text = "";
  for (const segment of at) {
    if ("index" in segment) text += `[${segment.index}]`;
    else if ("match" in segment) text += `[${segment.match}=${typeof segment.value === "string" ? segment.value : String(segment.value)}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(segment.key)) text += `${text === "" ? "" : "."}${segment.key}`;
    else text += `[${JSON.stringify(segment.key)}]`;
  }
  return text === "" ? "." : text;
}

/** One line per change: `~ path: before → after`, values shortened; a Secret's keys carry no value. */
export function formatFieldChange(change: FieldChange, maxValue = 160): string {
  if (change.secretKey) return `${MARK[change.kind]} ${change.path}: ${change.kind} (value not shown)`;
  switch (change.kind) {
    case "added":
      return `+ ${change.path}: ${short(change.after, maxValue)}`;
    case "removed":
      return `- ${change.path}: ${short(change.before, maxValue)}`;
    case "changed":
      return `~ ${change.path}: ${short(change.before, maxValue)} → ${short(change.after, maxValue)}`;
    case "reordered":
      return `↕ ${change.path}: reordered ${short(change.before, maxValue)} → ${short(change.after, maxValue)}`;
  }
}

const MARK: Readonly<Record<FieldChangeKind, string>> = { added: "+", removed: "-", changed: "~", reordered: "↕" };

function short(value: unknown, max: number): string {
  // JSON.stringify(undefined) is undefined, whatever its declared type says.
  const text = (JSON.stringify(value) as string | undefined) ?? "undefined";
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    isRecord(inner) ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : inner,
  );
}
