// Secrets in a diff show which keys change, never a value, not even masked or hashed.
import { plaintextSecretValues } from "../secret-values.ts";
import { isRecord } from "../yaml-file.ts";

export type SecretKeyChange = { field: "data"; key: string; change: "added" | "removed" | "changed" };

/**
 * Compares the `data` of the live object and of the dry-run result (the server has already merged
 * `stringData` into `data` there), key by key.
 */
export function secretKeyChanges(live: Record<string, unknown>, merged: Record<string, unknown>): SecretKeyChange[] {
  const before = isRecord(live["data"]) ? live["data"] : {};
  const after = isRecord(merged["data"]) ? merged["data"] : {};
  const changes: SecretKeyChange[] = [];
  for (const key of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    if (!(key in after)) changes.push({ field: "data", key, change: "removed" });
    else if (!(key in before)) changes.push({ field: "data", key, change: "added" });
    else if (before[key] !== after[key]) changes.push({ field: "data", key, change: "changed" });
  }
  return changes;
}

export function formatSecretKeyChanges(changes: readonly SecretKeyChange[]): string {
  return changes.map((change) => `${change.field}.${change.key}: ${change.change}`).join("\n");
}

/** A copy without any value-bearing field, for diffing the rest of a Secret. */
export function withoutSecretValues(object: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...object };
  delete copy["data"];
  delete copy["stringData"];
  return copy;
}

/** Every plaintext value of a live or dry-run Secret or SealedSecret template (data decoded, and as sent), for the redactor. */
export function secretValuesOf(object: Record<string, unknown>): string[] {
  return plaintextSecretValues(object);
}
