import { describe, expect, it } from "vitest";
import { kustomizationOf, ownerSelector, pruneDisabled, skipReason, withOwnerLabels } from "../../../core/diff/flux.ts";
import { PendingDefinitions } from "../../../core/diff/pending-definitions.ts";
import { pruneChanges } from "../../../core/diff/prune.ts";
import type { Overlay } from "../../../core/model/fleet.ts";
import { objectKey, resourceRefOf, type Manifest } from "../../../core/manifests.ts";

const overlay = (fields: Partial<Overlay> = {}): Overlay => ({
  environment: "prod",
  layer: "apps",
  path: "apps/prod",
  dependsOn: [],
  order: 3,
  ...fields,
});
const withMeta = (annotations: Record<string, string>) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a", annotations } });
const manifest = (object: Record<string, unknown>): Manifest => ({ ref: resourceRefOf(object), object });

describe("Flux Kustomization names and owner labels", () => {
  it("uses the repository's Flux Kustomization, else the configured naming ({layer}, {env}; default {layer} in flux-system)", () => {
    expect(
      kustomizationOf(overlay({ flux: { name: "apps", namespace: "flux-system", location: { file: "clusters/prod/apps.yaml" } } })),
    ).toEqual({ name: "apps", namespace: "flux-system" });
    expect(kustomizationOf(overlay())).toEqual({ name: "apps", namespace: "flux-system" });
    expect(kustomizationOf(overlay(), { name: "{env}-{layer}", namespace: "flux" })).toEqual({ name: "prod-apps", namespace: "flux" });
    expect(ownerSelector({ name: "apps", namespace: "flux-system" })).toBe(
      "kustomize.toolkit.fluxcd.io/name=apps,kustomize.toolkit.fluxcd.io/namespace=flux-system",
    );
  });

  it("adds the owner labels to a copy", () => {
    const object = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a", labels: { app: "x" } } };
    expect(withOwnerLabels(object, { name: "apps", namespace: "flux-system" })).toMatchObject({
      metadata: {
        labels: { app: "x", "kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": "flux-system" },
      },
    });
    expect(object.metadata.labels).toEqual({ app: "x" });
  });

  it("skips like kustomize-controller: reconcile disabled in Git or cluster, ssa Ignore, ssa IfNotPresent on an existing object", () => {
    expect(skipReason(withMeta({ "kustomize.toolkit.fluxcd.io/reconcile": "disabled" }), undefined)).toMatch(
      /reconcile: disabled \(in Git\)/,
    );
    expect(skipReason(withMeta({}), withMeta({ "kustomize.toolkit.fluxcd.io/reconcile": "disabled" }))).toMatch(/in the cluster/);
    expect(skipReason(withMeta({ "kustomize.toolkit.fluxcd.io/ssa": "Ignore" }), undefined)).toMatch(/ssa: Ignore/);
    expect(skipReason(withMeta({ "kustomize.toolkit.fluxcd.io/ssa": "IfNotPresent" }), undefined)).toBeUndefined();
    expect(skipReason(withMeta({ "kustomize.toolkit.fluxcd.io/ssa": "IfNotPresent" }), withMeta({}))).toMatch(/IfNotPresent/);
    expect(skipReason(withMeta({ "kustomize.toolkit.fluxcd.io/ssa": "Merge" }), withMeta({}))).toBeUndefined();
    expect(pruneDisabled(withMeta({ "kustomize.toolkit.fluxcd.io/prune": "disabled" }))).toBe(true);
  });
});

describe("prune", () => {
  const live = (name: string, metadata: Record<string, unknown> = {}) => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: "apps", ...metadata },
  });

  it("reports labelled objects no overlay of the environment renders; keeps prune-disabled, terminating and controller-owned ones", () => {
    const rendered = new Set([objectKey(resourceRefOf(live("kept")))]);
    const changes = pruneChanges({
      environment: "prod",
      layer: "apps",
      rendered,
      labelled: [
        live("kept"),
        live("gone"),
        live("gone"),
        live("protected", { annotations: { "kustomize.toolkit.fluxcd.io/prune": "disabled" } }),
        live("terminating", { deletionTimestamp: "2026-01-01T00:00:00Z" }),
        live("owned", { ownerReferences: [{ controller: true, kind: "Deployment", name: "web" }] }),
      ],
    });
    expect(changes.map((change) => [change.ref.name, change.action])).toEqual([
      ["gone", "prune"],
      ["protected", "skip"],
    ]);
  });
});

describe("pending definitions", () => {
  it("knows Namespaces and CRDs a layer creates, and API groups crds.providedBy gives a HelmRelease's chart", () => {
    const pending = new PendingDefinitions({ "my-operator": ["example.com"] });
    pending.record(manifest({ apiVersion: "v1", kind: "Namespace", metadata: { name: "team" } }), "create", "controllers");
    pending.record(manifest({ apiVersion: "v1", kind: "Namespace", metadata: { name: "existing" } }), "unchanged", "controllers");
    pending.record(
      manifest({
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        metadata: { name: "widgets.acme.io" },
        spec: { group: "acme.io", names: { kind: "Widget" }, versions: [{ name: "v1", served: true }] },
      }),
      "create",
      "controllers",
    );
    pending.record(
      manifest({
        apiVersion: "helm.toolkit.fluxcd.io/v2",
        kind: "HelmRelease",
        metadata: { name: "cert-manager", namespace: "cert-manager" },
        spec: { chart: { spec: { chart: "cert-manager" } } },
      }),
      "create",
      "controllers",
    );
    pending.record(
      manifest({
        apiVersion: "helm.toolkit.fluxcd.io/v2",
        kind: "HelmRelease",
        metadata: { name: "op" },
        spec: { chart: { spec: { chart: "my-operator" } } },
      }),
      "update",
      "configs",
    );

    expect(pending.namespace("team")).toEqual({ layer: "controllers", what: "Namespace team" });
    expect(pending.namespace("existing")).toBeUndefined();
    expect(pending.kind("acme.io/v1", "Widget")).toMatchObject({ layer: "controllers", what: "CustomResourceDefinition widgets.acme.io" });
    expect(pending.kind("acme.io/v2", "Widget")).toBeUndefined();
    // No table guesses what a chart installs: its rendered CRDs are recorded as CRDs, like widgets.acme.io.
    expect(pending.kind("cert-manager.io/v1", "ClusterIssuer")).toBeUndefined();
    expect(pending.kind("example.com/v1", "Thing")).toMatchObject({ layer: "configs" });
    expect(pending.kind("other.io/v1", "Thing")).toBeUndefined();
  });
});
