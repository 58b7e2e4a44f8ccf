// Secret values in rendered objects: registered with the redactor as soon as they are seen, and
// masked in anything we keep (artifacts, reports, diffs). A SealedSecret's template can carry
// plaintext too (spec.template.data/stringData, copied into the Secret as they are).
import type { Manifest } from "./manifests.ts";
import { REDACTED, type Redactor } from "./redaction.ts";
import { isRecord } from "./yaml-file.ts";
import { isSealedSecretObject, isSecretObject } from "./model/secrets.ts";

const SOPS_VALUE = /^ENC\[AES256_GCM,data:/;

export interface ValueField {
  /** The map of values, in the object itself (mask it by assigning). */
  values: Record<string, unknown>;
  /** `data` holds base64. */
  base64: boolean;
}

/** The maps of an object that hold secret values: a Secret's data and stringData, a SealedSecret template's. */
export function secretValueFields(object: Record<string, unknown>): ValueField[] {
  let holder: Record<string, unknown> | undefined;
  if (isSecretObject(object)) holder = object;
  else if (isSealedSecretObject(object) && isRecord(object["spec"]) && isRecord(object["spec"]["template"]))
    holder = object["spec"]["template"];
  if (!holder) return [];
  const fields: ValueField[] = [];
  for (const [field, base64] of [
    ["data", true],
    ["stringData", false],
  ] as const) {
    const values = holder[field];
    if (isRecord(values)) fields.push({ values, base64 });
  }
  return fields;
}

/** Every plaintext value (data decoded from base64 too); encrypted ENC[…] values are not secrets. */
export function plaintextSecretValues(object: Record<string, unknown>): string[] {
  const found: string[] = [];
  for (const { values, base64 } of secretValueFields(object)) {
    for (const value of Object.values(values)) {
      if (typeof value !== "string" || SOPS_VALUE.test(value)) continue;
      found.push(value);
      if (base64) found.push(Buffer.from(value, "base64").toString("utf8"));
    }
  }
  return found;
}

/** Registers every plaintext value of Secrets and SealedSecret templates. */
export function registerSecretValues(manifests: readonly Manifest[], redactor: Redactor): void {
  for (const manifest of manifests) for (const value of plaintextSecretValues(manifest.object)) redactor.add(value);
}

/** A copy of the object with secret values replaced; encrypted (ENC[…]) values are kept. */
export function maskSecretValues(manifest: Manifest): Record<string, unknown> {
  if (secretValueFields(manifest.object).length === 0) return manifest.object;
  const copy = structuredClone(manifest.object);
  for (const { values } of secretValueFields(copy)) {
    for (const [key, value] of Object.entries(values)) {
      if (typeof value === "string" && SOPS_VALUE.test(value)) continue;
      values[key] = REDACTED;
    }
  }
  return copy;
}
