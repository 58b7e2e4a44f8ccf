// `diff --against`: real git repositories, real engine renders on both sides; each change kind of a
// merge request, and the unified views compared with `git diff --no-index`.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ExitCode } from "../../../core/errors.ts";
import type { GitObjectChange } from "../../../core/diff/git-diff.ts";
import { diffAgainst, GIT_DIFF_FILES } from "../../../tasks/diff/against.ts";
import { captureContext } from "../../helpers/context.ts";
import { layerPath, overlayPath, smallFleet } from "../../helpers/small-fleet.ts";
import { makeGitRepo, makeTempDir } from "../../helpers/temp-repo.ts";
import { branch, commitAll, git, gitRepoFromExample, remove, write } from "../../core/changes/git-steps.ts";
import { gitDiffOfTexts } from "../../core/diff/git-diff-oracle.ts";
import { fleet, release } from "../../charts/fleet.ts";

async function run(root: string, against = "main", extra: { showNoise?: boolean; outDir?: string } = {}) {
  const captured = captureContext(root);
  const result = await diffAgainst(captured.context, { dir: root, against, json: false, ...extra });
  return { ...result, stdout: captured.stdout(), stderr: captured.stderr() };
}

function only(changes: readonly GitObjectChange[], predicate: (change: GitObjectChange) => boolean): GitObjectChange {
  const found = changes.filter(predicate);
  expect(found).toHaveLength(1);
  return found[0]!;
}

describe("diff --against on the bundled example", () => {
  it("shows a host renamed in one environment as exactly that object changed, there only, and exits 1", async () => {
    const { root } = await gitRepoFromExample("examples/layout-a");
    branch(root);
    const file = path.join(root, "gitops/flux/apps/overlays/staging/gitlab-hosts-patch.yaml");
    await writeFile(file, (await readFile(file, "utf8")).replace("name: gitlab.staging.example.com", "name: code.staging.example.com"));
    commitAll(root, "rename the staging host");

    const { report, exitCode, stdout } = await run(root);
    expect(exitCode).toBe(ExitCode.findings);
    expect(report.problems).toEqual([]);
    expect(report.changes).toHaveLength(1);
    const change = report.changes[0]!;
    expect(change).toMatchObject({
      cluster: "staging",
      layer: "apps",
      action: "update",
      ref: { kind: "HelmRelease", name: "gitlab-staging", namespace: "gitlab" },
    });
    expect(change.fields).toEqual([
      {
        path: "spec.values.global.hosts.gitlab.name",
        kind: "changed",
        before: "gitlab.staging.example.com",
        after: "code.staging.example.com",
      },
    ]);
    expect(report.clusters.find((c) => c.cluster === "prod")).toMatchObject({ created: 0, changed: 0, deleted: 0 });
    expect(stdout).toContain('"gitlab.staging.example.com" → "code.staging.example.com"');
    // Only what the change reaches was rendered again, on each side.
    expect(report.rendered).toMatchObject({ head: 1, base: 1 });
    // The merge base's checkout is gone.
    expect(git(root, "worktree", "list").trim().split("\n")).toHaveLength(1);
  });

  it("exits 0 against the same commit, and against a commit whose change renders the same everywhere", async () => {
    const { root } = await gitRepoFromExample("examples/layout-a");
    const same = await run(root, "HEAD");
    expect(same.exitCode).toBe(ExitCode.ok);
    expect(same.report.changes).toEqual([]);
    expect(same.stdout).toContain("No change to what Flux applies.");

    // A config edit reaches every Kustomization: all are rendered on both sides, and all compare equal.
    branch(root);
    await writeFile(path.join(root, "gitops-ci.yaml"), `${await readFile(path.join(root, "gitops-ci.yaml"), "utf8")}# reviewed\n`);
    const everywhere = await run(root);
    expect(everywhere.report.rendered).toMatchObject({ head: 6, base: 6 });
    expect(everywhere.report.changes).toEqual([]);
    expect(everywhere.exitCode).toBe(ExitCode.ok);
  });
});

describe("diff --against: change kinds", () => {
  it("reports creates, updates and deletions (pruned, or orphaned when prune is disabled)", async () => {
    const tree = smallFleet();
    tree[`${layerPath("apps")}/base/kustomization.yaml`] =
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - service.yaml\n  - kept.yaml\n";
    tree[`${layerPath("apps")}/base/kept.yaml`] =
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\n  namespace: ingress\n  annotations:\n    kustomize.toolkit.fluxcd.io/prune: disabled\ndata:\n  a: b\n";
    const root = await makeGitRepo(tree);
    branch(root);
    // staging: a new ConfigMap; every environment: the Service and the kept ConfigMap go; prod's ingress image moves.
    await write(
      root,
      `${overlayPath("apps", "staging")}/kustomization.yaml`,
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - extra.yaml\nnameSuffix: -staging\n",
    );
    await write(
      root,
      `${overlayPath("apps", "staging")}/extra.yaml`,
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: ingress\ndata:\n  mode: relaxed\n",
    );
    await write(
      root,
      `${overlayPath("controllers", "prod")}/kustomization.yaml`,
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\nnameSuffix: -prod\nimages:\n  - name: registry.example.com/ingress\n    newTag: 1.1.0\n",
    );
    commitAll(root);

    const { report, exitCode } = await run(root);
    expect(report.problems).toEqual([]);
    expect(exitCode).toBe(ExitCode.findings);
    expect(only(report.changes, (c) => c.action === "create")).toMatchObject({
      cluster: "staging",
      layer: "apps",
      ref: { kind: "ConfigMap", name: "extra-staging" },
    });
    expect(only(report.changes, (c) => c.action === "delete" && c.ref.name === "web-staging")).toMatchObject({ deletion: "pruned" });
    expect(only(report.changes, (c) => c.action === "delete" && c.ref.name === "kept-staging")).toMatchObject({
      deletion: "orphaned",
      deletionReason: "kustomize.toolkit.fluxcd.io/prune: disabled",
    });
    const image = only(report.changes, (c) => c.action === "update");
    expect(image).toMatchObject({ cluster: "prod", layer: "controllers", ref: { kind: "Deployment", name: "ingress-prod" } });
    expect(image.fields).toEqual([
      {
        path: "spec.template.spec.containers[name=controller].image",
        kind: "changed",
        before: "registry.example.com/ingress:1.0.0",
        after: "registry.example.com/ingress:1.1.0",
      },
    ]);
    expect(report.risks.filter((risk) => risk.kind === "image")).toEqual([
      expect.objectContaining({
        cluster: "prod",
        detail: expect.stringContaining("registry.example.com/ingress:1.0.0 → registry.example.com/ingress:1.1.0"),
      }),
    ]);
    expect(report.risks.filter((risk) => risk.kind === "deletion")).toHaveLength(2);
    expect(report.clusters.find((c) => c.cluster === "staging")).toMatchObject({
      created: 1,
      changed: 0,
      deleted: 2,
      pruned: 1,
      orphaned: 1,
    });
  });

  it("follows a change in a shared base into every environment", async () => {
    const root = await makeGitRepo(smallFleet(["prod", "staging", "dev"]));
    branch(root);
    await write(
      root,
      `${layerPath("configs")}/base/configmap.yaml`,
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ingress\ndata:\n  mode: lenient\n",
    );
    const { report, exitCode } = await run(root);
    expect(exitCode).toBe(ExitCode.findings);
    expect(
      report.changes.map((c) => [
        c.cluster,
        c.layer,
        c.ref.name,
        c.fields?.map((f) => `${f.path}: ${String(f.before)} → ${String(f.after)}`),
      ]),
    ).toEqual(
      expect.arrayContaining([
        ["prod", "configs", "settings-prod", ["data.mode: strict → lenient"]],
        ["staging", "configs", "settings-staging", ["data.mode: strict → lenient"]],
        ["dev", "configs", "settings-dev", ["data.mode: strict → lenient"]],
      ]),
    );
    expect(report.changes).toHaveLength(3);
    // Only the configs layer of each environment read the file.
    expect(report.rendered).toMatchObject({ head: 3, base: 3 });
  });

  it("follows a change in a component into every Kustomization that uses it", async () => {
    const tree = smallFleet();
    tree["components/team-labels/kustomization.yaml"] =
      "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nlabels:\n  - pairs:\n      team: platform\n";
    for (const env of ["prod", "staging"]) {
      for (const layer of ["configs", "apps"] as const) {
        tree[`${overlayPath(layer, env)}/kustomization.yaml`] =
          `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\ncomponents:\n  - ../../../../../../components/team-labels\nnameSuffix: -${env}\n`;
      }
    }
    // apps sits one folder higher than the infrastructure layers.
    for (const env of ["prod", "staging"]) {
      tree[`${overlayPath("apps", env)}/kustomization.yaml`] =
        `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\ncomponents:\n  - ../../../../../components/team-labels\nnameSuffix: -${env}\n`;
    }
    const root = await makeGitRepo(tree);
    const before = await run(root, "HEAD");
    expect(before.report.problems).toEqual([]);
    branch(root);
    await write(
      root,
      "components/team-labels/kustomization.yaml",
      "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nlabels:\n  - pairs:\n      team: payments\n",
    );
    const { report, exitCode } = await run(root);
    expect(report.problems).toEqual([]);
    expect(exitCode).toBe(ExitCode.findings);
    const scopes = [...new Set(report.changes.map((c) => `${c.cluster}/${c.layer}`))].sort();
    expect(scopes).toEqual(["prod/apps", "prod/configs", "staging/apps", "staging/configs"]);
    for (const change of report.changes) {
      expect(change.fields).toEqual([{ path: "metadata.labels.team", kind: "changed", before: "platform", after: "payments" }]);
    }
    expect(report.rendered).toMatchObject({ head: 4, base: 4 });
  });

  it("reports a Kustomization that fails to render on one side as a problem (exit 2), never as wholesale creates or deletes", async () => {
    const root = await makeGitRepo(smallFleet());
    branch(root);
    await write(
      root,
      `${overlayPath("apps", "staging")}/kustomization.yaml`,
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\n  - missing.yaml\n",
    );
    const outDir = path.join(root, "out");
    const broken = await run(root, "main", { outDir });
    expect(broken.exitCode).toBe(ExitCode.couldNotRun);
    expect(broken.report.problems).toEqual([
      expect.objectContaining({
        severity: "error",
        check: "git-diff/not-rendered",
        environment: "staging",
        layer: "apps",
        file: overlayPath("apps", "staging"),
        message: expect.stringContaining("does not render on the merge request side"),
      }),
    ]);
    // The problem reaches the merge request's test summary and Code Quality widget.
    expect(await readFile(path.join(outDir, "junit.xml"), "utf8")).toMatch(
      /<testcase classname="git-diff\/not-rendered" name="apps\/staging: Kustomization apps does not render on the merge request side/,
    );
    expect(JSON.parse(await readFile(path.join(outDir, "gl-code-quality-report.json"), "utf8"))).toEqual([
      expect.objectContaining({
        check_name: "git-diff/not-rendered",
        severity: "major",
        location: expect.objectContaining({ path: overlayPath("apps", "staging") }),
      }),
    ]);
    expect(broken.report.changes).toEqual([]);

    // The other way round: the target is broken and the merge request fixes it.
    commitAll(root, "break staging apps");
    git(root, "checkout", "-q", "-b", "fix");
    await write(
      root,
      `${overlayPath("apps", "staging")}/kustomization.yaml`,
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\nnameSuffix: -staging\n",
    );
    const fixed = await run(root, "feature");
    expect(fixed.exitCode).toBe(ExitCode.couldNotRun);
    expect(fixed.report.problems).toEqual([
      expect.objectContaining({
        check: "git-diff/not-rendered",
        environment: "staging",
        layer: "apps",
        message: expect.stringContaining("does not render on the target (merge base) side"),
      }),
    ]);
    expect(fixed.report.changes.filter((c) => c.action === "create")).toEqual([]);
  });

  it("reports no change for a reordered kustomization, and a reordered env list as one reorder", async () => {
    const tree = smallFleet();
    tree[`${layerPath("controllers")}/base/deployment.yaml`] = tree[`${layerPath("controllers")}/base/deployment.yaml`]!.replace(
      "          image: registry.example.com/ingress:1.0.0\n",
      "          image: registry.example.com/ingress:1.0.0\n          env:\n            - { name: A, value: '1' }\n            - { name: B, value: '2' }\n",
    );
    const root = await makeGitRepo(tree);
    branch(root);
    await write(
      root,
      `${layerPath("controllers")}/base/kustomization.yaml`,
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - deployment.yaml\n  - namespace.yaml\n",
    );
    const reordered = await run(root);
    expect(reordered.report.problems).toEqual([]);
    expect(reordered.report.rendered.head).toBe(2);
    expect(reordered.report.changes).toEqual([]);
    expect(reordered.exitCode).toBe(ExitCode.ok);

    const deployment = path.join(root, layerPath("controllers"), "base/deployment.yaml");
    await writeFile(
      deployment,
      (await readFile(deployment, "utf8")).replace(
        "            - { name: A, value: '1' }\n            - { name: B, value: '2' }\n",
        "            - { name: B, value: '2' }\n            - { name: A, value: '1' }\n",
      ),
    );
    const env = await run(root);
    expect(env.exitCode).toBe(ExitCode.findings);
    for (const change of env.report.changes) {
      expect(change.fields).toEqual([
        { path: "spec.template.spec.containers[name=controller].env", kind: "reordered", before: ["A", "B"], after: ["B", "A"] },
      ]);
    }
    expect(env.report.changes).toHaveLength(2);
  });
});

describe("diff --against: Secrets and chart-bump noise", () => {
  it("shows which keys of a Secret changed, and no value in stdout, JSON, Markdown or HTML", async () => {
    const tree = smallFleet(["prod"]);
    const secretOld = "hunter2-old-password";
    const secretNew = "s3cr3t-new-password";
    tree[`${overlayPath("apps", "prod")}/kustomization.yaml`] =
      `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\nnameSuffix: -prod\ngeneratorOptions:\n  disableNameSuffixHash: true\nsecretGenerator:\n  - name: db\n    namespace: ingress\n    literals:\n      - password=${secretOld}\n      - user=app\n`;
    const root = await makeGitRepo(tree);
    branch(root);
    await write(
      root,
      `${overlayPath("apps", "prod")}/kustomization.yaml`,
      `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\nnameSuffix: -prod\ngeneratorOptions:\n  disableNameSuffixHash: true\nsecretGenerator:\n  - name: db\n    namespace: ingress\n    literals:\n      - password=${secretNew}\n      - token=abc-extra-token\n`,
    );
    const out = await makeTempDir();
    const { report, exitCode, stdout } = await run(root, "main", { outDir: out });
    expect(exitCode).toBe(ExitCode.findings);
    const secret = only(report.changes, (c) => c.ref.kind === "Secret");
    expect(secret.fields).toEqual([
      { path: "data.password", kind: "changed", secretKey: true },
      { path: "data.token", kind: "added", secretKey: true },
      { path: "data.user", kind: "removed", secretKey: true },
    ]);
    const written = await Promise.all(Object.values(GIT_DIFF_FILES).map((file) => readFile(path.join(out, file), "utf8")));
    for (const text of [stdout, ...written]) {
      for (const value of [secretOld, secretNew, "abc-extra-token", "app"].flatMap((v) => [v, Buffer.from(v).toString("base64")])) {
        if (value === "app") continue; // too short to be a secret marker; checked as base64 only
        expect(text).not.toContain(value);
      }
    }
    expect(stdout).toContain("data.password: changed (value not shown)");
  });

  it("collapses chart-bump labels and checksum annotations, and lists them with --show-noise", async () => {
    const tree = smallFleet(["prod"]);
    const original = tree[`${layerPath("controllers")}/base/deployment.yaml`]!;
    const deployment = (chart: string, checksum: string, replicas: number) =>
      original
        .replace(
          "  namespace: ingress\n",
          `  namespace: ingress\n  labels:\n    helm.sh/chart: ingress-${chart}\n    app.kubernetes.io/version: "${chart}"\n`,
        )
        .replace("  replicas: 1\n", `  replicas: ${replicas}\n`)
        .replace(
          "      labels: { app: ingress }\n",
          `      labels: { app: ingress }\n      annotations:\n        checksum/config: "${checksum}"\n`,
        );
    tree[`${layerPath("controllers")}/base/deployment.yaml`] = deployment("1.0.0", "aaa", 1);
    const root = await makeGitRepo(tree);
    branch(root);
    await write(root, `${layerPath("controllers")}/base/deployment.yaml`, deployment("1.1.0", "bbb", 1));
    const collapsed = await run(root);
    expect(collapsed.report.problems).toEqual([]);
    expect(collapsed.exitCode).toBe(ExitCode.findings);
    const noisy = only(collapsed.report.changes, () => true);
    expect(noisy.noiseOnly).toBe(true);
    expect(noisy.fields?.every((field) => field.noise)).toBe(true);
    expect(collapsed.stdout).toContain("1 object changed only in chart-bump metadata");
    expect(collapsed.stdout).not.toContain("checksum/config");

    const shown = await run(root, "main", { showNoise: true });
    expect(shown.stdout).toContain('~ spec.template.metadata.annotations["checksum/config"]: "aaa" → "bbb"');

    // A real change beside the noise is listed; the noise stays collapsed; scale to zero is a risk.
    await write(root, `${layerPath("controllers")}/base/deployment.yaml`, deployment("1.1.0", "bbb", 0));
    const mixed = await run(root);
    expect(mixed.stdout).toContain("~ spec.replicas: 1 → 0");
    expect(mixed.stdout).toContain("(3 chart-bump fields collapsed)");
    expect(mixed.report.risks.map((risk) => risk.kind)).toContain("scaled-to-zero");
  });
});

describe("diff --against on a Flux layout", () => {
  it("shows a suspended Kustomization as suspended, never its objects as deleted", async () => {
    const { root } = await gitRepoFromExample("test/fixtures/fleets/flux-kustomizations");
    const clean = await run(root, "HEAD");
    expect(clean.report.problems).toEqual([]);
    expect(clean.exitCode).toBe(ExitCode.ok);
    branch(root);
    const file = path.join(root, "clusters/staging/apps.yaml");
    await writeFile(file, (await readFile(file, "utf8")).replace("  prune: true\n", "  prune: true\n  suspend: true\n"));
    const { report, exitCode } = await run(root);
    expect(report.problems).toEqual([]);
    expect(exitCode).toBe(ExitCode.findings);
    expect(report.changes.filter((c) => c.action === "delete")).toEqual([]);
    expect(report.changes).toEqual([
      expect.objectContaining({
        cluster: "staging",
        action: "update",
        ref: expect.objectContaining({ kind: "Kustomization", name: "apps" }),
      }),
    ]);
    expect(report.risks).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: "suspended", cluster: "staging", object: "Kustomization flux-system/apps" }),
        expect.objectContaining({
          kind: "suspended",
          cluster: "staging",
          object: "Kustomization apps",
          detail: "suspended: spec.suspend: true",
        }),
      ]),
    );
  });

  it("says a deletion is orphaned when the Kustomization does not prune", async () => {
    const { root } = await gitRepoFromExample("test/fixtures/fleets/flux-kustomizations");
    branch(root);
    const file = path.join(root, "clusters/staging/infrastructure.yaml");
    await writeFile(
      file,
      (await readFile(file, "utf8")).replace(
        "  path: ./infrastructure/configs\n  prune: true\n",
        "  path: ./infrastructure/configs\n  prune: false\n",
      ),
    );
    commitAll(root, "stop pruning infra-configs in staging");
    git(root, "checkout", "-q", "-b", "second");
    await remove(root, "infrastructure/configs/cluster-issuers.yaml");
    await write(
      root,
      "infrastructure/configs/kustomization.yaml",
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n",
    );
    const { report } = await run(root, "feature");
    const deletions = report.changes.filter((c) => c.action === "delete");
    expect(deletions.length).toBeGreaterThan(0);
    for (const change of deletions) expect(change.deletion).toBe(change.cluster === "staging" ? "orphaned" : "pruned");
  });
});

describe("unified views match git diff --no-index", () => {
  it("has the hunks git writes for each changed object", async () => {
    const root = await makeGitRepo(smallFleet(["prod"]));
    branch(root);
    await write(
      root,
      `${layerPath("controllers")}/base/deployment.yaml`,
      [
        "apiVersion: apps/v1",
        "kind: Deployment",
        "metadata:",
        "  name: ingress",
        "  namespace: ingress",
        "  labels: { tier: edge }",
        "spec:",
        "  replicas: 2",
        "  selector:",
        "    matchLabels: { app: ingress }",
        "  template:",
        "    metadata:",
        "      labels: { app: ingress }",
        "    spec:",
        "      containers:",
        "        - name: controller",
        "          image: registry.example.com/ingress:2.0.0",
        "          args: [--verbose]",
        "",
      ].join("\n"),
    );
    await write(
      root,
      `${layerPath("controllers")}/base/namespace.yaml`,
      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ingress\n  labels:\n    pod-security.kubernetes.io/enforce: restricted\n",
    );
    const { report } = await run(root);
    const updates = report.changes.filter((c) => c.action === "update");
    expect(updates).toHaveLength(2);
    for (const change of updates) expect(change.diff).toBe(await gitDiffOfTexts(change.yaml!.before!, change.yaml!.after!));
  });
});

// A chart vendored in the repository that draws a random value on every render, as cilium's
// genCA does, and prints the Kubernetes version it was templated for.
describe("diff --against: a HelmRelease whose inputs are unchanged", () => {
  const CHART = {
    "charts/gen/Chart.yaml": "apiVersion: v2\nname: gen\nversion: 1.0.0\n",
    "charts/gen/templates/configmap.yaml": [
      "apiVersion: v1",
      "kind: ConfigMap",
      "metadata:",
      "  name: gen",
      "data:",
      "  token: {{ randAlphaNum 16 | quote }}",
      "  kubernetes: {{ .Capabilities.KubeVersion.Version | quote }}",
      '  widgets: {{ .Capabilities.APIVersions.Has "example.com/v1" | quote }}',
      "",
    ].join("\n"),
  };
  const gen = release(
    "gen",
    "  chart:\n    spec:\n      chart: ./charts/gen\n      sourceRef:\n        kind: GitRepository\n        name: flux-system\n        namespace: flux-system\n",
  );
  const isGen = (change: GitObjectChange) => change.ref.kind === "ConfigMap" && change.ref.name === "gen";

  it("shows no update from what its chart draws anew, but shows a change of the Kubernetes version or of the API versions", async () => {
    const root = await makeGitRepo({ ...fleet({ "gen.yaml": gen }), ...CHART });
    branch(root);
    await write(root, "apps/base/extra.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: apps\n");
    await write(root, "apps/base/kustomization.yaml", "resources: [gen.yaml, extra.yaml]\n");
    commitAll(root, "one more ConfigMap beside the release");
    const unrelated = await run(root);
    expect(unrelated.exitCode).toBe(ExitCode.findings);
    expect(unrelated.report.changes.filter((change) => change.ref.name === "extra").map((change) => change.action)).toEqual([
      "create",
      "create",
    ]);
    expect(unrelated.report.changes.filter(isGen)).toEqual([]);

    git(root, "checkout", "-q", "-b", "kubernetes");
    const config = path.join(root, "gitops-ci.yaml");
    await writeFile(config, `${await readFile(config, "utf8")}kubernetesVersion: "1.34.2"\n`);
    commitAll(root, "the clusters run Kubernetes 1.34");
    const upgraded = await run(root, "feature");
    const changed = upgraded.report.changes.filter(isGen);
    expect(changed.map((change) => `${change.cluster} ${change.action}`).sort()).toEqual(["prod update", "staging update"]);
    expect(JSON.stringify(changed[0]!.fields)).toContain("v1.34.2");

    git(root, "checkout", "-q", "-b", "widgets", "main");
    await write(
      root,
      "controllers/base/crd.yaml",
      [
        "apiVersion: apiextensions.k8s.io/v1",
        "kind: CustomResourceDefinition",
        "metadata:",
        "  name: widgets.example.com",
        "spec:",
        "  group: example.com",
        "  names: { kind: Widget, listKind: WidgetList, plural: widgets, singular: widget }",
        "  scope: Namespaced",
        "  versions:",
        "    - name: v1",
        "      served: true",
        "      storage: true",
        "      schema: { openAPIV3Schema: { type: object } }",
        "",
      ].join("\n"),
    );
    await write(root, "controllers/base/kustomization.yaml", "resources: [namespace.yaml, crd.yaml]\n");
    // The change reaches apps too (a change in controllers alone re-renders only controllers).
    await write(root, "apps/base/extra.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: apps\n");
    await write(root, "apps/base/kustomization.yaml", "resources: [gen.yaml, extra.yaml]\n");
    commitAll(root, "the Widget CRD in controllers, one more ConfigMap in apps");
    const widgets = (await run(root)).report.changes.filter(isGen);
    expect(widgets.map((change) => `${change.cluster} ${change.action}`).sort()).toEqual(["prod update", "staging update"]);
    expect(JSON.stringify(widgets[0]!.fields)).toContain("true");
  });
});
