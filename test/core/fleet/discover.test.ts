import { describe, expect, it } from "vitest";
import { UserError } from "../../../core/errors.ts";
import { discoverFleet } from "../../../core/fleet/discover.ts";
import { examplePath, makeRepo, type Tree } from "../../helpers/temp-repo.ts";
import { quietContext } from "../../helpers/context.ts";

const kustomization = (resources: string[] = [], extra = "") =>
  `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n${resources.map((r) => `  - ${r}`).join("\n") || "  []"}\n${extra}`;

function layoutA(envs: Record<string, string[]>): Tree {
  const tree: Tree = {};
  const layers = {
    controllers: "gitops/flux/infrastructure/controllers",
    configs: "gitops/flux/infrastructure/configs",
    apps: "gitops/flux/apps",
  };
  for (const [layer, dir] of Object.entries(layers)) {
    tree[`${dir}/base/kustomization.yaml`] = kustomization();
    for (const [env, layersOfEnv] of Object.entries(envs)) {
      if (layersOfEnv.includes(layer))
        tree[`${dir}/overlays/${env}/kustomization.yaml`] = kustomization(["../../base"], `nameSuffix: -${env}\n`);
    }
  }
  return tree;
}

const fluxKustomization = (name: string, path: string, dependsOn: string[] = []) => `---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: ${name}
  namespace: flux-system
spec:
  interval: 1h
  path: ${path}
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
${dependsOn.length ? `  dependsOn:\n${dependsOn.map((d) => `    - name: ${d}`).join("\n")}\n` : ""}`;

describe("discoverFleet on the bundled examples", () => {
  it("reads layout A's layers and order from its gitops-ci.yaml", async () => {
    const { fleet, findings } = await discoverFleet(quietContext(), examplePath("examples/layout-a"));
    expect(findings.filter((f) => f.severity === "error")).toEqual([]);
    expect(fleet.source).toBe("config");
    expect(fleet.layers.map((l) => l.name)).toEqual(["controllers", "configs", "apps"]);
    expect(fleet.environments.map((e) => e.name).sort()).toEqual(["prod", "staging"]);
    const prod = fleet.overlays.filter((o) => o.environment === "prod");
    expect(prod.map((o) => [o.order, o.layer, o.path])).toEqual([
      [1, "controllers", "gitops/flux/infrastructure/controllers/overlays/prod"],
      [2, "configs", "gitops/flux/infrastructure/configs/overlays/prod"],
      [3, "apps", "gitops/flux/apps/overlays/prod"],
    ]);
  });

  it("finds layout B by convention: infrastructure -> observability -> applications", async () => {
    const { fleet, findings } = await discoverFleet(quietContext(), examplePath("examples/layout-b"));
    expect(findings.filter((f) => f.severity === "error")).toEqual([]);
    expect(fleet.source).toBe("layout-b");
    expect(fleet.layers.map((l) => l.name)).toEqual(["infrastructure", "observability", "applications"]);
    expect(fleet.environments.map((e) => e.name)).toEqual(["local", "production", "staging"]);
    expect(fleet.overlays.find((o) => o.environment === "staging" && o.layer === "observability")?.path).toBe(
      "clusters/staging/observability",
    );
    expect(fleet.overlays.find((o) => o.layer === "applications")?.dependsOn).toEqual(["observability"]);
  });

  it("reads Flux Kustomization objects: paths, dependsOn and postBuild per cluster", async () => {
    const { fleet, findings } = await discoverFleet(quietContext(), examplePath("test/fixtures/fleets/flux-kustomizations"));
    expect(findings.filter((f) => f.severity === "error")).toEqual([]);
    expect(fleet.source).toBe("flux-clusters");
    expect(fleet.environments.map((e) => e.name)).toEqual(["production", "staging"]);
    // The cluster's own sync applies the others, so it comes first.
    expect(fleet.layers.map((l) => l.name)).toEqual(["flux-system", "infra-controllers", "infra-configs", "apps"]);
    const apps = fleet.overlays.find((o) => o.environment === "staging" && o.layer === "apps");
    expect(apps?.path).toBe("apps/staging");
    expect(apps?.dependsOn).toEqual(["infra-configs", "flux-system"]);
    expect(apps?.flux?.object?.["spec"]).toMatchObject({ postBuild: { substituteFrom: [expect.objectContaining({ kind: "ConfigMap" })] } });
    expect(apps?.flux?.location.file).toMatch(/^clusters\/staging\//);
    // substituteFrom resolved from the ConfigMap the cluster's sync renders.
    expect(apps?.build?.unresolved).toEqual([]);
  });
});

describe("discoverFleet on layout A without a config", () => {
  it("orders the conventional layer names", async () => {
    const root = await makeRepo(layoutA({ prod: ["controllers", "configs", "apps"], staging: ["controllers", "configs", "apps"] }));
    const { fleet, findings } = await discoverFleet(quietContext(), root);
    expect(findings).toEqual([]);
    expect(fleet.source).toBe("layout-a");
    expect(fleet.layers.map((l) => [l.name, l.dependsOn])).toEqual([
      ["controllers", []],
      ["configs", ["controllers"]],
      ["apps", ["configs"]],
    ]);
  });

  it("reports an environment without an overlay in one layer, naming the folder", async () => {
    const root = await makeRepo(layoutA({ prod: ["controllers", "configs", "apps"], staging: ["controllers", "configs"] }));
    const { fleet, findings } = await discoverFleet(quietContext(), root);
    expect(findings).toEqual([
      expect.objectContaining({
        severity: "error",
        check: "fleet/missing-overlay",
        environment: "staging",
        layer: "apps",
        file: "gitops/flux/apps/overlays/",
      }),
    ]);
    // The other overlays are still planned.
    expect(fleet.overlays.filter((o) => o.environment === "staging").map((o) => o.layer)).toEqual(["controllers", "configs"]);
  });

  it("reports a layer with overlays but no base", async () => {
    const tree = layoutA({ prod: ["controllers", "configs", "apps"] });
    delete tree["gitops/flux/apps/base/kustomization.yaml"];
    const root = await makeRepo(tree);
    const { findings } = await discoverFleet(quietContext(), root);
    expect(findings).toEqual([expect.objectContaining({ check: "fleet/missing-base", file: "gitops/flux/apps/", layer: "apps" })]);
  });

  it("asks for a config when a layer name has no conventional place", async () => {
    const tree = layoutA({ prod: ["controllers", "configs", "apps"] });
    tree["gitops/flux/extras/overlays/prod/kustomization.yaml"] = kustomization();
    tree["gitops/flux/extras/base/kustomization.yaml"] = kustomization();
    const { findings } = await discoverFleet(quietContext(), await makeRepo(tree));
    expect(findings).toEqual([
      expect.objectContaining({ check: "fleet/unknown-layer-order", layer: "extras", hint: expect.stringContaining("gitops-ci.yaml") }),
    ]);
  });
});

describe("discoverFleet from Flux Kustomizations under clusters/<name>/ without a committed sync", () => {
  const base: Tree = {
    "infrastructure/controllers/kustomization.yaml": kustomization(),
    "infrastructure/configs/kustomization.yaml": kustomization(),
    "apps/prod/kustomization.yaml": kustomization(),
  };

  it("reports a dependsOn cycle with the file and line of the Kustomization", async () => {
    const root = await makeRepo({
      ...base,
      "clusters/prod/infrastructure.yaml":
        fluxKustomization("infra-controllers", "./infrastructure/controllers", ["apps"]) +
        fluxKustomization("infra-configs", "./infrastructure/configs", ["infra-controllers"]),
      "clusters/prod/apps.yaml": fluxKustomization("apps", "./apps/prod", ["infra-configs"]),
    });
    const { fleet, findings } = await discoverFleet(quietContext(), root);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      severity: "error",
      check: "fleet/dependency-cycle",
      environment: "prod",
      file: expect.stringMatching(/^clusters\/prod\//),
    });
    expect(findings[0]?.line).toBeGreaterThan(0);
    expect(findings[0]?.message).toMatch(
      /infra-controllers -> apps -> infra-configs -> infra-controllers|apps -> infra-configs -> infra-controllers -> apps/,
    );
    // Every overlay is still planned so the other checks run (with the sync, implied as flux bootstrap would create it).
    expect(fleet.overlays).toHaveLength(4);
  });

  it("reports a dangling dependsOn", async () => {
    const root = await makeRepo({
      ...base,
      "clusters/prod/apps.yaml": fluxKustomization("apps", "./apps/prod", ["infra-configz"]),
    });
    const { findings } = await discoverFleet(quietContext(), root);
    expect(findings).toEqual([
      expect.objectContaining({
        check: "fleet/dangling-depends-on",
        file: "clusters/prod/apps.yaml",
        line: 2,
        message: expect.stringContaining('"infra-configz"'),
      }),
    ]);
  });

  it("reports a Kustomization whose path does not exist", async () => {
    const root = await makeRepo({ ...base, "clusters/prod/apps.yaml": fluxKustomization("apps", "./apps/production") });
    const { findings } = await discoverFleet(quietContext(), root);
    expect(findings).toEqual([
      expect.objectContaining({
        check: "fleet/missing-path",
        file: "clusters/prod/apps.yaml",
        message: expect.stringContaining("apps/production"),
      }),
    ]);
  });
});

describe("discoverFleet with a config file", () => {
  const config = (body: string) => `apiVersion: gitops-ci/v1\nkind: Config\n${body}`;

  it("rejects an unknown key, naming the file, key and line", async () => {
    const root = await makeRepo({ "gitops-ci.yaml": config("layers:\n  - name: apps\n    path: apps\n    dependson: [configs]\n") });
    const error = await discoverFleet(quietContext(), root).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toContain("gitops-ci.yaml:6: layers[0].dependson: is not a known key");
  });

  it("rejects invalid YAML with its line", async () => {
    const root = await makeRepo({ "gitops-ci.yaml": config("layers:\n  - name: apps\n   path: [\n") });
    const error = (await discoverFleet(quietContext(), root).catch((e: unknown) => e)) as UserError;
    expect(error).toBeInstanceOf(UserError);
    expect(error.file).toBe("gitops-ci.yaml");
    expect(error.line).toBeGreaterThan(0);
    expect(error.message).toContain("invalid YAML");
  });

  it("rejects a config that cannot be read", async () => {
    const root = await makeRepo({ "gitops-ci.yaml/oops": "" });
    const error = (await discoverFleet(quietContext(), root).catch((e: unknown) => e)) as UserError;
    expect(error).toBeInstanceOf(UserError);
    expect(error.message).toMatch(/cannot read the config file: EISDIR/);
    expect(error.file).toBe("gitops-ci.yaml");
  });

  it("orders custom layer names from dependsOn, whatever their declaration order", async () => {
    const root = await makeRepo({
      "gitops-ci.yaml": config(
        "layers:\n  - name: workloads\n    path: w\n    dependsOn: [platform]\n  - name: crds\n    path: c\n  - name: platform\n    path: p\n    dependsOn: [crds]\n",
      ),
      "w/base/kustomization.yaml": kustomization(),
      "w/overlays/dev/kustomization.yaml": kustomization(),
      "c/overlays/dev/kustomization.yaml": kustomization(),
      "p/overlays/dev/kustomization.yaml": kustomization(),
    });
    const { fleet, findings } = await discoverFleet(quietContext(), root);
    expect(findings).toEqual([]);
    expect(fleet.overlays.map((o) => `${o.order}:${o.layer}`)).toEqual(["1:crds", "2:platform", "3:workloads"]);
  });

  it("reports a cycle declared in the config, naming the config file", async () => {
    const root = await makeRepo({
      "gitops-ci.yaml": config("layers:\n  - name: a\n    path: a\n    dependsOn: [b]\n  - name: b\n    path: b\n    dependsOn: [a]\n"),
      "a/overlays/dev/kustomization.yaml": kustomization(),
      "b/overlays/dev/kustomization.yaml": kustomization(),
    });
    const { findings } = await discoverFleet(quietContext(), root);
    expect(findings).toEqual([expect.objectContaining({ check: "fleet/dependency-cycle", file: "gitops-ci.yaml" })]);
  });

  it("fails clearly when no fleet can be found", async () => {
    const root = await makeRepo({ "README.md": "nothing here" });
    await expect(discoverFleet(quietContext(), root)).rejects.toThrow(/no fleet found/);
  });
});
