// `promote.paths` and `promote.exclude` in gitops-ci.yaml: `[Kind[/name]:]dotted.field.path`.
// `*` stands for one key (or kind, or name), `**` for any number of keys; a pattern also covers
// everything below the field it names. Kustomize `images:` entries are `Image/<name>:newTag`.
import { UserError } from "../errors.ts";
import type { FieldPath, Subject } from "../model/promotion.ts";

export interface FieldPattern {
  text: string;
  kind?: string;
  name?: string;
  path: string[];
}

export function parseFieldPattern(text: string, file?: string): FieldPattern {
  const colon = text.indexOf(":");
  const selector = colon >= 0 ? text.slice(0, colon) : "";
  const fields = colon >= 0 ? text.slice(colon + 1) : text;
  const path = fields.split(".").filter((segment) => segment !== "");
  const [kind, name, ...rest] = selector === "" ? [] : selector.split("/");
  if (path.length === 0 || rest.length > 0 || (selector !== "" && !kind)) {
    throw new UserError(`invalid promote field pattern "${text}"`, {
      ...(file ? { file } : {}),
      hint: "write [Kind[/name]:]field.path, e.g. HelmRelease/gitlab:spec.values.image.tag or spec.values.**.tag",
    });
  }
  return { text, path, ...(kind ? { kind } : {}), ...(name ? { name } : {}) };
}

export function matchesFieldPattern(pattern: FieldPattern, subject: Subject, path: FieldPath): boolean {
  const kind = subject.type === "image" ? "Image" : subject.kind;
  if (pattern.kind !== undefined && !glob(pattern.kind, kind)) return false;
  if (pattern.name !== undefined && !glob(pattern.name, subject.name)) return false;
  return matchPrefix(pattern.path, path.map(String));
}

/** True when the pattern matches the whole path or a leading part of it. */
function matchPrefix(pattern: readonly string[], path: readonly string[]): boolean {
  if (pattern.length === 0) return true;
  const [head, ...rest] = pattern;
  if (head === "**") {
    for (let skip = 0; skip <= path.length; skip += 1) if (matchPrefix(rest, path.slice(skip))) return true;
    return false;
  }
  if (path.length === 0) return false;
  return glob(head!, path[0]!) && matchPrefix(rest, path.slice(1));
}

function glob(pattern: string, value: string): boolean {
  if (!pattern.includes("*")) return pattern === value;
  const escaped = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${escaped.join(".*")}$`).test(value);
}
