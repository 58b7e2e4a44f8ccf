// Resolves a Flux Kustomization's postBuild variables from the repository and applies them to
// rendered objects, as kustomize-controller does after `kustomize build`.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parse, stringify } from "yaml";
import type { Finding } from "../findings.ts";
import type { FluxKustomizationRef } from "../fleet/model.ts";
import type { Manifest } from "../manifests.ts";
import { isYamlFile, listRepoFiles } from "../repo-files.ts";
import { isRecord, parseYaml } from "../yaml-file.ts";
import { SUBSTITUTE_ANNOTATION, substituteVariables } from "./envsubst.ts";

interface VariableSource {
  kind: "ConfigMap" | "Secret";
  name: string;
  namespace: string | undefined;
  file: string;
  data: Record<string, string>;
  /** SOPS-encrypted or sealed: the values exist only in the cluster. */
  encrypted: boolean;
}

/** Every ConfigMap and Secret in the repository that could feed substituteFrom, read once. */
export class VariableSources {
  readonly #root: string;
  #sources: Promise<VariableSource[]> | undefined;

  constructor(root: string) {
    this.#root = root;
  }

  all(): Promise<VariableSource[]> {
    this.#sources ??= this.#load();
    return this.#sources;
  }

  async #load(): Promise<VariableSource[]> {
    const sources: VariableSource[] = [];
    for (const file of (await listRepoFiles(this.#root)).filter(isYamlFile)) {
      const text = await readFile(path.join(this.#root, file), "utf8").catch(() => "");
      if (!/kind:\s*(ConfigMap|Secret)\b/.test(text)) continue;
      for (const document of parseYaml(text, file).documents) {
        const object = document.value;
        if (!isRecord(object) || (object["kind"] !== "ConfigMap" && object["kind"] !== "Secret")) continue;
        const metadata = isRecord(object["metadata"]) ? object["metadata"] : {};
        if (typeof metadata["name"] !== "string") continue;
        const encrypted = "sops" in object;
        const data: Record<string, string> = {};
        if (isRecord(object["data"])) {
          for (const [key, value] of Object.entries(object["data"])) {
            data[key] = object["kind"] === "Secret" && !encrypted ? Buffer.from(String(value), "base64").toString("utf8") : String(value);
          }
        }
        if (isRecord(object["stringData"])) for (const [key, value] of Object.entries(object["stringData"])) data[key] = String(value);
        sources.push({
          kind: object["kind"],
          name: metadata["name"],
          namespace: typeof metadata["namespace"] === "string" ? metadata["namespace"] : undefined,
          file,
          data,
          encrypted,
        });
      }
    }
    return sources;
  }
}

export interface PostBuildResult {
  manifests: Manifest[];
  findings: Finding[];
  /** Values that came from Secrets: the caller registers them with the redactor. */
  secretValues: string[];
}

export async function applyPostBuild(flux: FluxKustomizationRef, manifests: Manifest[], sources: VariableSources): Promise<PostBuildResult> {
  const postBuild = flux.postBuild;
  if (!postBuild) return { manifests, findings: [], secretValues: [] };
  const findings: Finding[] = [];
  const secretValues: string[] = [];
  const variables: Record<string, string> = {};
  const unknowable = new Set<string>();
  const fluxDir = path.posix.dirname(flux.location.file);

  for (const reference of postBuild.substituteFrom ?? []) {
    const candidates = (await sources.all()).filter(
      (source) => source.kind === reference.kind && source.name === reference.name && (source.namespace ?? flux.namespace) === flux.namespace,
    );
    // Prefer the one committed beside the Flux Kustomization (the cluster's own folder).
    const source = candidates.find((c) => c.file.startsWith(`${fluxDir}/`)) ?? (candidates.length === 1 ? candidates[0] : undefined);
    if (!source) {
      if (!reference.optional) {
        findings.push({
          severity: candidates.length > 1 ? "warning" : "error",
          check: "render/substitute-from",
          file: flux.location.file,
          ...(flux.location.line ? { line: flux.location.line } : {}),
          message:
            candidates.length > 1
              ? `substituteFrom ${reference.kind} ${reference.name}: ${candidates.length} candidates in the repository (${candidates.map((c) => c.file).join(", ")}); none beside ${flux.location.file}`
              : `substituteFrom ${reference.kind} ${reference.name} is not in the repository; Flux would fail this Kustomization unless it exists in the cluster`,
          hint: "mark it optional: true if the cluster provides it",
        });
      }
      continue;
    }
    for (const [key, value] of Object.entries(source.data)) {
      if (source.encrypted) unknowable.add(key);
      else {
        variables[key] = value;
        if (source.kind === "Secret") secretValues.push(value);
      }
    }
  }
  Object.assign(variables, postBuild.substitute ?? {});
  for (const key of Object.keys(postBuild.substitute ?? {})) unknowable.delete(key);

  const missing = new Set<string>();
  const result = manifests.map((manifest) => {
    const metadata = isRecord(manifest.object["metadata"]) ? manifest.object["metadata"] : {};
    const annotations = isRecord(metadata["annotations"]) ? metadata["annotations"] : {};
    if (annotations[SUBSTITUTE_ANNOTATION] === "disabled") return manifest;
    const text = stringify(manifest.object, { lineWidth: 0 });
    if (!text.includes("${")) return manifest;
    // Variables held in encrypted sources keep their ${name} form: their values are not ours to know.
    const known = { ...variables };
    for (const name of unknowable) known[name] = `\${${name}}`;
    const substituted = substituteVariables(text, known);
    substituted.missing.forEach((name) => missing.add(name));
    const object = parse(substituted.text) as Record<string, unknown>;
    return { ...manifest, object };
  });
  for (const name of missing) {
    findings.push({
      severity: "warning",
      check: "render/substitute-missing",
      file: flux.location.file,
      ...(flux.location.line ? { line: flux.location.line } : {}),
      message: `\${${name}} has no value in postBuild of ${flux.name}: Flux substitutes an empty string`,
      hint: "add it to postBuild.substitute or the substituteFrom sources, or give a default with ${" + name + ":=value}",
    });
  }
  return { manifests: result, findings, secretValues };
}
