import { describe, expect, it } from "vitest";
import { parseFieldPattern } from "../../../core/promote/field-patterns.ts";
import type { PromotionRules } from "../../../core/promote/find-promotions.ts";
import type { OverlayFiles } from "../../../core/model/promotion.ts";
import { promoteOverlay } from "../../../core/promote/promote-overlay.ts";
import { applied, exampleOverlay, withFiles } from "./overlay-files.ts";

const NO_RULES: PromotionRules = { paths: [], exclude: [] };

function overlay(environment: string, files: Record<string, string>): OverlayFiles {
  return { environment, dir: `apps/overlays/${environment}`, files: new Map(Object.entries(files)) };
}

const kustomization = (suffix: string, extra = "") =>
  `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnameSuffix: -${suffix}\nresources:\n  - ../../base\n${extra}`;

const helmRelease = (spec: string) =>
  `apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: podinfo\nspec:\n${spec}`;

const summary = (result: ReturnType<typeof promoteOverlay>) => ({
  promoted: result.promotions.map(
    (p) => `${p.subject.name} ${p.path.join(".")}=${JSON.stringify(p.value)} (${p.reason}) -> ${p.targetFile}`,
  ),
  kept: result.kept.map((k) => `${k.subject.name} ${k.path.join(".")} (${k.reason})`),
});

/** Promoting the result again must find nothing: the second run changes nothing. */
function expectIdempotent(
  layer: string,
  source: OverlayFiles,
  target: OverlayFiles,
  result: ReturnType<typeof promoteOverlay>,
  rules = NO_RULES,
): void {
  const again = promoteOverlay(layer, source, applied(target, result.files), rules);
  expect(again.promotions).toEqual([]);
  expect(again.files.size).toBe(0);
}

describe("promoteOverlay on the layout A example", () => {
  for (const [layer, dir] of [
    ["controllers", "gitops/flux/infrastructure/controllers/overlays"],
    ["configs", "gitops/flux/infrastructure/configs/overlays"],
    ["apps", "gitops/flux/apps/overlays"],
  ] as const) {
    it(`finds nothing to promote in ${layer} as it is: every difference belongs to the environment`, async () => {
      const source = await exampleOverlay("examples/layout-a", `${dir}/staging`, "staging");
      const target = await exampleOverlay("examples/layout-a", `${dir}/prod`, "prod");
      const result = promoteOverlay(layer, source, target, NO_RULES);
      expect(result.promotions).toEqual([]);
      expect(result.files.size).toBe(0);
      expect(result.problems).toEqual([]);
      expect(result.kept.length).toBeGreaterThan(0);
      expect(result.kept.every((kept) => ["ip", "url", "hostname", "email", "environment-name", "capacity"].includes(kept.reason))).toBe(
        true,
      );
    });
  }

  it("keeps prod's IPs even when a promote.paths pattern covers them, but promotes configured capacity", async () => {
    const dir = "gitops/flux/infrastructure/controllers/overlays";
    const source = await exampleOverlay("examples/layout-a", `${dir}/staging`, "staging");
    const target = await exampleOverlay("examples/layout-a", `${dir}/prod`, "prod");
    const rules = { paths: [parseFieldPattern("HelmRelease/*:spec.values")], exclude: [] };
    const result = promoteOverlay("controllers", source, target, rules);
    expect(summary(result).promoted).toEqual([
      "ingress-nginx spec.values.controller.replicaCount=1 (configured-path) -> kustomization.yaml",
    ]);
    expect(summary(result).kept).toContain("cilium spec.values.k8sServiceHost (ip)");
    expect(result.files.get("kustomization.yaml")).toContain(
      "  - patch: |\n      - op: replace\n        path: /spec/values/controller/replicaCount\n        value: 1\n    target:\n      kind: HelmRelease\n      name: ingress-nginx\n",
    );
    expectIdempotent("controllers", source, target, result, rules);
  });
});

describe("promoteOverlay placement", () => {
  it("replaces a value the target sets, in place, keeping its comments and quoting", () => {
    const source = overlay("staging", {
      "kustomization.yaml": kustomization("staging", "patches:\n  - path: release.yaml\n"),
      "release.yaml": helmRelease('  chart:\n    spec:\n      version: "6.7.1"\n'),
    });
    const target = overlay("prod", {
      "kustomization.yaml": kustomization("prod", "patches:\n  - path: pin.yaml\n"),
      "pin.yaml": helmRelease('  chart:\n    spec:\n      # pinned until the change freeze ends\n      version: "6.5.0" # last good\n'),
    });
    const result = promoteOverlay("apps", source, target, NO_RULES);
    expect(summary(result).promoted).toEqual(['podinfo spec.chart.spec.version="6.7.1" (chart-version) -> pin.yaml']);
    expect([...result.files.keys()]).toEqual(["pin.yaml"]);
    expect(result.files.get("pin.yaml")).toBe(
      helmRelease('  chart:\n    spec:\n      # pinned until the change freeze ends\n      version: "6.7.1" # last good\n'),
    );
    expectIdempotent("apps", source, target, result);
  });

  it("gives the target the source's override of a base value, in a patch of the same name", () => {
    const source = overlay("staging", {
      "kustomization.yaml": kustomization("staging", "patches:\n  - path: values.yaml\n"),
      "values.yaml": helmRelease('  values:\n    ui:\n      message: hello\n      color: "#34577c"\n'),
    });
    const target = overlay("prod", {
      "kustomization.yaml": kustomization("prod", "patches:\n  - path: values.yaml\n"),
      "values.yaml": helmRelease('  # prod keeps its own colour\n  values:\n    ui:\n      color: "#000000"\n'),
    });
    const result = promoteOverlay("apps", source, target, NO_RULES);
    expect(summary(result)).toEqual({
      promoted: ['podinfo spec.values.ui.message="hello" (new-override) -> values.yaml'],
      kept: ["podinfo spec.values.ui.color (set-in-both)"],
    });
    expect(result.files.get("values.yaml")).toBe(
      helmRelease('  # prod keeps its own colour\n  values:\n    ui:\n      color: "#000000"\n      message: hello\n'),
    );
    expectIdempotent("apps", source, target, result);
  });

  it("mirrors a JSON 6902 patch file the target lacks, with its target selector, and copies whole operations", () => {
    const ops =
      "- op: replace\n  path: /spec/chart/spec/version\n  value: 6.7.1\n- op: add\n  path: /spec/values/ui\n  value:\n    message: hello\n    host: podinfo.staging.example.com\n";
    const source = overlay("staging", {
      "kustomization.yaml": kustomization(
        "staging",
        "patches:\n  - path: patches/version.yaml\n    target:\n      kind: HelmRelease\n      name: podinfo\n",
      ),
      "patches/version.yaml": ops,
    });
    const target = overlay("prod", { "kustomization.yaml": kustomization("prod", "# no patches yet\n") });
    const result = promoteOverlay("apps", source, target, NO_RULES);
    expect(summary(result)).toEqual({
      promoted: [
        'podinfo spec.chart.spec.version="6.7.1" (chart-version) -> patches/version.yaml',
        'podinfo spec.values.ui.message="hello" (new-override) -> patches/version.yaml',
      ],
      kept: ["podinfo spec.values.ui.host (hostname)"],
    });
    expect(result.files.get("patches/version.yaml")).toBe(
      "- op: replace\n  path: /spec/chart/spec/version\n  value: 6.7.1\n- op: add\n  path: /spec/values/ui/message\n  value: hello\n",
    );
    // A comment at the end of a document stays at its end.
    expect(result.files.get("kustomization.yaml")).toBe(
      kustomization(
        "prod",
        "patches:\n  - path: patches/version.yaml\n    target:\n      kind: HelmRelease\n      name: podinfo\n\n# no patches yet\n",
      ),
    );
  });

  it("mirrors an inline strategic-merge patch as an inline patch, and reads legacy patchesStrategicMerge", () => {
    const source = overlay("staging", {
      "kustomization.yaml": kustomization(
        "staging",
        `patchesStrategicMerge:\n  - |-\n${helmRelease("  chart:\n    spec:\n      version: 6.7.1\n").replace(/^/gm, "    ")}\n`,
      ),
    });
    const target = overlay("prod", { "kustomization.yaml": kustomization("prod") });
    const result = promoteOverlay("apps", source, target, NO_RULES);
    expect(summary(result).promoted).toEqual(['podinfo spec.chart.spec.version="6.7.1" (chart-version) -> kustomization.yaml']);
    expect(result.files.get("kustomization.yaml")).toBe(
      kustomization(
        "prod",
        `patches:\n  - patch: |\n${helmRelease("  chart:\n    spec:\n      version: 6.7.1\n").replace(/^(?=.)/gm, "      ")}`,
      ),
    );
    expectIdempotent("apps", source, target, result);
  });

  it("adds an image to the target's images:, or sets the tag of the entry it has", () => {
    const source = overlay("staging", {
      "kustomization.yaml": kustomization(
        "staging",
        'images:\n  - name: ghcr.io/stefanprodan/podinfo\n    newTag: 6.7.1\n    digest: sha256:abc\n  - name: busybox\n    newTag: "1.37"\n',
      ),
    });
    const target = overlay("prod", {
      "kustomization.yaml": kustomization(
        "prod",
        "images:\n  # pinned by digest in prod\n  - name: ghcr.io/stefanprodan/podinfo\n    newTag: 6.5.0\n",
      ),
    });
    const result = promoteOverlay("apps", source, target, NO_RULES);
    expect(result.files.get("kustomization.yaml")).toBe(
      kustomization(
        "prod",
        'images:\n  # pinned by digest in prod\n  - name: ghcr.io/stefanprodan/podinfo\n    newTag: 6.7.1\n    digest: sha256:abc\n  - name: busybox\n    newTag: "1.37"\n',
      ),
    );
    expectIdempotent("apps", source, target, result);
    const podinfoOnly = promoteOverlay("apps", source, target, { ...NO_RULES, component: "podinfo" });
    expect(podinfoOnly.promotions.map((p) => p.subject.name)).toEqual(["ghcr.io/stefanprodan/podinfo", "ghcr.io/stefanprodan/podinfo"]);
  });

  it("honours promote.exclude, reports objects only the source defines, and conflicts it cannot write", () => {
    const source = overlay("staging", {
      "kustomization.yaml": kustomization(
        "staging",
        "resources:\n  - ../../base\n  - extra.yaml\npatches:\n  - path: release.yaml\n".replace("resources:\n  - ../../base\n", ""),
      ),
      "extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  mode: fast\n",
      "release.yaml": helmRelease("  chart:\n    spec:\n      version: 6.7.1\n  values:\n    ui:\n      message: hello\n"),
    });
    const target = overlay("prod", {
      "kustomization.yaml": kustomization("prod", "patches:\n  - path: release.yaml\n"),
      "release.yaml": helmRelease("  values: {}\n  chart: pinned\n"),
    });
    const result = promoteOverlay("apps", source, target, {
      paths: [],
      exclude: [parseFieldPattern("HelmRelease/podinfo:spec.values.ui")],
    });
    expect(summary(result)).toEqual({
      promoted: [],
      kept: ["podinfo spec.values.ui.message (excluded)", "extra  (only-in-source)", "podinfo spec.chart.spec.version (conflict)"],
    });
    expect(result.files.size).toBe(0);
  });

  it("never reads secrets, nor patches of files outside the overlay", () => {
    const source = overlay("staging", {
      "kustomization.yaml": kustomization("staging", "  - secrets/db.yaml\npatches:\n  - path: ../../shared/patch.yaml\n"),
      "secrets/db.yaml":
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: ENC[AES256_GCM,data:abc]\nsops:\n    version: 3.9.0\n",
    });
    const target = overlay("prod", { "kustomization.yaml": kustomization("prod") });
    const result = promoteOverlay("apps", source, target, NO_RULES);
    expect(result.promotions).toEqual([]);
    expect(result.kept).toEqual([]);
  });
});

describe("promoteOverlay on the layout B example", () => {
  it("moves staging's chart version into production's patch of the same object, and nothing else", async () => {
    const source = await exampleOverlay("examples/layout-b", "clusters/staging/infrastructure", "staging");
    const target = await exampleOverlay("examples/layout-b", "clusters/production/infrastructure", "production");
    const result = promoteOverlay("infrastructure", source, target, NO_RULES);
    expect(summary(result).promoted).toEqual([
      'ingress-nginx spec.chart.spec.version="4.11.x" (chart-version) -> patches/ingress-nginx-patch.yaml',
    ]);
    expect([...result.files.keys()]).toEqual(["patches/ingress-nginx-patch.yaml"]);
    expectIdempotent("infrastructure", source, target, result);
  });

  it("keeps production's differing container settings in applications", async () => {
    const source = await exampleOverlay("examples/layout-b", "clusters/staging/applications", "staging");
    const target = await exampleOverlay("examples/layout-b", "clusters/production/applications", "production");
    const result = promoteOverlay("applications", source, target, NO_RULES);
    expect(result.promotions).toEqual([]);
    expect(summary(result).kept).toEqual([
      "podinfo spec.replicas (capacity)",
      "podinfo spec.template.spec.containers (environment-name)",
      "podinfo spec.rules.0.host (hostname)",
    ]);
  });

  it("adds a values change staging made to a patch it shares with production", async () => {
    const source = withFiles(await exampleOverlay("examples/layout-b", "clusters/staging/infrastructure", "staging"), {
      "patches/ingress-nginx-patch.yaml": helmRelease("  chart:\n    spec:\n      version: 4.12.1\n").replaceAll(
        "podinfo",
        "ingress-nginx",
      ),
    });
    const target = await exampleOverlay("examples/layout-b", "clusters/production/infrastructure", "production");
    const result = promoteOverlay("infrastructure", source, target, NO_RULES);
    expect(result.files.get("patches/ingress-nginx-patch.yaml")).toContain(
      "# A failed upgrade of the ingress controller is an outage: roll back at once\n",
    );
    expect(result.files.get("patches/ingress-nginx-patch.yaml")).toContain("  chart:\n    spec:\n      version: 4.12.1\n");
  });
});
