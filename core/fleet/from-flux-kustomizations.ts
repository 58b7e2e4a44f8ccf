// Discovery from Flux Kustomization objects committed in the repository, as in the public
// flux2-kustomize-helm-example: clusters/<env>/*.yaml point at the overlays and carry dependsOn.
import path from "node:path";
import { readFile } from "node:fs/promises";
import type { Finding } from "../findings.ts";
import { isYamlFile, listRepoFiles } from "../repo-files.ts";
import { isRecord, parseYaml } from "../yaml-file.ts";
import type { FoundFleet, FoundOverlay } from "./assemble.ts";
import { unique } from "./assemble.ts";
import type { FluxKustomizationRef, FluxPostBuild } from "./model.ts";

const FLUX_KUSTOMIZE_API = "kustomize.toolkit.fluxcd.io/";

export async function discoverFromFluxKustomizations(root: string): Promise<FoundFleet | undefined> {
  const overlays: FoundOverlay[] = [];
  const findings: Finding[] = [];
  for (const file of (await listRepoFiles(root)).filter(isYamlFile)) {
    const text = await readFile(path.join(root, file), "utf8");
    if (!text.includes(FLUX_KUSTOMIZE_API)) continue;
    const parsed = parseYaml(text, file);
    findings.push(...parsed.findings);
    for (const document of parsed.documents) {
      const object = document.value;
      if (!isRecord(object) || object["kind"] !== "Kustomization") continue;
      if (typeof object["apiVersion"] !== "string" || !object["apiVersion"].startsWith(FLUX_KUSTOMIZE_API)) continue;
      const metadata = isRecord(object["metadata"]) ? object["metadata"] : {};
      const spec = isRecord(object["spec"]) ? object["spec"] : {};
      const name = typeof metadata["name"] === "string" ? metadata["name"] : undefined;
      const line = document.line;
      if (!name) {
        findings.push({ severity: "error", check: "fleet/invalid-kustomization", file, line, message: "Flux Kustomization without metadata.name" });
        continue;
      }
      const environment = environmentOf(file);
      const overlayPath = normalizeRepoPath(typeof spec["path"] === "string" ? spec["path"] : ".");
      // The bootstrap Kustomization (flux-system) syncs the cluster folder itself; it is not a layer.
      if (name === "flux-system" || overlayPath === path.posix.dirname(file) || file.startsWith(`${overlayPath}/`)) continue;
      const ref: FluxKustomizationRef = {
        name,
        namespace: typeof metadata["namespace"] === "string" ? metadata["namespace"] : "flux-system",
        location: { file, line },
        ...(typeof spec["targetNamespace"] === "string" ? { targetNamespace: spec["targetNamespace"] } : {}),
      };
      const postBuild = readPostBuild(spec["postBuild"]);
      if (postBuild) ref.postBuild = postBuild;
      const dependsOn = Array.isArray(spec["dependsOn"])
        ? spec["dependsOn"].flatMap((entry) => (isRecord(entry) && typeof entry["name"] === "string" ? [entry["name"]] : []))
        : [];
      overlays.push({
        environment,
        layer: name,
        path: overlayPath,
        dependsOn,
        definedIn: { file, ...(parsed.lineAt(document, ["spec", "dependsOn"]) ? { line: parsed.lineAt(document, ["spec", "dependsOn"])! } : { line }) },
        flux: ref,
      });
    }
  }
  if (overlays.length === 0) return undefined;

  for (const [key, group] of groupBy(overlays, (o) => `${o.environment}\u0000${o.layer}`)) {
    if (group.length < 2) continue;
    const [environment, layer] = key.split("\u0000");
    findings.push({
      severity: "error",
      check: "fleet/duplicate-kustomization",
      file: group[1]!.flux!.location.file,
      ...(group[1]!.flux!.location.line ? { line: group[1]!.flux!.location.line } : {}),
      message: `Flux Kustomization ${layer} is defined more than once for ${environment} (also in ${group[0]!.flux!.location.file})`,
    });
  }

  const environments = unique(overlays.map((o) => o.environment)).sort();
  const layers = unique(overlays.map((o) => o.layer)).map((name) => ({ name, dependsOn: [] as string[] }));
  return {
    source: "flux-kustomizations",
    environments: environments.map((name) => ({ name })),
    layers,
    overlays: dedupe(overlays),
    findings,
    locateMissing: (env) => {
      const sample = overlays.find((o) => o.environment === env);
      return sample?.flux ? { file: `${path.posix.dirname(sample.flux.location.file)}/` } : undefined;
    },
  };
}

/** clusters/<env>/… names the environment; otherwise the folder holding the file does. */
function environmentOf(file: string): string {
  const parts = file.split("/");
  const clusters = parts.indexOf("clusters");
  if (clusters >= 0 && parts.length > clusters + 2) return parts[clusters + 1]!;
  return parts.at(-2) ?? ".";
}

function normalizeRepoPath(value: string): string {
  const normalized = path.posix.normalize(value.replace(/^\.\//, "")).replace(/\/+$/, "");
  return normalized === "" ? "." : normalized;
}

function readPostBuild(value: unknown): FluxPostBuild | undefined {
  if (!isRecord(value)) return undefined;
  const postBuild: FluxPostBuild = {};
  if (isRecord(value["substitute"])) {
    postBuild.substitute = Object.fromEntries(Object.entries(value["substitute"]).map(([k, v]) => [k, String(v)]));
  }
  if (Array.isArray(value["substituteFrom"])) {
    postBuild.substituteFrom = value["substituteFrom"].flatMap((entry) =>
      isRecord(entry) && (entry["kind"] === "ConfigMap" || entry["kind"] === "Secret") && typeof entry["name"] === "string"
        ? [{ kind: entry["kind"], name: entry["name"], ...(entry["optional"] === true ? { optional: true } : {}) }]
        : [],
    );
  }
  return postBuild;
}

function groupBy<T>(values: readonly T[], key: (value: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const value of values) groups.set(key(value), [...(groups.get(key(value)) ?? []), value]);
  return groups;
}

function dedupe(overlays: FoundOverlay[]): FoundOverlay[] {
  const seen = new Set<string>();
  return overlays.filter((overlay) => {
    const key = `${overlay.environment}\u0000${overlay.layer}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
