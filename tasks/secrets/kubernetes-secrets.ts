// Recognising Kubernetes Secrets and SealedSecrets in parsed documents, and whether a Secret holds
// anything worth hiding.
import { isRecord } from "../../core/yaml-file.ts";

/** `${VAR}` (Flux postBuild) or `{{ … }}` (templates): a reference to a value, not the value. */
const PLACEHOLDER = /^\s*(\$\{[^}]+\}|\{\{.*\}\})\s*$/s;

const REFERENCE = /\$\{[^}]+\}/g;
const HAS_REFERENCE = /\$\{[^}]+\}/;

/**
 * A value that Flux's postBuild substitution or a template fills in: one reference, or references
 * joined by a little literal text (`${REPOSITORY}/${APP}`, `https://s3.${DOMAIN}`), whose secret part
 * lives in the substituteFrom source, which is checked as a file of its own.
 */
export function isPlaceholder(value: string): boolean {
  if (PLACEHOLDER.test(value)) return true;
  if (!HAS_REFERENCE.test(value)) return false;
  const literal = value.replace(REFERENCE, "");
  return literal.length <= 32 && !/[A-Za-z0-9+/=_-]{16,}/.test(literal);
}

/**
 * A reference to a value another system holds and resolves: 1Password (`op://vault/item/field`),
 * Vault (`vault:path#key`, as bank-vaults and vault-env write them) and vals (`ref+vault://…`,
 * `ref+awssecrets://…`, any backend). Not a secret itself.
 */
const SECRET_REFERENCE = /^\s*(op:\/\/[^\s/]+\/[^\s]+|vault:[^\s]+|ref\+[a-z0-9]+:\/\/[^\s]*)\s*$/;

export function isSecretReference(value: string): boolean {
  return SECRET_REFERENCE.test(value);
}

/** A string value as committed: data is base64 (a reference there is encoded too). */
function committedText(value: string, base64: boolean): string {
  return base64 ? Buffer.from(value, "base64").toString("utf8") : value;
}

type ValueKind = "empty" | "placeholder" | "reference" | "value";

function valueKind(value: unknown, base64: boolean): ValueKind {
  if (value === null || value === undefined || value === "") return "empty";
  if (typeof value !== "string") return "value";
  if (isPlaceholder(value)) return "placeholder";
  return isSecretReference(value) || isSecretReference(committedText(value, base64)) ? "reference" : "value";
}

function valueKinds(secret: Record<string, unknown>): ValueKind[] {
  return (["data", "stringData"] as const).flatMap((field) => {
    const values = secret[field];
    return isRecord(values) ? Object.values(values).map((value) => valueKind(value, field === "data")) : [];
  });
}

/** True when data or stringData has a value that is neither empty, nor a placeholder, nor a reference. */
export function hasSecretValues(secret: Record<string, unknown>): boolean {
  return valueKinds(secret).includes("value");
}

/** True when the Secret holds references to values resolved elsewhere, and no value itself. */
export function holdsOnlyReferences(secret: Record<string, unknown>): boolean {
  const kinds = valueKinds(secret);
  return kinds.includes("reference") && !kinds.includes("value");
}
