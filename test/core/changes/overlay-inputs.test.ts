import { describe, expect, it } from "vitest";
import { overlayInputs, overlayInputsByPath, readsFile } from "../../../core/changes/overlay-inputs.ts";
import { discoverFleet } from "../../../core/fleet/discover.ts";
import { renderFleet } from "../../../tasks/render/index.ts";
import { captureContext } from "../../helpers/context.ts";
import { examplePath, makeRepo } from "../../helpers/temp-repo.ts";

const header = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n";

describe("overlayInputs", () => {
  it("follows every field of a kustomization that names a file or folder", async () => {
    const root = await makeRepo({
      "base/kustomization.yaml": `${header}resources: [deploy.yaml]\nconfigurations: [kustomizeconfig.yaml]\n`,
      "base/deploy.yaml": "kind: Deployment\n",
      "base/kustomizeconfig.yaml": "nameReference: []\n",
      "components/tls/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches: [{path: tls.yaml}]\n",
      "components/tls/tls.yaml": "kind: Ingress\n",
      "transformers/kustomization.yaml": `${header}resources: [labels.yaml]\n`,
      "env/kustomization.yaml": [
        header,
        "resources:",
        "  - ../base",
        "  - https://github.com/org/repo//deploy?ref=v1",
        "  - github.com/org/repo/deploy?ref=v1",
        "  - missing.yaml",
        "bases: [../legacy-base]",
        "components: [../components/tls]",
        "patches:",
        "  - path: patch.yaml",
        "  - patch: |-",
        "      - op: remove",
        "        path: /spec",
        "patchesStrategicMerge:",
        "  - smp.yaml",
        "  - |-",
        "    kind: Deployment",
        "patchesJson6902: [{target: {kind: Deployment, name: x}, path: json6902.yaml}]",
        "configMapGenerator:",
        "  - name: values",
        "    files: [values.yaml=helm/values.yaml, plain.conf]",
        "    envs: [app.env]",
        "secretGenerator:",
        "  - name: old",
        "    env: old.env",
        "crds: [crds/thing.json]",
        "openapi: {path: schema.json}",
        "replacements: [{path: replacement.yaml}]",
        "transformers: [../transformers, prefix.yaml]",
        "generators: [gen.yaml]",
        "validators: [check.yaml]",
        "helmCharts: [{name: podinfo, valuesFile: podinfo-values.yaml, additionalValuesFiles: [more-values.yaml]}]",
        "helmGlobals: {chartHome: ../charts}",
        "",
      ].join("\n"),
      "transformers/labels.yaml": "kind: LabelTransformer\n",
      "env/prefix.yaml": "kind: PrefixTransformer\n",
      "env/gen.yaml": "kind: Generator\n",
      "env/check.yaml": "kind: Validator\n",
      "legacy-base/kustomization.yml": `${header}resources: [cm.yaml]\n`,
      "legacy-base/cm.yaml": "kind: ConfigMap\n",
      "charts/podinfo/Chart.yaml": "name: podinfo\n",
      "charts/podinfo/templates/_helpers.tpl": "{{/* */}}\n",
      "README.md": "# not an input\n",
    });
    const inputs = await overlayInputs(root, "env");
    expect(inputs.problems).toEqual([]);
    expect([...inputs.files].sort()).toEqual(
      [
        "base/deploy.yaml",
        "base/kustomization.yaml",
        "base/kustomizeconfig.yaml",
        "charts/podinfo/Chart.yaml",
        "charts/podinfo/templates/_helpers.tpl",
        "components/tls/kustomization.yaml",
        "components/tls/tls.yaml",
        "env/app.env",
        "env/check.yaml",
        "env/crds/thing.json",
        "env/gen.yaml",
        "env/helm/values.yaml",
        "env/json6902.yaml",
        "env/kustomization.yaml",
        "env/missing.yaml",
        "env/more-values.yaml",
        "env/old.env",
        "env/patch.yaml",
        "env/plain.conf",
        "env/podinfo-values.yaml",
        "env/prefix.yaml",
        "env/replacement.yaml",
        "env/schema.json",
        "env/smp.yaml",
        "legacy-base/cm.yaml",
        "legacy-base/kustomization.yml",
        "transformers/kustomization.yaml",
        "transformers/labels.yaml",
      ].sort(),
    );
    expect([...inputs.dirs].sort()).toEqual(["base", "charts", "components/tls", "env", "env/missing.yaml", "legacy-base", "transformers"]);
    expect(readsFile(inputs, "base/new-resource.yaml")).toBe(true);
    expect(readsFile(inputs, "env/plain.conf")).toBe(true);
    expect(readsFile(inputs, "base/notes.md")).toBe(false);
    expect(readsFile(inputs, "README.md")).toBe(false);
    expect(readsFile(inputs, "other/x.yaml")).toBe(false);
  });

  it("takes every YAML file below a folder without a kustomization, as Flux generates one", async () => {
    const root = await makeRepo({
      "clusters/prod/apps.yaml": "kind: Kustomization\n",
      "clusters/prod/nested/vars.yml": "kind: ConfigMap\n",
      "clusters/prod/nested/notes.txt": "x\n",
      "clusters/prod/.hidden/skip.yaml": "kind: ConfigMap\n",
      "clusters/prod/flux-system/kustomization.yaml": `${header}resources: [gotk-sync.yaml]\n`,
      "clusters/prod/flux-system/gotk-sync.yaml": "kind: GitRepository\n",
      "clusters/prod/flux-system/unlisted.yaml": "kind: ConfigMap\n",
    });
    const inputs = await overlayInputs(root, "clusters/prod");
    expect([...inputs.files].sort()).toEqual([
      "clusters/prod/apps.yaml",
      "clusters/prod/flux-system/gotk-sync.yaml",
      "clusters/prod/flux-system/kustomization.yaml",
      "clusters/prod/nested/vars.yml",
    ]);
    expect(readsFile(inputs, "clusters/prod/new/deep/thing.yaml")).toBe(true);
    expect(readsFile(inputs, "clusters/prod/nested/notes.txt")).toBe(false);
  });

  it("reports a kustomization it cannot parse, so the overlay is checked in full", async () => {
    const root = await makeRepo({
      "base/kustomization.yaml": `${header}resources: [a.yaml\n`,
      "prod/kustomization.yaml": `${header}resources: [../base]\n`,
      "dup/kustomization.yaml": `${header}resources: []\nresources: []\n`,
      "list/kustomization.yaml": "- a\n- b\n",
    });
    const broken = await overlayInputs(root, "prod");
    expect(broken.problems).toMatchObject([
      { check: "changes/unreadable-kustomization", file: "base/kustomization.yaml", severity: "warning" },
    ]);
    expect(broken.files.has("base/kustomization.yaml")).toBe(true);
    expect((await overlayInputs(root, "dup")).problems).toHaveLength(1);
    expect((await overlayInputs(root, "list")).problems[0]?.message).toContain("not a kustomization");
    expect((await overlayInputs(root, "nope")).problems[0]?.message).toContain("does not exist");
  });

  it("stops at cycles", async () => {
    const root = await makeRepo({
      "a/kustomization.yaml": `${header}resources: [../b]\n`,
      "b/kustomization.yaml": `${header}resources: [../a]\n`,
    });
    const inputs = await overlayInputs(root, "a");
    expect([...inputs.files].sort()).toEqual(["a/kustomization.yaml", "b/kustomization.yaml"]);
  });
});

describe("overlayInputs against kustomize itself", () => {
  const fleets = ["examples/layout-a", "examples/layout-b", "test/fixtures/fleets/flux-kustomizations"];

  it.each(fleets)("%s: every file kustomize's origin annotations name is an input", async (fleetPath) => {
    const root = examplePath(fleetPath);
    const { context } = captureContext(root);
    const { fleet } = await discoverFleet(context, root);
    const inputsByPath = await overlayInputsByPath(fleet);
    expect(fleet.overlays.length).toBeGreaterThan(0);
    const renders = await renderFleet(context, fleet);
    for (const [index, overlay] of fleet.overlays.entries()) {
      const inputs = inputsByPath.get(overlay.path)!;
      expect(inputs.problems).toEqual([]);
      const rendered = renders[index]!;
      expect(rendered.ok, `${overlay.path}: ${JSON.stringify(rendered.findings)}`).toBe(true);
      const origins = new Set(rendered.manifests.flatMap((manifest) => (manifest.origin ? [manifest.origin.file] : [])));
      expect(origins.size).toBeGreaterThan(0);
      const missing = [...origins].filter((file) => !readsFile(inputs, file));
      expect(missing, `${overlay.environment}/${overlay.layer}`).toEqual([]);
    }
  });

  it("layout A's prod apps overlay reads exactly its kustomizations, resources, patches and config", async () => {
    const inputs = await overlayInputs(examplePath("examples/layout-a"), "gitops/flux/apps/overlays/prod");
    expect([...inputs.files].sort()).toEqual([
      "gitops/flux/apps/base/gitlab.yaml",
      "gitops/flux/apps/base/kustomization.yaml",
      "gitops/flux/apps/overlays/prod/gitlab-hosts-patch.yaml",
      "gitops/flux/apps/overlays/prod/gitlab-resources-patch.yaml",
      "gitops/flux/apps/overlays/prod/kustomization.yaml",
      "gitops/flux/apps/overlays/prod/secrets/gitlab-object-storage.yaml",
      "gitops/flux/apps/overlays/prod/secrets/gitlab-smtp.yaml",
    ]);
    expect([...inputs.dirs].sort()).toEqual(["gitops/flux/apps/base", "gitops/flux/apps/overlays/prod"]);
  });
});
