// The tree every view of `diff --against` shares: cluster → Flux Kustomization → HelmRelease (when
// the objects came from a chart) → kind → object.
import type { GitObjectChange } from "../diff/git-diff.ts";

export interface ReleaseGroup {
  /** namespace/name of the HelmRelease; undefined for the Kustomization's own objects. */
  helmRelease?: string;
  kinds: { kind: string; changes: GitObjectChange[] }[];
}

export interface KustomizationGroup {
  layer: string;
  kustomization: string;
  releases: ReleaseGroup[];
}

export interface ClusterGroup {
  cluster: string;
  kustomizations: KustomizationGroup[];
}

const ACTION_RANK: Readonly<Record<GitObjectChange["action"], number>> = { delete: 0, update: 1, create: 2 };

export function groupGitChanges(changes: readonly GitObjectChange[]): ClusterGroup[] {
  const clusters: ClusterGroup[] = [];
  for (const change of changes) {
    let cluster = clusters.find((group) => group.cluster === change.cluster);
    if (!cluster) clusters.push((cluster = { cluster: change.cluster, kustomizations: [] }));
    let kustomization = cluster.kustomizations.find((group) => group.layer === change.layer);
    if (!kustomization)
      cluster.kustomizations.push((kustomization = { layer: change.layer, kustomization: change.kustomization, releases: [] }));
    let release = kustomization.releases.find((group) => group.helmRelease === change.helmRelease);
    if (!release)
      kustomization.releases.push((release = { ...(change.helmRelease ? { helmRelease: change.helmRelease } : {}), kinds: [] }));
    let kind = release.kinds.find((group) => group.kind === change.ref.kind);
    if (!kind) release.kinds.push((kind = { kind: change.ref.kind, changes: [] }));
    kind.changes.push(change);
  }
  for (const cluster of clusters) {
    for (const kustomization of cluster.kustomizations) {
      // The Kustomization's own objects first, then each HelmRelease's.
      kustomization.releases.sort((a, b) =>
        a.helmRelease === undefined ? -1 : b.helmRelease === undefined ? 1 : compareText(a.helmRelease, b.helmRelease),
      );
      for (const release of kustomization.releases) {
        release.kinds.sort((a, b) => compareText(a.kind, b.kind));
        for (const kind of release.kinds)
          kind.changes.sort((a, b) => ACTION_RANK[a.action] - ACTION_RANK[b.action] || compareText(describeRef(a), describeRef(b)));
      }
    }
  }
  return clusters;
}

export function describeRef(change: Pick<GitObjectChange, "ref">): string {
  return `${change.ref.kind} ${change.ref.namespace ? `${change.ref.namespace}/` : ""}${change.ref.name}`;
}

export function describeGitAction(change: GitObjectChange): string {
  if (change.action === "create") return "created";
  if (change.action === "update") return change.noiseOnly ? "changed (chart-bump metadata only)" : "changed";
  return `deleted: ${change.deletion}${change.deletionReason ? ` (${change.deletionReason})` : ""}`;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
