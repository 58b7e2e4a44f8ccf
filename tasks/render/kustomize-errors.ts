// Turns kustomize's one-line error chains into a finding that names the file at fault.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { trimStderr } from "../../core/errors.ts";
import type { Finding } from "../../core/findings.ts";
import type { Overlay } from "../../core/fleet/model.ts";
import { findKustomizationFile } from "./kustomization-file.ts";

export async function describeKustomizeError(stderr: string, where: { root: string; wrapper: string; overlay: Overlay }): Promise<Finding> {
  const { root, wrapper, overlay } = where;
  // kustomize prints absolute paths; users know their repository-relative ones.
  const cleaned = trimStderr(stderr, 8)
    .replaceAll(`${wrapper}/`, "")
    .replaceAll(wrapper, "(overlay)")
    .replaceAll(`${root}/`, "")
    .replace(/^Error: /, "");
  const check = classify(cleaned);
  const file = (await fileAtFault(cleaned, root, overlay)) ?? overlay.path;
  const line = await lineOfReference(root, file, cleaned);
  return {
    severity: "error",
    check,
    file,
    ...(line ? { line } : {}),
    message: `kustomize build failed: ${cleaned}`,
    ...(check === "render/missing-base" ? { hint: "the overlay refers to a base or resource that does not exist" } : {}),
    ...(check === "render/patch-target" ? { hint: "the patch targets no resource of the base: check kind, name and namespace" } : {}),
  };
}

function classify(message: string): string {
  if (/no matches for (Id|OriginalId)|failed to find unique target for patch|no resource matches strategic merge patch|patch target/i.test(message)) {
    return "render/patch-target";
  }
  if (/must build at directory|no such file or directory|evalsymlink failure|unable to find one of/i.test(message)) return "render/missing-base";
  if (/yaml: |mapping values are not allowed|did not find expected|cannot unmarshal|MalformedYAMLError|invalid Kustomization/i.test(message)) {
    return "render/invalid-yaml";
  }
  return "render/kustomize";
}

/** The deepest repository file kustomize names; else the overlay's own kustomization. */
async function fileAtFault(message: string, root: string, overlay: Overlay): Promise<string | undefined> {
  const candidates = [...message.matchAll(/([\w.\-/]+\.ya?ml)/g)].map((match) => match[1]!).filter((file) => !file.startsWith("/"));
  for (const candidate of candidates.reverse()) {
    const normalized = path.posix.normalize(candidate);
    try {
      await readFile(path.join(root, normalized));
      return normalized;
    } catch {
      // not a repository file
    }
  }
  const name = await findKustomizationFile(path.join(root, overlay.path));
  return name ? `${overlay.path}/${name}` : undefined;
}

/** Finds the line of a kustomization that mentions the path quoted in the error, if any. */
async function lineOfReference(root: string, file: string, message: string): Promise<number | undefined> {
  if (!/kustomization\.ya?ml$|Kustomization$/.test(file)) return undefined;
  let text: string;
  try {
    text = await readFile(path.join(root, file), "utf8");
  } catch {
    return undefined;
  }
  const quoted = [...message.matchAll(/'([^']+)'/g)].map((match) => match[1]!);
  const lines = text.split("\n");
  for (const reference of quoted) {
    const base = reference.split("/").filter((part) => part && part !== "..").at(-1);
    if (!base) continue;
    const index = lines.findIndex((line) => !line.trimStart().startsWith("#") && line.includes(base));
    if (index >= 0) return index + 1;
  }
  return undefined;
}
