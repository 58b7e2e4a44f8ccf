// Reading Flux Kustomization objects (kustomize.toolkit.fluxcd.io) as plain data.
import { isRecord } from "../yaml-file.ts";

export const FLUX_KUSTOMIZE_GROUP = "kustomize.toolkit.fluxcd.io";

export interface SourceRef {
  kind: string;
  name: string;
  namespace: string;
}

export interface SubstituteFromRef {
  kind: "ConfigMap" | "Secret";
  name: string;
  optional: boolean;
}

export function isFluxKustomization(object: Record<string, unknown>): boolean {
  return (
    object["kind"] === "Kustomization" &&
    typeof object["apiVersion"] === "string" &&
    object["apiVersion"].startsWith(`${FLUX_KUSTOMIZE_GROUP}/`)
  );
}

export function kustomizationKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function substituteFromRefs(object: Record<string, unknown>): SubstituteFromRef[] {
  const spec = isRecord(object["spec"]) ? object["spec"] : {};
  const postBuild = isRecord(spec["postBuild"]) ? spec["postBuild"] : {};
  const refs = Array.isArray(postBuild["substituteFrom"]) ? postBuild["substituteFrom"] : [];
  return refs.flatMap((ref) =>
    isRecord(ref) && (ref["kind"] === "ConfigMap" || ref["kind"] === "Secret") && typeof ref["name"] === "string"
      ? [{ kind: ref["kind"], name: ref["name"], optional: ref["optional"] === true }]
      : [],
  );
}
