// Turns kustomize's one-line error chains into a finding that names the file at fault.
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { trimStderr } from "../../core/errors.ts";
import type { Finding } from "../../core/model/findings.ts";
import type { Overlay } from "../../core/model/fleet.ts";
import { findKustomizationFile } from "../../core/kustomization-file.ts";

export async function describeKustomizeError(stderr: string, where: { root: string; overlay: Overlay }): Promise<Finding> {
  const { root, overlay } = where;
  // kustomize prints absolute paths; users know their repository-relative ones.
  const cleaned = trimStderr(stderr, 8)
    .replace(/^Error: /, "")
    .replace(/^kustomize build failed: /, "")
    .replaceAll(`${root}/`, "");
  const check = classify(cleaned);
  const { file, line } = await locateInChain(cleaned, root, overlay);
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
  if (
    /no matches for (Id|OriginalId)|failed to find unique target for patch|no resource matches strategic merge patch|patch target/i.test(
      message,
    )
  ) {
    return "render/patch-target";
  }
  if (/must build at directory|no such file or directory|evalsymlink failure|unable to find one of/i.test(message))
    return "render/missing-base";
  if (
    /yaml: |mapping values are not allowed|did not find expected|cannot unmarshal|MalformedYAMLError|invalid Kustomization/i.test(message)
  ) {
    return "render/invalid-yaml";
  }
  return "render/kustomize";
}

/**
 * Follows the quoted references of the chain ("accumulating resources from '../../base': …
 * from 'service.yaml'") from the overlay: the last existing file is the one at fault; when the
 * chain breaks, the kustomization that holds the broken reference is, at the line naming it.
 */
async function locateInChain(message: string, root: string, overlay: Overlay): Promise<{ file: string; line?: number }> {
  let dir = path.join(root, overlay.path);
  let faultyFile: string | undefined;
  let broken: string | undefined;
  for (const reference of [...message.matchAll(/'([^'\s]+)'/g)].map((match) => match[1]!)) {
    // Absolute paths were made repository-relative above, so try both readings; nothing outside
    // the repository is looked at, not even its metadata.
    let candidate = path.resolve(dir, reference);
    let kind = isInside(root, candidate) ? await kindOf(candidate) : undefined;
    if (kind === undefined && isInside(root, path.resolve(root, reference)) && (await kindOf(path.resolve(root, reference)))) {
      candidate = path.resolve(root, reference);
      kind = await kindOf(candidate);
    }
    if (kind === "dir") dir = candidate;
    else if (kind === "file") faultyFile = candidate;
    else if (!broken && !path.isAbsolute(reference)) broken = reference;
    if (kind === undefined && broken) break;
  }
  if (faultyFile) return { file: toRepoPath(root, faultyFile) };
  // Flux's generator checks the kustomization's own resources first: "lstat <path>: no such file".
  const missing = /lstat ([^:\s]+): no such file or directory/.exec(message)?.[1];
  if (!broken && missing) broken = path.relative(dir, path.resolve(root, missing)).split(path.sep).join("/");
  const kustomization = await findKustomizationFile(dir);
  if (!kustomization) return { file: toRepoPath(root, dir) };
  const file = path.join(dir, kustomization);
  const line = broken ? await lineMentioning(file, broken) : undefined;
  return { file: toRepoPath(root, file), ...(line ? { line } : {}) };
}

function isInside(root: string, file: string): boolean {
  const relative = path.relative(root, file);
  return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative));
}

async function kindOf(file: string): Promise<"dir" | "file" | undefined> {
  try {
    return (await stat(file)).isDirectory() ? "dir" : "file";
  } catch {
    return undefined;
  }
}

async function lineMentioning(file: string, reference: string): Promise<number | undefined> {
  try {
    const lines = (await readFile(file, "utf8")).split("\n");
    const index = lines.findIndex((line) => !line.trimStart().startsWith("#") && line.includes(reference));
    return index >= 0 ? index + 1 : undefined;
  } catch {
    return undefined;
  }
}

function toRepoPath(root: string, absolute: string): string {
  return path.relative(root, absolute).split(path.sep).join("/");
}
