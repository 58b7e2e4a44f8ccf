// The vocabulary of promotion: what an overlay sets (a setting: a field of an object, or a field of
// a kustomize `images:` entry), where it writes it, and what a promotion decided about each one.

/** A field inside an object, as keys and sequence indexes: ["spec", "chart", "spec", "version"]. */
export type FieldPath = readonly (string | number)[];

/** What a setting configures: an object the overlay renders, or a kustomize `images:` entry. */
export type Subject = { type: "object"; kind: string; name: string } | { type: "image"; name: string };

/**
 * A YAML text that holds settings: a file of the overlay, or an inline patch (`patch: |`) kept as
 * a string inside the overlay's kustomization.
 */
export interface YamlContainer {
  /** Overlay-relative file. */
  file: string;
  /** Path of the inline patch's string inside the kustomization document. */
  inline?: FieldPath;
  /** Index of the document inside the file or the inline text. */
  document: number;
}

/** How the overlay writes a setting. */
export type SettingForm = "images" | "strategic-merge" | "json6902" | "resource";

/** The kustomization entry that lists a patch. */
export interface PatchEntry {
  field: "patches" | "patchesStrategicMerge" | "patchesJson6902";
  index: number;
  /** The entry's `target:` selector, when it has one. */
  target?: Record<string, unknown>;
}

export interface OverlaySetting {
  subject: Subject;
  path: FieldPath;
  /** A scalar, a whole sequence (lists are replaced, not merged, in most objects), or an empty map. */
  value: unknown;
  form: SettingForm;
  container: YamlContainer;
  /** Path of the value's node inside the container document. */
  nodePath: FieldPath;
  /** JSON 6902 operations: the operation's index in its list, its `op` and its own path. */
  operation?: { index: number; op: string; path: FieldPath };
  entry?: PatchEntry;
  /** apiVersion and namespace of the document (strategic-merge patches and resources). */
  apiVersion?: string;
  namespace?: string;
}

/** An overlay's files, read by the task so that everything below works on text. */
export interface OverlayFiles {
  environment: string;
  /** Repository-relative folder. */
  dir: string;
  /** Overlay-relative path → content, every file below the folder. */
  files: ReadonlyMap<string, string>;
}

export interface OverlaySettings {
  environment: string;
  dir: string;
  /** Overlay-relative name of the kustomization file, when there is one. */
  kustomizationFile?: string;
  settings: OverlaySetting[];
  /** Subjects (by subjectKey) the overlay defines itself in its resources. */
  resourceSubjects: Map<string, Subject>;
  /** What could not be read, in words: kept out of the comparison. */
  problems: string[];
}

/** Why a value is left alone in the target: it belongs to that environment. */
export type EnvironmentSpecificKind =
  "ip" | "cidr" | "url" | "email" | "hostname" | "environment-name" | "secret" | "capacity" | "excluded";

/** Why a difference is promoted. */
export type PromotionReason = "image" | "chart-version" | "version" | "configured-path" | "new-override";

/** One field that differs between the source and the target environment. */
export interface FieldDifference {
  layer: string;
  subject: Subject;
  path: FieldPath;
  /** The source environment's value. */
  value: unknown;
  /** The target's own value; absent when the target inherits the base. */
  previous?: unknown;
  targetHasValue: boolean;
  /** Source overlay-relative file the value comes from. */
  sourceFile: string;
}

export interface Promotion extends FieldDifference {
  reason: PromotionReason;
  /** Target overlay-relative file the value is written to (set when the edit is planned). */
  targetFile?: string;
}

/** Why a difference stays: environment-specific, set on purpose in both, or not promotable. */
export type KeptReason = EnvironmentSpecificKind | "set-in-both" | "only-in-source" | "conflict";

export interface KeptDifference extends FieldDifference {
  reason: KeptReason;
  /** Why a promotion could not be written (reason "conflict"). */
  detail?: string;
}

export function subjectKey(subject: Subject): string {
  return subject.type === "image" ? `Image/${subject.name}` : `${subject.kind}/${subject.name}`;
}

export function describeSubject(subject: Subject): string {
  return subject.type === "image" ? `image ${subject.name}` : `${subject.kind} ${subject.name}`;
}

export function formatFieldPath(path: FieldPath): string {
  return path.map((segment, index) => (typeof segment === "number" ? `[${segment}]` : index === 0 ? segment : `.${segment}`)).join("");
}

export function settingKey(subject: Subject, path: FieldPath): string {
  return `${subjectKey(subject)}\u0000${path.map(String).join("\u0000")}`;
}
