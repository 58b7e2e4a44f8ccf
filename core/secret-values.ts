// Secret values in rendered objects: registered with the redactor as soon as they are seen, and
// masked in anything we keep (artifacts, reports, diffs).
import type { Manifest } from "./manifests.ts";
import { REDACTED, type Redactor } from "./redaction.ts";
import { isRecord } from "./yaml-file.ts";

const SOPS_VALUE = /^ENC\[AES256_GCM,data:/;

export function isSecret(manifest: Pick<Manifest, "ref">): boolean {
  return manifest.ref.kind === "Secret" && (manifest.ref.apiVersion === "v1" || manifest.ref.apiVersion === "");
}

/** Registers every plaintext value of Secrets (data decoded from base64, and stringData). */
export function registerSecretValues(manifests: readonly Manifest[], redactor: Redactor): void {
  for (const manifest of manifests) {
    if (!isSecret(manifest)) continue;
    for (const [field, decode] of [["data", true], ["stringData", false]] as const) {
      const values = manifest.object[field];
      if (!isRecord(values)) continue;
      for (const value of Object.values(values)) {
        if (typeof value !== "string" || SOPS_VALUE.test(value)) continue;
        redactor.add(value);
        if (decode) redactor.add(Buffer.from(value, "base64").toString("utf8"));
      }
    }
  }
}

/** A copy of the object with Secret values replaced; encrypted (ENC[…]) values are kept. */
export function maskSecretValues(manifest: Manifest): Record<string, unknown> {
  if (!isSecret(manifest)) return manifest.object;
  const copy = structuredClone(manifest.object);
  for (const field of ["data", "stringData"]) {
    const values = copy[field];
    if (!isRecord(values)) continue;
    for (const [key, value] of Object.entries(values)) {
      if (typeof value === "string" && SOPS_VALUE.test(value)) continue;
      values[key] = REDACTED;
    }
  }
  return copy;
}
