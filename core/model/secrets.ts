// What counts as a Secret, a SealedSecret or a SOPS-encrypted object: one predicate of each kind,
// so every check, diff and report hides the same objects.
import { isRecord } from "../yaml-file.ts";
import type { ResourceRef } from "./findings.ts";

/** A core/v1 Secret; a document without apiVersion counts, as kubectl and kustomize treat it. */
export function isSecretRef(ref: Pick<ResourceRef, "kind" | "apiVersion">): boolean {
  return ref.kind === "Secret" && (ref.apiVersion === undefined || ref.apiVersion === "" || ref.apiVersion === "v1");
}

export function isSecretObject(value: unknown): value is Record<string, unknown> {
  if (!isRecord(value) || value["kind"] !== "Secret") return false;
  const apiVersion = value["apiVersion"];
  return apiVersion === undefined || apiVersion === "" || apiVersion === "v1";
}

/** Bitnami's SealedSecret, whose template can carry plaintext beside the sealed values. */
export function isSealedSecretObject(value: unknown): value is Record<string, unknown> {
  return (
    isRecord(value) &&
    value["kind"] === "SealedSecret" &&
    typeof value["apiVersion"] === "string" &&
    value["apiVersion"].startsWith("bitnami.com/")
  );
}

/** An object as SOPS writes it (its `sops` metadata beside the encrypted fields): Flux decrypts it in the cluster with a key CI does not have. */
export function isSopsEncryptedObject(object: Record<string, unknown>): boolean {
  return isRecord(object["sops"]);
}
