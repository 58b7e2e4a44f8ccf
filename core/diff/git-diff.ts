// What a change in Git does to what Flux applies, with no cluster: the render of the merge base and
// the render of the working tree, compared per cluster and per Flux Kustomization (and, inside one,
// per HelmRelease whose chart output carries helm-controller's origin labels). A Kustomization that
// renders on one side only is a problem, never a wholesale create or delete.
import { isDeepStrictEqual } from "node:util";
import type { Finding, ResourceRef } from "../model/findings.ts";
import type { Overlay } from "../model/fleet.ts";
import { objectKey, type Manifest } from "../manifests.ts";
import { isRecord, scalarText } from "../yaml-file.ts";
import { diffFields, type FieldChange } from "./field-changes.ts";
import { risksOf, type Risk } from "./git-diff-risks.ts";
import { FLUX_PRUNE_ANNOTATION, kustomizationOf, metadataValue, type KustomizationNaming } from "./flux.ts";
import { fieldsThatMatter, toDiffYaml } from "./normalize.ts";
import { isSecretObject } from "../model/secrets.ts";
import { withoutSecretValues } from "./secret-changes.ts";
import { unifiedHunks } from "./unified-diff.ts";

export const HELM_RELEASE_NAME_LABEL = "helm.toolkit.fluxcd.io/name";
export const HELM_RELEASE_NAMESPACE_LABEL = "helm.toolkit.fluxcd.io/namespace";
const HELM_RESOURCE_POLICY = "helm.sh/resource-policy";

export type GitObjectAction = "create" | "update" | "delete";

export interface GitObjectChange {
  cluster: string;
  layer: string;
  /** namespace/name of the Flux Kustomization that applies the object. */
  kustomization: string;
  /** namespace/name of the HelmRelease whose chart rendered it (helm-controller's origin labels). */
  helmRelease?: string;
  ref: ResourceRef & { apiVersion: string };
  action: GitObjectAction;
  /** For delete: pruned (Flux or Helm deletes it) or orphaned (it stays in the cluster), and why. */
  deletion?: "pruned" | "orphaned";
  deletionReason?: string;
  /** For update: what changed, field by field. */
  fields?: FieldChange[];
  /** For update: every changed field is chart-bump noise. */
  noiseOnly?: boolean;
  /** For update: a unified diff of the object's YAML (a Secret's values left out). */
  diff?: string;
  /** The object's YAML before and after (a Secret's values left out), for the HTML page. */
  yaml?: { before?: string; after?: string };
  /** Repository-relative file the object is written in, when known. */
  file?: string;
}

/**
 * Something that kept one Kustomization (or the run) from being compared (exit 2): a finding of a
 * `git-diff/*` check, its environment the cluster (none for the whole run), so it reaches JUnit and
 * Code Quality as the check's findings do.
 */
export type GitDiffProblem = Finding & { severity: "error"; check: GitDiffCheck };

/** A side did not render, a Kustomization is rendered on one side only, a HelmRelease rendered nothing, the merge base has no fleet. */
export type GitDiffCheck = "git-diff/not-rendered" | "git-diff/one-side-only" | "git-diff/release-not-rendered" | "git-diff/no-base";

export function gitDiffProblem(check: GitDiffCheck, fields: Omit<GitDiffProblem, "severity" | "check">): GitDiffProblem {
  return { severity: "error", check, ...fields };
}

/** One render of one Kustomization: what core/model/rendered-overlay.ts's RenderedOverlay holds. */
export interface RenderSide {
  overlay: Overlay;
  ok: boolean;
  manifests: readonly Manifest[];
  /** Why it (or a HelmRelease in it) did not render, when it did not. */
  findings?: readonly { severity: string; message: string; resource?: ResourceRef }[];
}

/** Why a Kustomization that exists on a side has no render there. */
export interface NotRendered {
  reason: string;
  suspended: boolean;
}

export interface OverlayPair {
  cluster: string;
  layer: string;
  base?: RenderSide;
  head?: RenderSide;
  baseNotRendered?: NotRendered;
  headNotRendered?: NotRendered;
}

/** Per cluster: how many objects the change creates, changes and deletes. */
export interface ClusterBlastRadius {
  cluster: string;
  created: number;
  changed: number;
  deleted: number;
  pruned: number;
  orphaned: number;
}

export interface GitDiffReport {
  tool: "gitops-ci";
  command: "diff --against";
  root: string;
  against: { rev: string; base: string; mergeBase: boolean; changedFiles: number };
  collapseNoise: boolean;
  /** Kustomizations rendered on each side: what the change can reach (O(change)). */
  rendered: { base: number; head: number; ofBase: number; ofHead: number };
  clusters: ClusterBlastRadius[];
  risks: Risk[];
  changes: GitObjectChange[];
  problems: GitDiffProblem[];
  /** The HTML page in the job's artifacts, when the run was a CI job writing it inside the project. */
  pageUrl?: string;
}

export interface CompareOptions {
  naming?: KustomizationNaming;
  /** Files the change touches: a HelmRelease whose inputs none of them reach renders the same chart. */
  changedFiles?: readonly string[];
  /** The Kubernetes version each side's charts were templated for: when they differ, every chart may render anew. */
  kubernetesVersions?: { base: string; head: string };
}

export interface CompareResult {
  changes: GitObjectChange[];
  problems: GitDiffProblem[];
  /** Kustomizations that the change suspends or resumes as a whole (not rendered on one side). */
  suspensions: { cluster: string; layer: string; side: "base" | "head"; reason: string }[];
  /** What reviewers must not miss, in the order of the changes. */
  risks: Risk[];
  /** Kustomizations compared on both sides. */
  compared: number;
}

export function compareRenders(pairs: readonly OverlayPair[], options: CompareOptions = {}): CompareResult {
  const result: CompareResult = { changes: [], problems: [], suspensions: [], risks: [], compared: 0 };
  const otherApiVersions = clustersWithOtherApiVersions(pairs);
  for (const pair of pairs) {
    const scope = { cluster: pair.cluster, layer: pair.layer };
    const overlayPath = (pair.head ?? pair.base)?.overlay.path;
    const where = { environment: pair.cluster, layer: pair.layer, ...(overlayPath ? { file: overlayPath } : {}) };
    const failed = (["base", "head"] as const).filter((side) => pair[side] && !pair[side].ok);
    if (failed.length > 0) {
      const other =
        failed.length === 2
          ? ""
          : `; it renders on the ${failed[0] === "base" ? "merge request" : "target"} side, but its objects are not shown as ${failed[0] === "base" ? "created" : "deleted"}`;
      const why = failed
        .flatMap((side) => pair[side]!.findings?.filter((finding) => finding.severity === "error").map((finding) => finding.message) ?? [])
        .slice(0, 1);
      result.problems.push(
        gitDiffProblem("git-diff/not-rendered", {
          ...where,
          message: `Kustomization ${pair.layer} does not render on the ${failed.map(sideName).join(" and the ")} side, so it could not be compared${other}${why.length > 0 ? `: ${why[0]}` : ""}`,
          hint: "run gitops-ci check on that side for the render errors",
        }),
      );
      continue;
    }
    const missing = (["base", "head"] as const).find(
      (side) => !pair[side] && pair[side === "base" ? "baseNotRendered" : "headNotRendered"],
    );
    if (missing) {
      const why = pair[missing === "base" ? "baseNotRendered" : "headNotRendered"]!;
      if (why.suspended) {
        result.suspensions.push({ ...scope, side: missing, reason: why.reason });
        result.risks.push({
          kind: "suspended",
          ...scope,
          object: `Kustomization ${pair.layer}`,
          detail: missing === "head" ? `suspended: ${why.reason}` : `resumed (was: ${why.reason})`,
        });
      } else
        result.problems.push(
          gitDiffProblem("git-diff/one-side-only", {
            ...where,
            message: `Kustomization ${pair.layer} is not rendered on the ${sideName(missing)} side (${why.reason}), so it could not be compared`,
          }),
        );
      continue;
    }
    if (pair.base && pair.head) result.compared += 1;
    const unrendered = unrenderedReleases(pair);
    for (const [release, side] of unrendered) {
      result.problems.push(
        gitDiffProblem("git-diff/release-not-rendered", {
          ...where,
          message: `HelmRelease ${release} renders no objects on the ${sideName(side)} side though it is there on both, so its chart output could not be compared; its objects are not shown as ${side === "base" ? "created" : "deleted"}`,
          hint: "run gitops-ci check on that side for the HelmRelease's render errors",
        }),
      );
    }
    const compared = compareOverlay(
      pair,
      options,
      new Set(unrendered.keys()),
      otherApiVersions.has(pair.cluster) ? new Set() : sameReleaseInputs(pair, options),
    );
    result.changes.push(...compared.changes);
    result.risks.push(...compared.risks);
  }
  result.risks.push(...chartBumps(result.changes));
  return result;
}

/** A chart's new version shows in the helm.sh/chart label of what it renders: one entry per HelmRelease. */
function chartBumps(changes: readonly GitObjectChange[]): Risk[] {
  const seen = new Set<string>();
  const risks: Risk[] = [];
  for (const change of changes) {
    if (!change.helmRelease) continue;
    const label = change.fields?.find((field) => field.path.endsWith('labels["helm.sh/chart"]') && field.kind === "changed");
    const key = `${change.cluster}\u0000${change.helmRelease}`;
    if (!label || seen.has(key)) continue;
    seen.add(key);
    risks.push({
      kind: "chart-version",
      cluster: change.cluster,
      layer: change.layer,
      object: `HelmRelease ${change.helmRelease}`,
      detail: `chart ${String(label.before)} → ${String(label.after)}`,
    });
  }
  return risks;
}

function sideName(side: "base" | "head"): string {
  return side === "base" ? "target (merge base)" : "merge request";
}

/**
 * HelmReleases present on both sides whose chart output (objects with helm-controller's origin
 * labels) is on one side only, or that a render error names on one side: a chart that failed to
 * render there, never a whole chart created or deleted. Keyed namespace/name, with the failed side.
 */
function unrenderedReleases(pair: OverlayPair): Map<string, "base" | "head"> {
  const releasesOf = (side: RenderSide | undefined) =>
    new Set(
      (side?.manifests ?? [])
        .filter((m) => m.ref.kind === "HelmRelease" && m.ref.apiVersion.startsWith("helm.toolkit.fluxcd.io/"))
        .map((m) => `${m.ref.namespace ?? ""}/${m.ref.name}`),
    );
  const outputOf = (side: RenderSide | undefined) =>
    new Set((side?.manifests ?? []).flatMap((m) => helmReleaseOf(m.object).helmRelease ?? []));
  const failedOf = (side: RenderSide | undefined) =>
    new Set(
      (side?.findings ?? []).flatMap((finding) => {
        const resource = finding.resource;
        return finding.severity === "error" && resource?.kind === "HelmRelease" ? [`${resource.namespace ?? ""}/${resource.name}`] : [];
      }),
    );
  const both = [...releasesOf(pair.base)].filter((release) => releasesOf(pair.head).has(release));
  const output = { base: outputOf(pair.base), head: outputOf(pair.head) };
  const failed = { base: failedOf(pair.base), head: failedOf(pair.head) };
  const unrendered = new Map<string, "base" | "head">();
  for (const release of both) {
    for (const side of ["base", "head"] as const) {
      const other = side === "base" ? "head" : "base";
      if (failed[side].has(release) || (!output[side].has(release) && output[other].has(release))) unrendered.set(release, side);
    }
  }
  return unrendered;
}

function compareOverlay(
  pair: OverlayPair,
  options: CompareOptions,
  skippedReleases: ReadonlySet<string>,
  sameInputs: ReadonlySet<string>,
): { changes: GitObjectChange[]; risks: Risk[] } {
  const overlay = (pair.head ?? pair.base)!.overlay;
  const kustomization = kustomizationOf(overlay, options.naming);
  const scope = { cluster: pair.cluster, layer: pair.layer, kustomization: `${kustomization.namespace}/${kustomization.name}` };
  const outsideSkipped = (manifest: Manifest) => !skippedReleases.has(helmReleaseOf(manifest.object).helmRelease ?? "\u0000");
  const before = byKey((pair.base?.manifests ?? []).filter(outsideSkipped));
  const after = byKey((pair.head?.manifests ?? []).filter(outsideSkipped));
  // Whether Flux deletes what this Kustomization no longer renders: the Kustomization as the merge
  // request leaves it, or as it was when the merge request removes it.
  const prunes = kustomizationPrunes((pair.head ?? pair.base)!.overlay);
  const changes: GitObjectChange[] = [];
  const risks: Risk[] = [];
  const record = (change: GitObjectChange, objects: { before?: Record<string, unknown>; after?: Record<string, unknown> }) => {
    changes.push(change);
    risks.push(...risksOf(change, objects));
  };
  for (const [key, manifest] of after) {
    const old = before.get(key);
    const where = {
      ...scope,
      ...helmReleaseOf(manifest.object),
      ref: manifest.ref,
      ...(manifest.origin ? { file: manifest.origin.file } : {}),
    };
    if (!old) {
      record({ ...where, action: "create", yaml: { after: viewYaml(manifest.object) } }, { after: manifest.object });
      continue;
    }
    // Same chart, same values: a difference is what the chart generates anew on every render
    // (genCA, randAlphaNum), which helm-controller would not apply for an unchanged release either.
    if (where.helmRelease !== undefined && sameInputs.has(where.helmRelease)) continue;
    const update = compareObject(old.object, manifest.object);
    if (update) record({ ...where, action: "update", ...update }, { before: old.object, after: manifest.object });
  }
  for (const [key, manifest] of before) {
    if (after.has(key)) continue;
    const deletion = deletionOf(manifest.object, prunes);
    record(
      {
        ...scope,
        ...helmReleaseOf(manifest.object),
        ref: manifest.ref,
        action: "delete",
        ...deletion,
        yaml: { before: viewYaml(manifest.object) },
        ...(manifest.origin ? { file: manifest.origin.file } : {}),
      },
      { before: manifest.object },
    );
  }
  return { changes, risks };
}

/**
 * The HelmReleases of a pair whose inputs are the same on both sides: the HelmRelease object, every
 * ConfigMap or Secret its valuesFrom names (rendered by the same Kustomization), and no changed file
 * under a chart folder of this repository. Unknown when the changed files are not known.
 */
/**
 * Clusters whose rendered CRDs serve other API versions on the two sides: every chart there sees
 * other `.Capabilities.APIVersions` and may render anew.
 */
function clustersWithOtherApiVersions(pairs: readonly OverlayPair[]): Set<string> {
  const served = new Map<string, { base: Set<string>; head: Set<string> }>();
  for (const pair of pairs) {
    const sets = served.get(pair.cluster) ?? { base: new Set<string>(), head: new Set<string>() };
    served.set(pair.cluster, sets);
    for (const side of ["base", "head"] as const)
      for (const manifest of pair[side]?.manifests ?? []) {
        if (manifest.ref.kind !== "CustomResourceDefinition") continue;
        const spec = isRecord(manifest.object["spec"]) ? manifest.object["spec"] : {};
        const versions = Array.isArray(spec["versions"]) ? spec["versions"].filter(isRecord) : [];
        for (const version of versions) sets[side].add(`${scalarText(spec["group"])}/${scalarText(version["name"])}`);
      }
  }
  const differ = (a: Set<string>, b: Set<string>) => a.size !== b.size || [...a].some((entry) => !b.has(entry));
  return new Set([...served].filter(([, sets]) => differ(sets.base, sets.head)).map(([cluster]) => cluster));
}

function sameReleaseInputs(pair: OverlayPair, options: CompareOptions): Set<string> {
  const same = new Set<string>();
  const { changedFiles, kubernetesVersions } = options;
  if (!changedFiles || !pair.base || !pair.head) return same;
  if (kubernetesVersions && kubernetesVersions.base !== kubernetesVersions.head) return same;
  const before = byKey(pair.base.manifests);
  const after = byKey(pair.head.manifests);
  for (const [key, release] of after) {
    if (release.ref.kind !== "HelmRelease" || !release.ref.apiVersion.startsWith("helm.toolkit.fluxcd.io/")) continue;
    const old = before.get(key);
    if (!old || !isDeepStrictEqual(old.object, release.object)) continue;
    const spec = isRecord(release.object["spec"]) ? release.object["spec"] : {};
    const namespace = release.ref.namespace ?? "default";
    const sources = Array.isArray(spec["valuesFrom"]) ? spec["valuesFrom"] : [];
    const sourcesSame = sources.every((source) => {
      if (!isRecord(source) || typeof source["kind"] !== "string" || typeof source["name"] !== "string") return false;
      const ref = { apiVersion: "v1", kind: source["kind"], name: source["name"], namespace };
      const [a, b] = [before, after].map((side) =>
        [...side.values()].find((m) => m.ref.kind === ref.kind && m.ref.name === ref.name && (m.ref.namespace ?? "default") === namespace),
      );
      return a !== undefined && b !== undefined && isDeepStrictEqual(a.object, b.object);
    });
    if (!sourcesSame) continue;
    const chartSpec = isRecord(spec["chart"]) && isRecord(spec["chart"]["spec"]) ? spec["chart"]["spec"] : undefined;
    const chartPath = typeof chartSpec?.["chart"] === "string" ? chartSpec["chart"].replace(/^\.\//, "").replace(/\/+$/, "") : undefined;
    // A chart reached through chartRef, or one whose folder the change touches, may render anew.
    if (!chartPath || spec["chartRef"] !== undefined) continue;
    if (changedFiles.some((file) => file === chartPath || file.startsWith(`${chartPath}/`))) continue;
    same.add(`${namespace}/${release.ref.name}`);
  }
  return same;
}

/** Field changes and views of one object, undefined when nothing that matters changed. */
export function compareObject(
  beforeObject: Record<string, unknown>,
  afterObject: Record<string, unknown>,
): Pick<GitObjectChange, "fields" | "noiseOnly" | "diff" | "yaml"> | undefined {
  const secret = isSecretObject(afterObject) || isSecretObject(beforeObject);
  const before = fieldsThatMatter(secret ? withoutSecretValues(beforeObject) : beforeObject);
  const after = fieldsThatMatter(secret ? withoutSecretValues(afterObject) : afterObject);
  const fields = [...diffFields(before, after), ...(secret ? secretKeyFields(beforeObject, afterObject) : [])];
  if (fields.length === 0) return undefined;
  const beforeYaml = toDiffYaml(before);
  const afterYaml = toDiffYaml(after);
  return {
    fields,
    ...(fields.every((field) => field.noise) ? { noiseOnly: true } : {}),
    diff: unifiedHunks(beforeYaml, afterYaml),
    yaml: { before: beforeYaml, after: afterYaml },
  };
}

/** A Secret's keys (data and stringData, as the API server merges them) that were added, removed or changed. */
function secretKeyFields(before: Record<string, unknown>, after: Record<string, unknown>): FieldChange[] {
  const a = secretData(before);
  const b = secretData(after);
  const fields: FieldChange[] = [];
  for (const key of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const path = /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? `data.${key}` : `data[${JSON.stringify(key)}]`;
    if (!b.has(key)) fields.push({ path, kind: "removed", secretKey: true });
    else if (!a.has(key)) fields.push({ path, kind: "added", secretKey: true });
    else if (a.get(key) !== b.get(key)) fields.push({ path, kind: "changed", secretKey: true });
  }
  return fields;
}

function secretData(object: Record<string, unknown>): Map<string, string> {
  const values = new Map<string, string>();
  if (isRecord(object["data"])) for (const [key, value] of Object.entries(object["data"])) values.set(key, String(value));
  if (isRecord(object["stringData"]))
    for (const [key, value] of Object.entries(object["stringData"])) values.set(key, Buffer.from(String(value)).toString("base64"));
  return values;
}

/** The YAML a reviewer sees of one side: the fields that matter, a Secret without its values. */
export function viewYaml(object: Record<string, unknown>): string {
  return toDiffYaml(fieldsThatMatter(isSecretObject(object) ? withoutSecretValues(object) : object));
}

function byKey(manifests: readonly Manifest[]): Map<string, Manifest> {
  const map = new Map<string, Manifest>();
  for (const manifest of manifests) map.set(objectKey(manifest.ref), manifest);
  return map;
}

function helmReleaseOf(object: Record<string, unknown>): { helmRelease?: string } {
  const metadata = isRecord(object["metadata"]) ? object["metadata"] : {};
  const labels = isRecord(metadata["labels"]) ? metadata["labels"] : {};
  const name = labels[HELM_RELEASE_NAME_LABEL];
  const namespace = labels[HELM_RELEASE_NAMESPACE_LABEL];
  return typeof name === "string" && typeof namespace === "string" ? { helmRelease: `${namespace}/${name}` } : {};
}

/** spec.prune of the overlay's Flux Kustomization (the implied one of a folder layout prunes). */
function kustomizationPrunes(overlay: Overlay): boolean {
  if (!overlay.flux?.object) return true;
  const spec = isRecord(overlay.flux.object["spec"]) ? overlay.flux.object["spec"] : {};
  return spec["prune"] === true;
}

function deletionOf(object: Record<string, unknown>, prunes: boolean): Pick<GitObjectChange, "deletion" | "deletionReason"> {
  if (helmReleaseOf(object).helmRelease) {
    // helm-controller's upgrade or uninstall deletes what the chart no longer renders, unless kept.
    if (metadataValue(object, HELM_RESOURCE_POLICY) === "keep")
      return { deletion: "orphaned", deletionReason: `${HELM_RESOURCE_POLICY}: keep` };
    return { deletion: "pruned", deletionReason: "the HelmRelease's chart no longer renders it" };
  }
  if (metadataValue(object, FLUX_PRUNE_ANNOTATION)?.toLowerCase() === "disabled")
    return { deletion: "orphaned", deletionReason: `${FLUX_PRUNE_ANNOTATION}: disabled` };
  return prunes
    ? { deletion: "pruned", deletionReason: "the Kustomization prunes" }
    : { deletion: "orphaned", deletionReason: "the Kustomization does not prune (spec.prune is not true)" };
}
