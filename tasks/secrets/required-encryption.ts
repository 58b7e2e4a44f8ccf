// Which files must be SOPS-encrypted, and why: a creation rule claims them, they sit in a
// secrets/ folder, they hold a Kubernetes Secret with values, or a secretGenerator reads them.
import path from "node:path";
import type { ResourceRef } from "../../core/model/findings.ts";
import { resourceRefOf } from "../../core/manifests.ts";
import { matchCreationRule, SOPS_CONFIG_FILE, SopsConfigResolver } from "../../core/sops/creation-rules.ts";
import type { CatalogEntry } from "./file-catalog.ts";
import { isSealedSecretObject, isSecretObject } from "../../core/model/secrets.ts";
import { hasSecretValues } from "./kubernetes-secrets.ts";
import { isKustomizationFile, type SecretGenerator } from "./secret-generators.ts";

export type EncryptionReason =
  | { kind: "creation-rule"; config: string; rule: number; line: number }
  | { kind: "secrets-folder" }
  | { kind: "secret-manifest"; resource: ResourceRef; line: number }
  | { kind: "secret-generator"; generator: string; kustomization: string; line: number };

export function describeReason(reason: EncryptionReason): string {
  switch (reason.kind) {
    case "creation-rule":
      return `creation rule ${reason.rule + 1} of ${reason.config} (line ${reason.line}) matches it`;
    case "secrets-folder":
      return "it is in a secrets/ folder";
    case "secret-manifest":
      return `it holds the Secret ${reason.resource.namespace ? `${reason.resource.namespace}/` : ""}${reason.resource.name}`;
    case "secret-generator":
      return `secretGenerator ${reason.generator} in ${reason.kustomization}:${reason.line} reads it`;
  }
}

/**
 * Files a secrets/ folder, or a broad path_regex such as one for every .yaml under secrets/, takes
 * in without their being secret: the folder's kustomization, documentation, dotfiles, and
 * SealedSecrets (kubeseal has encrypted them; sops has nothing to add).
 */
function notSecretMaterial(entry: CatalogEntry): boolean {
  const name = path.posix.basename(entry.file);
  if (name.startsWith(".") || name === SOPS_CONFIG_FILE || /\.md$/i.test(name) || isKustomizationFile(entry.file)) return true;
  const documents = entry.inspection.documents.filter((document) => document.value !== null && document.value !== undefined);
  return documents.length > 0 && documents.every((document) => isSealedSecretObject(document.value));
}

export async function encryptionReasons(entry: CatalogEntry, resolver: SopsConfigResolver): Promise<EncryptionReason[]> {
  const reasons: EncryptionReason[] = [];
  const { file, inspection } = entry;
  if (!notSecretMaterial(entry)) {
    const config = await resolver.configFor(file);
    if (config) {
      const match = matchCreationRule(config, SopsConfigResolver.pathForRule(config, file));
      // A rule without path_regex is sops's fallback for whatever one chooses to encrypt, not a claim on every file.
      if (match.kind === "rule" && match.rule.pathRegex !== undefined)
        reasons.push({ kind: "creation-rule", config: config.file, rule: match.rule.index, line: match.rule.line });
    }
  }
  if (path.posix.dirname(file).split("/").includes("secrets") && !notSecretMaterial(entry)) reasons.push({ kind: "secrets-folder" });
  for (const document of inspection.documents) {
    if (isSecretObject(document.value) && hasSecretValues(document.value)) {
      const { kind, name, namespace } = resourceRefOf(document.value);
      reasons.push({ kind: "secret-manifest", resource: { kind, name, ...(namespace ? { namespace } : {}) }, line: document.line });
    }
  }
  return reasons;
}

export function generatorReasons(generators: readonly SecretGenerator[]): Map<string, EncryptionReason[]> {
  const byFile = new Map<string, EncryptionReason[]>();
  for (const generator of generators) {
    for (const input of generator.inputs) {
      const reasons = byFile.get(input.file) ?? [];
      reasons.push({ kind: "secret-generator", generator: generator.name, kustomization: generator.kustomization, line: input.line });
      byFile.set(input.file, reasons);
    }
  }
  return byFile;
}
