// Recognising Kubernetes Secrets and SealedSecrets in parsed documents, and whether a Secret holds
// anything worth hiding.
import { isRecord } from "../../core/yaml-file.ts";

/** `${VAR}` (Flux postBuild) or `{{ … }}` (templates): a reference to a value, not the value. */
const PLACEHOLDER = /^\s*(\$\{[^}]+\}|\{\{.*\}\})\s*$/s;

export function isSecretObject(value: unknown): value is Record<string, unknown> {
  return isRecord(value) && value["kind"] === "Secret" && (value["apiVersion"] === "v1" || value["apiVersion"] === undefined);
}

export function isSealedSecretObject(value: unknown): value is Record<string, unknown> {
  return isRecord(value) && value["kind"] === "SealedSecret" && typeof value["apiVersion"] === "string" && value["apiVersion"].startsWith("bitnami.com/");
}

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

/** True when data or stringData has a value that is neither empty nor a placeholder. */
export function hasSecretValues(secret: Record<string, unknown>): boolean {
  return ["data", "stringData"].some((field) => {
    const values = secret[field];
    if (!isRecord(values)) return false;
    return Object.values(values).some((value) => value !== null && value !== undefined && value !== "" && !(typeof value === "string" && isPlaceholder(value)));
  });
}
