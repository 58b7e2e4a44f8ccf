// Discovery of Kustomizations whose source is an ExternalArtifact that an ArtifactGenerator makes
// from the repository: built in the artifact as source-watcher would make it, with the real engine.
import { symlink } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { discoverFleet } from "../../../core/fleet/discover.ts";
import { pathExists } from "../../../core/repo-files.ts";
import { isRecord } from "../../../core/yaml-file.ts";
import { quietContext } from "../../helpers/context.ts";
import { examplePath, makeRepo, makeTempDir } from "../../helpers/temp-repo.ts";

const FIXTURE = "test/fixtures/layouts/artifact-generator";

describe("the artifact-generator fixture (flux2-kustomize-helm-example, Flux 2.7)", () => {
  it("builds every Kustomization of both clusters, the app and infra ones in their ExternalArtifacts", { timeout: 120_000 }, async () => {
    const root = examplePath(FIXTURE);
    const { fleet, findings, kustomizations = [] } = await discoverFleet(quietContext(root), root);
    expect(findings.filter((finding) => finding.check === "flux/source-not-checked")).toEqual([]);
    expect(findings.filter((finding) => finding.severity !== "info")).toEqual([]);

    // The oracle's counts (fixture README): flux build kustomization in each materialized artifact.
    const counts = Object.fromEntries(
      kustomizations.map((item) => [`${item.cluster}/${item.name}`, item.result?.error ?? item.result?.objects.length]),
    );
    for (const cluster of ["staging", "production"]) {
      expect(counts, cluster).toMatchObject({
        [`${cluster}/flux-system`]: 8,
        [`${cluster}/infra-controllers`]: 6,
        [`${cluster}/infra-configs`]: 1,
        [`${cluster}/apps`]: 3,
      });
    }
    expect(kustomizations).toHaveLength(8);
    expect(kustomizations.reduce((sum, item) => sum + (item.result?.objects.length ?? 0), 0)).toBe(36);

    // Built in the artifact, named by the repository: overlay paths, origins, the generator.
    const apps = kustomizations.find((item) => item.cluster === "production" && item.name === "apps")!;
    expect(apps.externalArtifact).toMatchObject({
      key: "flux-system/apps",
      generator: "flux-system/flux-system",
      location: { file: "clusters/production/artifacts.yaml" },
      path: "apps/production",
    });
    const paths = Object.fromEntries(fleet.overlays.map((overlay) => [`${overlay.environment}/${overlay.layer}`, overlay.path]));
    expect(paths).toMatchObject({
      "staging/apps": "apps/staging",
      "production/infra-controllers": "infrastructure/controllers",
      "production/infra-configs": "infrastructure/configs",
    });
    for (const item of kustomizations) {
      for (const origin of item.result?.origins ?? [])
        expect(await pathExists(path.join(root, origin)), `${item.cluster}/${item.name}: ${origin}`).toBe(true);
    }
    expect(apps.result?.origins).toContain("apps/base/podinfo/release.yaml");
  });

  it(
    "renders each cluster's HelmRelease with that cluster's values, and production's ACME server patch",
    { timeout: 120_000 },
    async () => {
      const root = examplePath(FIXTURE);
      const { fleet } = await discoverFleet(quietContext(root), root);
      const objectOf = (environment: string, layer: string, kind: string) =>
        fleet.overlays
          .find((overlay) => overlay.environment === environment && overlay.layer === layer)
          ?.build?.result.objects.find((object) => object["kind"] === kind);
      const spec = (object: Record<string, unknown> | undefined) => (object && isRecord(object["spec"]) ? object["spec"] : {});

      expect(spec(objectOf("production", "apps", "HelmRelease"))).toMatchObject({
        chart: { spec: { chart: "podinfo", version: ">=1.0.0" } },
        values: { redis: { enabled: true }, ingress: { className: "nginx", hosts: [{ host: "podinfo.production" }] } },
      });
      expect(spec(objectOf("production", "apps", "HelmRelease"))["test"]).toBeUndefined();
      expect(spec(objectOf("staging", "apps", "HelmRelease"))).toMatchObject({
        chart: { spec: { version: ">=1.0.0-alpha" } },
        test: { enable: true },
        values: { ingress: { hosts: [{ host: "podinfo.staging" }] } },
      });
      expect(spec(objectOf("production", "infra-configs", "ClusterIssuer"))).toMatchObject({
        acme: { server: "https://acme-v02.api.letsencrypt.org/directory" },
      });
      expect(spec(objectOf("staging", "infra-configs", "ClusterIssuer"))).toMatchObject({
        acme: { server: "https://acme-staging-v02.api.letsencrypt.org/directory" },
      });
    },
  );
});

const sync = `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10m
  path: ./clusters/prod
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
`;

const fromArtifact = (name: string, artifact: string, path = "./") => `---
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
    kind: ExternalArtifact
    name: ${artifact}
`;

const generator = `apiVersion: source.extensions.fluxcd.io/v1beta1
kind: ArtifactGenerator
metadata:
  name: split
  namespace: flux-system
spec:
  sources:
    - alias: monorepo
      kind: GitRepository
      name: flux-system
    - alias: chart
      kind: OCIRepository
      name: podinfo
  artifacts:
    - name: apps
      copy:
        - from: "@monorepo/apps/**"
          to: "@artifact/"
    - name: chart
      copy:
        - from: "@chart/**"
          to: "@artifact/"
    - name: broken
      copy:
        - from: "@monorepo/nothing/**"
          to: "@artifact/"
`;

const configMap = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: default\ndata:\n  a: "1"\n`;

describe("ExternalArtifacts in a cluster", () => {
  it(
    "builds what the generator makes from the repository, children included, and says why the rest is not built",
    { timeout: 120_000 },
    async () => {
      const root = await makeRepo({
        "clusters/prod/flux-system/gotk-sync.yaml": sync,
        "clusters/prod/artifacts.yaml": generator,
        "clusters/prod/apps.yaml":
          fromArtifact("apps", "apps") +
          fromArtifact("chart", "chart") +
          fromArtifact("broken", "broken") +
          fromArtifact("orphan", "unknown") +
          fromArtifact("missing", "apps", "./nowhere"),
        "apps/kustomization.yaml":
          "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - cm.yaml\n  - child.yaml\n",
        "apps/cm.yaml": configMap("apps"),
        "apps/child.yaml": fromArtifact("child", "apps", "./sub"),
        "apps/sub/cm.yaml": configMap("child"),
      });
      const outside = await makeTempDir();
      await symlink(path.join(outside, "secret.yaml"), path.join(root, "apps/secret.yaml"));
      const { fleet, findings, kustomizations = [] } = await discoverFleet(quietContext(root), root);

      const built = Object.fromEntries(
        kustomizations.filter((item) => item.result).map((item) => [item.name, item.result!.error ?? item.result!.objects.length]),
      );
      expect(built).toMatchObject({ "flux-system": 7, apps: 2, child: 1 });
      const child = kustomizations.find((item) => item.name === "child")!;
      // Found in the artifact, located in the repository.
      expect(child.location).toEqual({ file: "apps/child.yaml", line: 2 });
      expect(child.result?.origins).toEqual(["apps/sub/cm.yaml"]);
      expect(fleet.overlays.find((overlay) => overlay.layer === "child")?.path).toBe("apps/sub");

      const about = (check: string, name?: string) =>
        findings.filter((finding) => finding.check === check && (name === undefined || finding.layer === name));
      expect(about("flux/source-not-checked", "chart")).toEqual([
        expect.objectContaining({
          severity: "warning",
          file: "clusters/prod/apps.yaml",
          message: expect.stringContaining("from OCIRepository/flux-system/podinfo, not from this repository"),
        }),
      ]);
      expect(about("flux/source-not-checked", "orphan")).toEqual([
        expect.objectContaining({
          message: expect.stringContaining("ExternalArtifact/flux-system/unknown, which no ArtifactGenerator in cluster prod produces"),
        }),
      ]);
      expect(about("flux/source-not-checked", "broken")).toHaveLength(1);
      expect(about("flux/artifact-generator")).toEqual([
        expect.objectContaining({
          severity: "error",
          file: "clusters/prod/artifacts.yaml",
          message: expect.stringContaining("no files match pattern 'nothing/**'"),
        }),
      ]);
      expect(about("fleet/missing-path", "missing")).toEqual([expect.objectContaining({ message: expect.stringContaining("nowhere") })]);
      // The symlink out of the repository is named, not followed.
      expect(about("render/outside-repository")).toEqual([
        expect.objectContaining({
          severity: "error",
          file: "apps/secret.yaml",
          message: expect.stringContaining("outside the repository"),
        }),
      ]);
    },
  );
});
