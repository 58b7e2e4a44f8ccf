// Where each cluster starts: the Kustomization its bootstrap syncs. Found as Flux bootstraps
// it: the sync Kustomization committed in the cluster's own folder (flux bootstrap's
// gotk-sync.yaml, or any Kustomization that lies inside the path it applies), or the path a
// FluxInstance (flux-operator) syncs, as an object or as the flux-instance chart's values.
import path from "node:path";
import type { SourceLocation } from "../model/fleet.ts";
import { isYamlFile, listRepoFiles, readTextUpTo, withoutChartFiles } from "../repo-files.ts";
import { MAX_INPUT_BYTES } from "./build-limits.ts";
import { isRecord, parseYaml, scalarText } from "../yaml-file.ts";
import { FLUX_KUSTOMIZE_GROUP, isFluxKustomization, type SourceRef } from "./kustomization-object.ts";

export interface ClusterEntry {
  cluster: string;
  /** The sync Kustomization, as the cluster holds it. */
  kustomization: Record<string, unknown>;
  location: SourceLocation;
  /** The source it syncs: this repository. */
  source: SourceRef;
}

const FLUX_OPERATOR_GROUP = "fluxcd.controlplane.io/";

export async function findEntryPoints(root: string): Promise<ClusterEntry[]> {
  const found: Omit<ClusterEntry, "cluster">[] = [];
  const clusterFolders = new Map<string, SourceLocation>();
  for (const file of withoutChartFiles(await listRepoFiles(root)).filter(isYamlFile)) {
    // A file over the build limit is no sync (the render reports it where a build reads it).
    const text = (await readTextUpTo(path.join(root, file), MAX_INPUT_BYTES)) ?? "";
    if (!text.includes(FLUX_KUSTOMIZE_GROUP) && !text.includes("sync")) continue;
    const parsed = parseYaml(text, file);
    for (const document of parsed.documents) {
      const value = document.value;
      if (!isRecord(value)) continue;
      const location = { file, line: document.line };
      const entry = fromSyncKustomization(value, file) ?? fromFluxInstance(value) ?? fromFluxInstanceValues(value);
      if (entry) found.push({ ...entry, location });
      const folder = /^(?:.*\/)?clusters\/[^/]+(?=\/[^/]+$)/.exec(file)?.[0];
      if (folder && isFluxKustomization(value) && !clusterFolders.has(folder)) clusterFolders.set(folder, location);
    }
  }
  // No sync committed (bootstrapped by hand or by a script): clusters/<name>/ holding Flux
  // Kustomizations is what `flux bootstrap --path clusters/<name>` would sync.
  if (found.length === 0) {
    for (const [folder, location] of clusterFolders)
      found.push({ ...(syncOf({ path: `./${folder}` }, "flux-system") as Omit<ClusterEntry, "cluster" | "location">), location });
  }
  // The same sync found twice (a FluxInstance and its committed sync): keep the first, in file order,
  // preferring the committed Kustomization.
  found.sort((a, b) => Number(isFluxKustomization(b.kustomization)) - Number(isFluxKustomization(a.kustomization)));
  const byPath = new Map<string, Omit<ClusterEntry, "cluster">>();
  for (const entry of found) {
    const key = syncPath(entry.kustomization);
    if (!byPath.has(key)) byPath.set(key, entry);
  }
  return nameClusters([...byPath.values()]);
}

/** A Kustomization that lies inside the folder it applies is a cluster's own sync. */
function fromSyncKustomization(value: Record<string, unknown>, file: string): Omit<ClusterEntry, "cluster" | "location"> | undefined {
  if (!isFluxKustomization(value)) return undefined;
  const spec = isRecord(value["spec"]) ? value["spec"] : {};
  const sourceRef = isRecord(spec["sourceRef"]) ? spec["sourceRef"] : {};
  if (sourceRef["kind"] !== "GitRepository") return undefined;
  const dir = normalize(typeof spec["path"] === "string" ? spec["path"] : ".");
  if (dir !== "." && !file.startsWith(`${dir}/`)) return undefined;
  const metadata = isRecord(value["metadata"]) ? value["metadata"] : {};
  const namespace = typeof metadata["namespace"] === "string" ? metadata["namespace"] : "flux-system";
  const kustomization = structuredClone(value);
  (kustomization["metadata"] as Record<string, unknown>)["namespace"] = namespace;
  return {
    kustomization,
    source: {
      kind: "GitRepository",
      name: scalarText(sourceRef["name"]),
      namespace: typeof sourceRef["namespace"] === "string" ? sourceRef["namespace"] : namespace,
    },
  };
}

/** A FluxInstance: flux-operator creates a Kustomization and a source, named after its namespace. */
function fromFluxInstance(value: Record<string, unknown>): Omit<ClusterEntry, "cluster" | "location"> | undefined {
  if (value["kind"] !== "FluxInstance" || typeof value["apiVersion"] !== "string" || !value["apiVersion"].startsWith(FLUX_OPERATOR_GROUP))
    return undefined;
  const metadata = isRecord(value["metadata"]) ? value["metadata"] : {};
  const spec = isRecord(value["spec"]) ? value["spec"] : {};
  return syncOf(spec["sync"], typeof metadata["namespace"] === "string" ? metadata["namespace"] : "flux-system");
}

/** The flux-instance chart's values (a HelmRelease's spec.values, or a values file). */
function fromFluxInstanceValues(value: Record<string, unknown>): Omit<ClusterEntry, "cluster" | "location"> | undefined {
  if (value["kind"] === "HelmRelease") {
    const spec = isRecord(value["spec"]) ? value["spec"] : {};
    const values = isRecord(spec["values"]) ? spec["values"] : {};
    const instance = isRecord(values["instance"]) ? values["instance"] : undefined;
    const metadata = isRecord(value["metadata"]) ? value["metadata"] : {};
    const namespace =
      typeof spec["targetNamespace"] === "string"
        ? spec["targetNamespace"]
        : typeof metadata["namespace"] === "string"
          ? metadata["namespace"]
          : "flux-system";
    return instance ? syncOf(instance["sync"], namespace) : undefined;
  }
  if ("apiVersion" in value || "kind" in value) return undefined;
  const instance = isRecord(value["instance"]) ? value["instance"] : undefined;
  return instance ? syncOf(instance["sync"], "flux-system") : undefined;
}

function syncOf(sync: unknown, namespace: string): Omit<ClusterEntry, "cluster" | "location"> | undefined {
  if (!isRecord(sync) || typeof sync["path"] !== "string") return undefined;
  const kind = typeof sync["kind"] === "string" ? sync["kind"] : "GitRepository";
  if (kind !== "GitRepository") return undefined;
  const name = typeof sync["name"] === "string" ? sync["name"] : namespace;
  return {
    kustomization: {
      apiVersion: `${FLUX_KUSTOMIZE_GROUP}/v1`,
      kind: "Kustomization",
      metadata: { name, namespace },
      spec: { interval: sync["interval"] ?? "1m", path: sync["path"], prune: true, sourceRef: { kind, name } },
    },
    source: { kind, name, namespace },
  };
}

/** clusters/<name>/… names the cluster; otherwise the last folder of the synced path does. */
function nameClusters(entries: Omit<ClusterEntry, "cluster">[]): ClusterEntry[] {
  const names = entries.map((entry) => {
    const parts = syncPath(entry.kustomization).split("/");
    const clusters = parts.indexOf("clusters");
    if (clusters >= 0 && parts[clusters + 1]) return parts[clusters + 1]!;
    return parts.at(-1) === "." ? "cluster" : parts.at(-1)!;
  });
  return entries.map((entry, index) => {
    const name = names[index]!;
    const clash = names.filter((other) => other === name).length > 1;
    return { ...entry, cluster: clash ? syncPath(entry.kustomization) : name };
  });
}

function syncPath(kustomization: Record<string, unknown>): string {
  const spec = isRecord(kustomization["spec"]) ? kustomization["spec"] : {};
  return normalize(typeof spec["path"] === "string" ? spec["path"] : ".");
}

function normalize(value: string): string {
  const normalized = path.posix.normalize(value.replace(/^\.\//, "")).replace(/\/+$/, "");
  return normalized === "" || normalized === "/" ? "." : normalized.replace(/^\//, "");
}
