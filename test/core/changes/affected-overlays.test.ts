import { describe, expect, it } from "vitest";
import type { Fleet } from "../../../core/model/fleet.ts";
import { affectedOverlays } from "../../../core/changes/affected-overlays.ts";
import { changedFiles } from "../../../core/changes/changed-files.ts";
import { overlayInputsByPath, type OverlayInputs } from "../../../core/changes/overlay-inputs.ts";
import { discoverFleet } from "../../../core/fleet/discover.ts";
import { captureContext, quietContext } from "../../helpers/context.ts";
import { branch, commitAll, edit, git, gitRepoFromExample, write } from "./git-steps.ts";

/** What `check --changed-since` does: discover, list inputs, diff, pick; `env/layer` → reasons. */
async function affectedSince(root: string, rev = "main"): Promise<Record<string, string[]>> {
  const { context } = captureContext(root);
  const { fleet, config } = await discoverFleet(quietContext(), root);
  const inputs = await overlayInputsByPath(fleet);
  const changed = await changedFiles(context, root, rev);
  const affected = affectedOverlays(fleet, inputs, changed.files, config ? { configFile: config.file } : {});
  return Object.fromEntries(affected.map(({ overlay, reasons }) => [`${overlay.environment}/${overlay.layer}`, reasons]));
}

describe("affectedOverlays on layout A (layers from gitops-ci.yaml)", () => {
  const layoutA = async () => {
    const { root } = await gitRepoFromExample("examples/layout-a");
    branch(root);
    return root;
  };

  it("a change in a base affects that layer in every environment, and the layers after it", async () => {
    const root = await layoutA();
    await edit(root, "gitops/flux/infrastructure/configs/base/cluster-issuer.yaml");
    commitAll(root);
    expect(await affectedSince(root)).toEqual({
      "prod/configs": ["changed: gitops/flux/infrastructure/configs/base/cluster-issuer.yaml"],
      "prod/apps": ["depends on configs"],
      "staging/configs": ["changed: gitops/flux/infrastructure/configs/base/cluster-issuer.yaml"],
      "staging/apps": ["depends on configs"],
    });
  });

  it("a change in overlays/prod affects prod only, with prod's later layers", async () => {
    const root = await layoutA();
    await edit(root, "gitops/flux/infrastructure/controllers/overlays/prod/lb-ip-pool.yaml");
    commitAll(root);
    expect(await affectedSince(root)).toEqual({
      "prod/controllers": ["changed: gitops/flux/infrastructure/controllers/overlays/prod/lb-ip-pool.yaml"],
      "prod/configs": ["depends on controllers"],
      "prod/apps": ["depends on controllers"],
    });
  });

  it("an untracked new file in an overlay folder counts", async () => {
    const root = await layoutA();
    await write(root, "gitops/flux/apps/overlays/staging/extra-config.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\n");
    expect(await affectedSince(root)).toEqual({ "staging/apps": ["changed: gitops/flux/apps/overlays/staging/extra-config.yaml"] });
  });

  it("README, Terraform and other files outside every overlay's inputs affect nothing", async () => {
    const root = await layoutA();
    await edit(root, "README.md");
    await edit(root, "infrastructure/02-platforms/k8s-prod/main.tf");
    commitAll(root);
    await write(root, "docs/notes.md", "# notes\n");
    expect(await affectedSince(root)).toEqual({});
  });

  it("changes on the target branch after the fork do not count (merge base)", async () => {
    const root = await layoutA();
    await edit(root, "README.md");
    commitAll(root);
    git(root, "checkout", "-q", "main");
    await edit(root, "gitops/flux/apps/base/gitlab.yaml");
    commitAll(root, "target moved on");
    git(root, "checkout", "-q", "feature");
    expect(await affectedSince(root)).toEqual({});
  });

  it.each([
    ["gitops-ci.yaml", "config changed: gitops-ci.yaml"],
    [".sops.yaml", "SOPS rules changed: .sops.yaml"],
  ])("a change to %s affects everything", async (file, reason) => {
    const root = await layoutA();
    await edit(root, file);
    commitAll(root);
    const affected = await affectedSince(root);
    expect(Object.keys(affected).sort()).toEqual([
      "prod/apps",
      "prod/configs",
      "prod/controllers",
      "staging/apps",
      "staging/configs",
      "staging/controllers",
    ]);
    for (const reasons of Object.values(affected)) expect(reasons).toEqual([reason]);
  });
});

describe("affectedOverlays on layout B (the example copied into a git repository)", () => {
  const layoutB = async () => {
    const { root } = await gitRepoFromExample("examples/layout-b");
    branch(root);
    return root;
  };

  it("a base Helm values change re-checks infrastructure everywhere and every later layer", async () => {
    const root = await layoutB();
    await edit(root, "clusters/base/infrastructure/ingress-nginx/helm/values.yaml");
    commitAll(root);
    const affected = await affectedSince(root);
    expect(Object.keys(affected).sort()).toEqual(
      ["local", "production", "staging"].flatMap((env) => [`${env}/applications`, `${env}/infrastructure`, `${env}/observability`]).sort(),
    );
    expect(affected["production/infrastructure"]).toEqual(["changed: clusters/base/infrastructure/ingress-nginx/helm/values.yaml"]);
    expect(affected["production/applications"]).toEqual(["depends on infrastructure"]);
  });

  it("an environment's values change affects that environment from that layer on", async () => {
    const root = await layoutB();
    await edit(root, "clusters/production/observability/helm/values.yaml");
    commitAll(root);
    expect(await affectedSince(root)).toEqual({
      "production/observability": ["changed: clusters/production/observability/helm/values.yaml"],
      "production/applications": ["depends on observability"],
    });
  });

  it("a README next to the manifests affects nothing", async () => {
    const root = await layoutB();
    await edit(root, "clusters/base/applications/podinfo/README.md");
    await edit(root, "scripts/gitops/validate.sh");
    commitAll(root);
    expect(await affectedSince(root)).toEqual({});
  });

  it("works when the fleet is a sub-folder of the repository", async () => {
    const { repo, root } = await gitRepoFromExample("examples/layout-b", "deploy/fleet");
    branch(repo);
    await edit(root, "clusters/staging/applications/patches/podinfo-patch.yaml");
    commitAll(repo);
    expect(await affectedSince(root)).toEqual({
      "staging/applications": ["changed: clusters/staging/applications/patches/podinfo-patch.yaml"],
    });
  });
});

describe("affectedOverlays on Flux Kustomizations", () => {
  const fluxFleet = async () => {
    const { root } = await gitRepoFromExample("test/fixtures/fleets/flux-kustomizations");
    branch(root);
    return root;
  };

  it("a file defining Flux Kustomizations affects everything", async () => {
    const root = await fluxFleet();
    await edit(root, "clusters/staging/apps.yaml");
    commitAll(root);
    const affected = await affectedSince(root);
    // Three Kustomizations and the sync that applies them, in two clusters.
    expect(Object.keys(affected)).toHaveLength(8);
    // The cluster's sync also reads it as an input of its own.
    expect(new Set(Object.values(affected).flat())).toEqual(
      new Set(["Flux Kustomization changed: clusters/staging/apps.yaml", "changed: clusters/staging/apps.yaml"]),
    );
  });

  it("a shared folder affects the layer in every environment that points at it", async () => {
    const root = await fluxFleet();
    await edit(root, "infrastructure/configs/cluster-issuers.yaml");
    commitAll(root);
    expect(await affectedSince(root)).toEqual({
      "production/infra-configs": ["changed: infrastructure/configs/cluster-issuers.yaml"],
      "production/apps": ["depends on infra-configs"],
      "staging/infra-configs": ["changed: infrastructure/configs/cluster-issuers.yaml"],
      "staging/apps": ["depends on infra-configs"],
    });
  });
});

describe("affectedOverlays without git", () => {
  const fleet: Fleet = {
    root: "/repo",
    source: "layout-a",
    environments: [{ name: "prod" }],
    layers: [
      { name: "controllers", dependsOn: [] },
      { name: "apps", dependsOn: ["controllers"] },
    ],
    overlays: [
      { environment: "prod", layer: "controllers", path: "controllers/prod", dependsOn: [], order: 1 },
      { environment: "prod", layer: "apps", path: "apps/prod", dependsOn: ["controllers"], order: 2 },
    ],
  };
  const clean = (files: string[]): OverlayInputs => ({ files: new Set(files), dirs: new Set(), problems: [] });

  it("treats an overlay whose inputs are unknown as affected, with its dependents", () => {
    const inputs = new Map<string, OverlayInputs>([
      [
        "controllers/prod",
        { ...clean([]), problems: [{ severity: "warning", check: "changes/unreadable-kustomization", message: "bad YAML" }] },
      ],
      ["apps/prod", clean(["apps/prod/kustomization.yaml"])],
    ]);
    expect(affectedOverlays(fleet, inputs, []).map((a) => [a.overlay.layer, a.reasons])).toEqual([
      ["controllers", ["inputs unknown: bad YAML"]],
      ["apps", ["depends on controllers"]],
    ]);
  });

  it("counts a newly added gitops-ci.yaml as a config change", () => {
    const inputs = new Map([
      ["controllers/prod", clean([])],
      ["apps/prod", clean([])],
    ]);
    expect(affectedOverlays(fleet, inputs, ["gitops-ci.yaml"])).toHaveLength(2);
    expect(affectedOverlays(fleet, inputs, ["sub/gitops-ci.yaml"])).toEqual([]);
  });
});
