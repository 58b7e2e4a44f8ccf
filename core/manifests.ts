// Rendered Kubernetes objects and where each came from in the repository.
import path from "node:path";
import { CORE_SCHEMA, loadAll } from "js-yaml";
import { parseAllDocuments } from "yaml";
import type { Finding, ResourceRef } from "./model/findings.ts";
import { isRecord, scalarText } from "./yaml-file.ts";

export const ORIGIN_ANNOTATION = "config.kubernetes.io/origin";

export interface SourceOrigin {
  /** Repository-relative file the object was written in. */
  file: string;
  line?: number;
}

export interface Manifest {
  ref: ResourceRef & { apiVersion: string };
  object: Record<string, unknown>;
  origin?: SourceOrigin;
  /** Rendered by a chart: the HelmRelease that installs it (origin is the HelmRelease's file). */
  chart?: {
    helmRelease: ResourceRef;
    chart: string;
    /** The strings of the release's values that are written in Git in plaintext (not from a Secret). */
    plainValues: ReadonlySet<string>;
  };
}

export function resourceRefOf(object: Record<string, unknown>): ResourceRef & { apiVersion: string } {
  const metadata = isRecord(object["metadata"]) ? object["metadata"] : {};
  return {
    apiVersion: scalarText(object["apiVersion"]),
    kind: scalarText(object["kind"]),
    name: scalarText(metadata["name"]),
    ...(typeof metadata["namespace"] === "string" ? { namespace: metadata["namespace"] } : {}),
  };
}

/** `group/version` → `group`; core `v1` → "". */
export function apiGroupOf(apiVersion: string): string {
  return apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "";
}

/**
 * Whether only Kubernetes itself can serve this group: the core group ("v1") and dotless groups
 * (apps, batch, policy). A CRD's group must contain a dot, so no chart or CRD can add kinds here.
 */
export function isKubernetesOwnGroup(group: string): boolean {
  return !group.includes(".");
}

export function objectKey(ref: ResourceRef & { apiVersion?: string }): string {
  return `${apiGroupOf(ref.apiVersion ?? "")}/${ref.kind}/${ref.namespace ?? ""}/${ref.name}`;
}

/**
 * Parses `kustomize build` output. Origin annotations (added by our wrapper kustomization) are
 * read into `origin` and removed, so what we keep is what Flux would apply.
 */
export function parseRenderedManifests(text: string, originBase: string, root: string): { manifests: Manifest[]; findings: Finding[] } {
  const manifests: Manifest[] = [];
  const findings: Finding[] = [];
  for (const object of loadRenderedDocuments(text, findings)) {
    if (!isRecord(object)) continue;
    const origin = takeOrigin(object, originBase, root);
    manifests.push({ ref: resourceRefOf(object), object, ...(origin ? { origin } : {}) });
  }
  return { manifests, findings };
}

/**
 * kustomize's output is plain, machine-written YAML, and the hot path of every run: js-yaml reads
 * it about nine times faster than `yaml`'s document model. The core schema keeps strings that
 * look like dates strings, as Kubernetes reads them. Should it ever fail, `yaml` says why.
 */
function loadRenderedDocuments(text: string, findings: Finding[]): unknown[] {
  try {
    return loadAll(text, undefined, { schema: CORE_SCHEMA });
  } catch {
    const documents: unknown[] = [];
    for (const document of parseAllDocuments(text, { uniqueKeys: false })) {
      if (document.errors.length > 0) {
        findings.push({
          severity: "error",
          check: "render/output",
          message: `kustomize produced unparseable YAML: ${document.errors[0]!.message.split("\n")[0]}`,
        });
        continue;
      }
      documents.push(document.toJS({ maxAliasCount: 1000 }));
    }
    return documents;
  }
}

function takeOrigin(object: Record<string, unknown>, originBase: string, root: string): SourceOrigin | undefined {
  const metadata = isRecord(object["metadata"]) ? object["metadata"] : undefined;
  const annotations = metadata && isRecord(metadata["annotations"]) ? metadata["annotations"] : undefined;
  const raw = annotations?.[ORIGIN_ANNOTATION];
  if (!annotations || typeof raw !== "string") return undefined;
  delete annotations[ORIGIN_ANNOTATION];
  if (Object.keys(annotations).length === 0) delete metadata!["annotations"];
  const originPath = /^path:\s*(.+)$/m.exec(raw)?.[1]?.trim();
  const configuredIn = /^configuredIn:\s*(.+)$/m.exec(raw)?.[1]?.trim();
  const relative = originPath ?? configuredIn;
  if (!relative) return undefined;
  const absolute = path.resolve(originBase, relative);
  return { file: path.relative(root, absolute).split(path.sep).join("/") };
}
