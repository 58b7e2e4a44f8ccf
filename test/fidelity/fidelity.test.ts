// Fidelity: for every Flux Kustomization of every fixture layout, what gitops-ci renders equals
// what `flux build kustomization --dry-run` renders, object for object and field for field; and
// the whole tree discovered from each cluster's sync equals `flux build --recursive`.
//
// The one allowed difference is documented in README (Rendering): a real render resolves
// postBuild.substituteFrom from objects the cluster renders, which Flux's dry-run skips. These
// comparisons therefore build both sides in dry-run mode; test/core/fleet covers substituteFrom.
//
// A Kustomization whose source is an ExternalArtifact (an ArtifactGenerator's) has its path inside
// the artifact: both sides build it in the same artifact, made from the generator's copy rules.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import type { TaskContext } from "../../core/context.ts";
import { discoverFleet } from "../../core/fleet/discover.ts";
import type { ClusterKustomization } from "../../core/fleet/from-flux-clusters.ts";
import type { Overlay } from "../../core/model/fleet.ts";
import { materializeArtifact } from "../../core/flux/artifact-generator.ts";
import { runEngine, type EngineResult } from "../../core/flux/engine.ts";
import { isRecord } from "../../core/yaml-file.ts";
import { impliedKustomization } from "../../tasks/render/render-overlay.ts";
import { quietContext } from "../helpers/context.ts";
import { examplePath, makeRepo } from "../helpers/temp-repo.ts";
import { byIdentity, fluxBuild } from "./flux-oracle.ts";

const FIXTURES = [
  "examples/layout-a",
  "examples/layout-b",
  "test/fixtures/fleets/flux-kustomizations",
  "test/fixtures/layouts/classic",
  "test/fixtures/layouts/artifact-generator",
  "test/fixtures/layouts/home-ops",
  "test/fixtures/layouts/edge-cases",
];

describe.each(FIXTURES)("%s renders as flux build kustomization does", (fixture) => {
  it("object for object, field for field, for every Kustomization", { timeout: 600_000 }, async () => {
    const root = examplePath(fixture);
    const context = quietContext(root);
    const { fleet, kustomizations: discovered = [] } = await discoverFleet(context, root);
    const kustomizations = fleet.overlays.map((overlay) => impliedKustomization(overlay));
    expect(kustomizations.length).toBeGreaterThan(0);
    const artifacts = await artifactRoots(root, discovered);
    onTestFinished(artifacts.remove);
    const ours = await buildEach(context, fleet.overlays, artifacts.rootOf);
    let objects = 0;
    for (const [index, kustomization] of kustomizations.entries()) {
      const overlay = fleet.overlays[index]!;
      const label = `${overlay.environment}/${overlay.layer}`;
      const oracle = await fluxBuild(context, artifacts.rootOf(overlay), kustomization);
      const mine = ours[index]!;
      if (mine.error !== undefined) {
        // Both refuse it, or the comparison is void.
        expect(oracle.exitCode, `${label}: gitops-ci failed (${mine.error}) where flux did not`).not.toBe(0);
        continue;
      }
      expect(oracle.exitCode, `${label}: flux failed: ${oracle.stderr}`).toBe(0);
      const expected = byIdentity(oracle.objects);
      const actual = byIdentity(mine.objects);
      expect([...actual.keys()].sort(), label).toEqual([...expected.keys()].sort());
      for (const [key, object] of expected) expect(actual.get(key), `${label}: ${key}`).toEqual(object);
      expect(mine.objects.length, label).toBe(oracle.objects.length);
      objects += mine.objects.length;
    }
    expect(objects).toBeGreaterThan(0);
    // The fidelity count per fixture, in the test log.
    console.log(`${fixture}: ${kustomizations.length} Kustomizations, ${objects} objects equal to flux's`);
  });

  it("discovers from each cluster's sync exactly the tree flux build --recursive renders", { timeout: 600_000 }, async () => {
    const root = examplePath(fixture);
    const context = quietContext(root);
    const { fleet, kustomizations: discovered = [] } = await discoverFleet(context, root);
    if (fleet.source !== "flux-clusters") return; // folder layouts have no sync to start from
    const artifacts = await artifactRoots(root, discovered);
    onTestFinished(artifacts.remove);
    for (const environment of fleet.environments) {
      const overlays = fleet.overlays.filter((overlay) => overlay.environment === environment.name);
      const entry = overlays.find((overlay) => overlay.order === 1)!;
      const ours = await buildEach(context, overlays, artifacts.rootOf);
      const recursive = await fluxBuild(context, root, impliedKustomization(entry), {
        localSources: artifacts.localSources(environment.name),
      });
      if (recursive.exitCode !== 0) {
        // flux cannot follow a source that is not local; we warn and skip the same Kustomizations.
        expect(recursive.stderr).toMatch(/cannot get local path|ExternalArtifact/);
        continue;
      }
      // flux build follows a suspended Kustomization; Flux itself does not apply it, nor do we.
      const suspended = new Set(
        kustomizationsOf(recursive.objects)
          .filter((k) => isRecord(k["spec"]) && k["spec"]["suspend"] === true)
          .map(nameOf),
      );
      const expected = byIdentity(recursive.objects.filter((object) => !suspended.has(ownerOf(object))));
      const actual = byIdentity(ours.flatMap((result) => result.objects));
      expect([...actual.keys()].sort(), environment.name).toEqual([...expected.keys()].sort());
      for (const [key, object] of expected) expect(actual.get(key), `${environment.name}: ${key}`).toEqual(object);
    }
  });
});

describe("regressions a naive renderer got wrong", () => {
  it("classic layout: production's ClusterIssuer uses the production ACME server", async () => {
    const root = examplePath("test/fixtures/layouts/classic");
    const context = quietContext(root);
    const { fleet } = await discoverFleet(context, root);
    const issuers = fleet.overlays.flatMap((overlay) =>
      (overlay.build?.result.objects ?? [])
        .filter((object) => object["kind"] === "ClusterIssuer")
        .map((object) => ({ env: overlay.environment, object })),
    );
    const production = issuers.filter((issuer) => issuer.env === "production");
    expect(production.length).toBeGreaterThan(0);
    for (const { object } of production) {
      expect(JSON.stringify(object)).toContain("https://acme-v02.api.letsencrypt.org/directory");
      expect(JSON.stringify(object)).not.toContain("acme-staging");
    }
  });

  it("home-ops: one cluster, every object with its namespace, components and parents' patches applied", async () => {
    const root = examplePath("test/fixtures/layouts/home-ops");
    const context = quietContext(root);
    const { fleet, findings } = await discoverFleet(context, root);
    expect(fleet.environments).toHaveLength(1);
    expect(findings.filter((finding) => finding.check === "fleet/missing-overlay")).toEqual([]);
    expect(findings.filter((finding) => finding.check === "fleet/dangling-depends-on")).toEqual([]);
    expect(fleet.overlays.length).toBeGreaterThanOrEqual(30);
    const namespaced = new Set([
      "HelmRelease",
      "OCIRepository",
      "HelmRepository",
      "ConfigMap",
      "Secret",
      "Deployment",
      "Service",
      "PersistentVolumeClaim",
      "Kustomization",
    ]);
    for (const overlay of fleet.overlays) {
      for (const object of overlay.build?.result.objects ?? []) {
        if (!namespaced.has(String(object["kind"]))) continue;
        const metadata = isRecord(object["metadata"]) ? object["metadata"] : {};
        expect(metadata["namespace"], `${overlay.layer}: ${String(object["kind"])}/${String(metadata["name"])}`).toBeTruthy();
      }
    }
    // The apps tree comes after the Kustomization that applies it.
    const order = new Map(fleet.overlays.map((overlay) => [overlay.layer, overlay.order]));
    for (const overlay of fleet.overlays) {
      for (const dependency of overlay.dependsOn)
        expect(order.get(dependency)!, `${overlay.layer} after ${dependency}`).toBeLessThan(overlay.order);
    }
  });
});

function kustomizationsOf(objects: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  return objects.filter(
    (object) => object["kind"] === "Kustomization" && String(object["apiVersion"]).startsWith("kustomize.toolkit.fluxcd.io/"),
  );
}

function nameOf(object: Record<string, unknown>): string {
  const metadata = isRecord(object["metadata"]) ? object["metadata"] : {};
  return `${String(metadata["namespace"])}/${String(metadata["name"])}`;
}

function ownerOf(object: Record<string, unknown>): string {
  const metadata = isRecord(object["metadata"]) ? object["metadata"] : {};
  const labels = isRecord(metadata["labels"]) ? metadata["labels"] : {};
  return `${String(labels["kustomize.toolkit.fluxcd.io/namespace"])}/${String(labels["kustomize.toolkit.fluxcd.io/name"])}`;
}

/**
 * The ExternalArtifacts discovery built from, made again (materializeArtifact) in a temporary
 * folder per cluster: where each overlay is built, and flux's --local-sources for them.
 */
async function artifactRoots(root: string, discovered: readonly ClusterKustomization[]) {
  const dir = await mkdtemp(path.join(tmpdir(), "gitops-ci-fidelity-artifacts-"));
  const made = new Map<string, string>();
  for (const item of discovered) {
    const source = item.externalArtifact;
    const key = `${item.cluster}\u0000${source?.key}`;
    if (!source || made.has(key)) continue;
    const into = path.join(dir, String(made.size));
    const result = await materializeArtifact(source.copy, new Map(source.aliases.map((alias) => [alias, root])), into);
    if (!result.ok) throw new Error(`${source.key}: ${result.message}`);
    made.set(key, into);
  }
  const itemOf = (overlay: Overlay) =>
    discovered.find(
      (item) => item.cluster === overlay.environment && item.name === overlay.flux?.name && item.namespace === overlay.flux.namespace,
    );
  return {
    rootOf: (overlay: Overlay): string => {
      const source = itemOf(overlay)?.externalArtifact;
      return source ? made.get(`${overlay.environment}\u0000${source.key}`)! : root;
    },
    localSources: (cluster: string): string[] =>
      [...made]
        .filter(([key]) => key.startsWith(`${cluster}\u0000`))
        .map(([key, into]) => `ExternalArtifact/${key.split("\u0000")[1]}=${into}`),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Our dry-run build of each overlay, in the root it is built in; results in overlay order. */
async function buildEach(
  context: TaskContext,
  overlays: readonly Overlay[],
  rootOf: (overlay: Overlay) => string,
): Promise<EngineResult[]> {
  const results: EngineResult[] = [];
  for (const buildRoot of new Set(overlays.map(rootOf))) {
    const group = overlays.map((overlay, index) => ({ overlay, index })).filter(({ overlay }) => rootOf(overlay) === buildRoot);
    const built = await runEngine(
      context,
      buildRoot,
      group.map(({ overlay, index }) => ({
        id: String(index),
        kustomization: impliedKustomization(overlay),
        resolveSubstituteFrom: false,
        origins: false,
      })),
    );
    group.forEach(({ index }, position) => (results[index] = built[position]!));
  }
  return results;
}

describe("a kustomization's openapi: field", () => {
  // kustomize keeps its OpenAPI schema globally; a custom one must not leak into the next build.
  it("changes its own build only, as Flux's Build keeps it", { timeout: 120_000 }, async () => {
    const schema = {
      definitions: {
        "com.example.v1alpha1.Widget": {
          "x-kubernetes-group-version-kind": [{ group: "example.com", kind: "Widget", version: "v1alpha1" }],
          properties: {
            spec: {
              properties: {
                ports: {
                  type: "array",
                  "x-kubernetes-patch-merge-key": "name",
                  "x-kubernetes-patch-strategy": "merge",
                  items: { type: "object" },
                },
              },
            },
          },
        },
      },
    };
    const widget =
      "apiVersion: example.com/v1alpha1\nkind: Widget\nmetadata:\n  name: w\n  namespace: default\nspec:\n  ports:\n    - name: a\n      port: 1\n";
    const patch =
      "apiVersion: example.com/v1alpha1\nkind: Widget\nmetadata:\n  name: w\n  namespace: default\nspec:\n  ports:\n    - name: b\n      port: 2\n";
    const root = await makeRepo({
      "with/kustomization.yaml": "resources: [widget.yaml]\nopenapi:\n  path: schema.json\npatches:\n  - path: patch.yaml\n",
      "with/schema.json": JSON.stringify(schema),
      "with/widget.yaml": widget,
      "with/patch.yaml": patch,
      "without/kustomization.yaml": "resources: [widget.yaml]\npatches:\n  - path: patch.yaml\n",
      "without/widget.yaml": widget,
      "without/patch.yaml": patch,
    });
    const context = quietContext(root);
    const kustomization = (name: string) => ({
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      metadata: { name, namespace: "flux-system" },
      spec: { interval: "10m", path: `./${name}`, prune: true, sourceRef: { kind: "GitRepository", name: "flux-system" } },
    });
    // One process, in this order: the custom schema first, then a build that must not see it.
    const builds = ["with", "without", "with", "without"].map((name, index) => ({
      id: String(index),
      kustomization: kustomization(name),
      resolveSubstituteFrom: false,
      origins: false,
    }));
    const results = await runEngine({ ...context, concurrency: 1 }, root, builds);
    const ports = (objects: readonly Record<string, unknown>[]) =>
      JSON.stringify((objects[0]?.["spec"] as Record<string, unknown>)["ports"]);
    for (const [index, build] of builds.entries()) {
      const oracle = await fluxBuild(context, root, build.kustomization);
      expect(oracle.exitCode, oracle.stderr).toBe(0);
      expect(results[index]!.objects, `${index}`).toEqual(oracle.objects);
    }
    // The schema made the patch merge by name; without it the list is replaced.
    expect(ports(results[0]!.objects)).not.toEqual(ports(results[1]!.objects));
  });
});
