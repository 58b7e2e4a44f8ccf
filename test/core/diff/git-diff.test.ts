// Chart output grouped by HelmRelease, from helm-controller's origin labels. Until the engine renders
// HelmReleases, these objects are written here; the end-to-end case waits for that render.
import { describe, expect, it } from "vitest";
import { compareRenders, type RenderSide } from "../../../core/diff/git-diff.ts";
import type { Overlay } from "../../../core/model/fleet.ts";
import { resourceRefOf, type Manifest } from "../../../core/manifests.ts";

const overlay: Overlay = { environment: "prod", layer: "apps", path: "apps", dependsOn: [], order: 1 };
const release = {
  apiVersion: "helm.toolkit.fluxcd.io/v2",
  kind: "HelmRelease",
  metadata: { name: "web", namespace: "apps" },
  spec: { values: { replicas: 1 } },
};
const chartDeployment = (replicas: number) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: {
    name: "web",
    namespace: "apps",
    labels: { "helm.toolkit.fluxcd.io/name": "web", "helm.toolkit.fluxcd.io/namespace": "apps" },
  },
  spec: { replicas },
});

function side(objects: Record<string, unknown>[]): RenderSide {
  return { overlay, ok: true, manifests: objects.map((object): Manifest => ({ ref: resourceRefOf(object), object })) };
}

describe("compareRenders and HelmReleases", () => {
  it("puts a chart's objects under their HelmRelease, inside the Kustomization", () => {
    const result = compareRenders([
      { cluster: "prod", layer: "apps", base: side([release, chartDeployment(1)]), head: side([release, chartDeployment(2)]) },
    ]);
    expect(result.changes).toEqual([
      expect.objectContaining({
        kustomization: "flux-system/apps",
        helmRelease: "apps/web",
        action: "update",
        ref: expect.objectContaining({ kind: "Deployment" }),
      }),
    ]);
  });

  it("calls a chart whose output is on one side only a problem, not a wholesale delete", () => {
    const result = compareRenders([{ cluster: "prod", layer: "apps", base: side([release, chartDeployment(1)]), head: side([release]) }]);
    expect(result.changes).toEqual([]);
    expect(result.problems).toEqual([
      expect.objectContaining({
        layer: "apps",
        message: expect.stringContaining("HelmRelease apps/web renders no objects on the merge request side"),
      }),
    ]);
  });

  it("deletes, as Helm uninstalls them, the objects of a HelmRelease the change removes", () => {
    const result = compareRenders([{ cluster: "prod", layer: "apps", base: side([release, chartDeployment(1)]), head: side([]) }]);
    expect(result.problems).toEqual([]);
    expect(result.changes.map((change) => [change.ref.kind, change.action, change.deletion])).toEqual([
      ["HelmRelease", "delete", "pruned"],
      ["Deployment", "delete", "pruned"],
    ]);
  });
});
