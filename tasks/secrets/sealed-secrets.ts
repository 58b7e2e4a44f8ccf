// Bitnami SealedSecrets (layout B): `template-*` files document the shape and hold no real
// ciphertext; every other SealedSecret carries ciphertext for each key.
import path from "node:path";
import type { Finding, ResourceRef } from "../../core/model/findings.ts";
import { resourceRefOf } from "../../core/manifests.ts";
import { isRecord } from "../../core/yaml-file.ts";
import type { CatalogEntry } from "./file-catalog.ts";
import { isSealedSecretObject } from "../../core/model/secrets.ts";
import { isPlaceholder } from "./kubernetes-secrets.ts";

/** kubeseal output is long base64 (an RSA-OAEP-wrapped session key plus the AES-GCM payload). */
const CIPHERTEXT = /^[A-Za-z0-9+/]{64,}={0,2}$/;
/** A sealed-secrets template expression over the unsealed values. */
const SEALED_TEMPLATE = /\{\{[\s\S]*\}\}/;

export function isTemplateFile(file: string): boolean {
  return path.posix.basename(file).startsWith("template-");
}

export function sealedSecretFindings(entry: CatalogEntry): Finding[] {
  const findings: Finding[] = [];
  const { file, inspection } = entry;
  for (const document of inspection.documents) {
    if (!isSealedSecretObject(document.value)) continue;
    const { kind, name, namespace } = resourceRefOf(document.value);
    const resource = { apiVersion: String(document.value["apiVersion"]), kind, name, ...(namespace ? { namespace } : {}) };
    const spec = isRecord(document.value["spec"]) ? document.value["spec"] : {};
    const encryptedData = isRecord(spec["encryptedData"]) ? spec["encryptedData"] : {};
    const lineOf = (...keys: string[]) => inspection.lineOf(document.index, ["spec", "encryptedData", ...keys]) ?? document.line;
    const entries = Object.entries(encryptedData);
    findings.push(...templatePlaintextFindings(entry, document.index, document.line, document.value, resource));
    if (isTemplateFile(file)) {
      const sealed = entries.filter(([, value]) => typeof value === "string" && CIPHERTEXT.test(value.replace(/\s+/g, "")));
      if (sealed.length > 0) {
        findings.push({
          severity: "warning",
          check: "secrets/template-has-ciphertext",
          file,
          line: lineOf(sealed[0]![0]),
          resource,
          message: `template ${file} holds sealed ciphertext for ${sealed.map(([key]) => key).join(", ")}; templates document the shape with placeholders, the sealed values belong in each environment's actual-*.yaml`,
          hint: "replace the values with placeholders such as <kubeseal output for …>",
        });
      }
      continue;
    }
    const unsealed = entries
      .filter(([, value]) => typeof value !== "string" || !CIPHERTEXT.test(value.replace(/\s+/g, "")))
      .map(([key]) => key);
    if (entries.length === 0 || unsealed.length > 0) {
      findings.push({
        severity: "error",
        check: "secrets/sealed-secret-empty",
        file,
        line: entries.length === 0 ? (inspection.lineOf(document.index, ["spec"]) ?? document.line) : lineOf(unsealed[0]!),
        resource,
        message:
          entries.length === 0
            ? `SealedSecret ${name} in ${file} has no spec.encryptedData: the controller would create an empty Secret`
            : `SealedSecret ${name} in ${file}: ${unsealed.join(", ")} ${unsealed.length === 1 ? "is" : "are"} not sealed ciphertext (empty or a placeholder)`,
        hint: "seal the values for this cluster with kubeseal (scripts/gitops/seal-secret.sh in layout B) and commit the output",
      });
    }
  }
  return findings;
}

/**
 * spec.template.data and stringData are copied into the Secret as they are: a value there is
 * plaintext in Git, unless it is one of the controller's templates over the sealed values
 * (`{{ index . "password" }}`).
 */
function templatePlaintextFindings(
  entry: CatalogEntry,
  index: number,
  line: number,
  object: Record<string, unknown>,
  resource: ResourceRef,
): Finding[] {
  const spec = isRecord(object["spec"]) ? object["spec"] : {};
  const template = isRecord(spec["template"]) ? spec["template"] : {};
  const plaintext: { field: string; key: string }[] = [];
  for (const field of ["data", "stringData"]) {
    const values = template[field];
    if (!isRecord(values)) continue;
    for (const [key, value] of Object.entries(values)) {
      if (value === null || value === undefined || value === "") continue;
      if (typeof value === "string" && (isPlaceholder(value) || SEALED_TEMPLATE.test(value))) continue;
      plaintext.push({ field, key });
    }
  }
  if (plaintext.length === 0) return [];
  const first = plaintext[0]!;
  const name = resource.name;
  return [
    {
      severity: "error",
      check: "secrets/sealed-secret-plaintext",
      file: entry.file,
      line: entry.inspection.lineOf(index, ["spec", "template", first.field, first.key]) ?? line,
      resource,
      message: `SealedSecret ${name} in ${entry.file} carries plaintext in ${plaintext.map((item) => `spec.template.${item.field}.${item.key}`).join(", ")}: the controller copies it into the Secret unsealed, and it is committed in plaintext`,
      hint: "seal these values into spec.encryptedData with kubeseal and remove them from the template; rotate them: they are in the Git history",
    },
  ];
}

/** Folders that hold SealedSecrets (and their overlay folder): a plain Secret there is a mistake, not a choice. */
export function sealedSecretFolders(entries: readonly CatalogEntry[]): Set<string> {
  const folders = new Set<string>();
  for (const entry of entries) {
    if (!entry.inspection.documents.some((document) => isSealedSecretObject(document.value))) continue;
    const folder = path.posix.dirname(entry.file);
    folders.add(folder);
    // clusters/<env>/<layer>/sealed-secrets/actual-*.yaml: the overlay folder is "beside" them too.
    if (path.posix.basename(folder) === "sealed-secrets") folders.add(path.posix.dirname(folder));
  }
  return folders;
}
