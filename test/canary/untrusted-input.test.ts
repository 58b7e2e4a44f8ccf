// A merge request is untrusted input: values that break parsers and tools are never echoed, no input
// ends the run in a crash, and each case still reports what it could check. Every command runs
// through the real CLI; every output and artifact is scanned for the planted values.
import path from "node:path";
import { describe, expect, it } from "vitest";
import { overlayPath, smallFleet } from "../helpers/small-fleet.ts";
import { makeRepo, makeTempDir, type Tree } from "../helpers/temp-repo.ts";
import { exitCodes, expectedExitCodes, findLeak, repositoryCommands, runCommands, type CommandRun } from "./leak-scan.ts";

const apps = overlayPath("apps", "prod");

function withOverlayResources(tree: Tree, resources: string[], extra = ""): Tree {
  tree[`${apps}/kustomization.yaml`] =
    `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\n${resources.map((r) => `  - ${r}\n`).join("")}nameSuffix: -prod\n${extra}`;
  return tree;
}

async function runAll(root: string, runs?: (out: string) => CommandRun[]) {
  const out = await makeTempDir();
  const env = { PATH: process.env["PATH"], HOME: process.env["HOME"], KUBECONFIG: path.join(out, "no-such-kubeconfig") };
  const planned = runs ? runs(out) : repositoryCommands(root, out);
  const transcript = await runCommands(root, env, planned, out);
  return { transcript, planned, out };
}

function expectNoLeak(text: string, values: readonly string[]): void {
  for (const value of values) expect(findLeak(text, value), `${value} leaked`).toBeUndefined();
}

function expectOverlaysReported(text: string): void {
  // The other overlays were checked and reported, not lost to the broken one.
  // The summary row of each other overlay of prod: layer, path, objects, 0 errors, 0 warnings, ok.
  for (const layer of ["controllers", "configs"]) expect(text).toMatch(new RegExp(`${layer}\\s+\\S*/prod\\s+\\d+\\s+0\\s+0\\s+ok`));
}

describe("values that break parsers are never echoed", () => {
  it("a Secret value starting with } (a YAML error) stays out of stdout, report.json, junit.xml, report.md and Code Quality", async () => {
    const value = "}canary-brace-6d21f0aa";
    const tree = withOverlayResources(smallFleet(["prod"]), ["secret.yaml"]);
    tree[`${apps}/secret.yaml`] =
      `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: ingress\nstringData:\n  password: ${value}\n`;
    const root = await makeRepo(tree);
    const { transcript, planned } = await runAll(root);
    expect(exitCodes(transcript)).toEqual(expectedExitCodes(planned));
    for (const name of ["report.json", "junit.xml", "report.md", "gl-code-quality-report.json"])
      expect(transcript.artifacts.some((file) => file.endsWith(name))).toBe(true);
    expect(transcript.text).toContain(`${apps}/secret.yaml`);
    expectNoLeak(transcript.text, [value, value.slice(1)]);
  });

  it("a secretGenerator literal without = is not echoed from kustomize's error", async () => {
    const value = "canary-literal-typo-91ce0d";
    const tree = withOverlayResources(
      smallFleet(["prod"]),
      [],
      `secretGenerator:\n  - name: api\n    namespace: ingress\n    literals:\n      - "password ${value}"\n`,
    );
    const root = await makeRepo(tree);
    const { transcript, planned } = await runAll(root);
    expect(exitCodes(transcript)).toEqual(expectedExitCodes(planned));
    expect(transcript.text).toContain(`${apps}/kustomization.yaml`);
    expectNoLeak(transcript.text, [value]);
  });

  it("an alias-looking Secret value (*VALUE) is a finding, not a stack trace that carries it", async () => {
    const value = "canaryAlias7c02be";
    const tree = withOverlayResources(smallFleet(["prod"]), ["secret.yaml"]);
    tree[`${apps}/secret.yaml`] =
      `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: ingress\nstringData:\n  password: *${value}\n`;
    const root = await makeRepo(tree);
    const { transcript, planned } = await runAll(root);
    expect(exitCodes(transcript)).toEqual(expectedExitCodes(planned));
    expect(transcript.text).not.toMatch(/internal error|\n\s+at /);
    expect(transcript.text).toContain(`${apps}/secret.yaml`);
    expectOverlaysReported(transcript.text);
    expectNoLeak(transcript.text, [value]);
  });
});

describe("no input crashes the run", () => {
  it("an unresolved alias in any YAML file is a finding naming the file, and every other overlay is reported", async () => {
    const tree = smallFleet(["prod"]);
    tree["gitops/flux/apps/base/service.yaml"] =
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: ingress\n  labels: *missing\nspec:\n  ports:\n    - port: 80\n";
    tree["docs/notes.yaml"] = "notes: *nowhere\n";
    const root = await makeRepo(tree);
    const { transcript, planned } = await runAll(root);
    expect(exitCodes(transcript)).toEqual(expectedExitCodes(planned));
    expect(transcript.text).not.toMatch(/internal error|\n\s+at /);
    expect(transcript.text).toContain("gitops/flux/apps/base/service.yaml");
    expectOverlaysReported(transcript.text);
  });

  const postBuildFleet = (value: string): Tree => ({
    "clusters/prod/flux-system/gotk-sync.yaml":
      "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./clusters/prod\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
    "clusters/prod/apps.yaml":
      "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m\n  dependsOn:\n    - name: settings\n  path: ./apps\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  postBuild:\n    substituteFrom:\n      - kind: Secret\n        name: vars\n",
    "clusters/prod/settings.yaml":
      "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: settings\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./settings\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
    "settings/kustomization.yaml": "resources: [vars.yaml]\n",
    "settings/vars.yaml": `apiVersion: v1\nkind: Secret\nmetadata:\n  name: vars\n  namespace: flux-system\ndata:\n  token: ${Buffer.from(value).toString("base64")}\n`,
    "apps/kustomization.yaml": "resources: [cm.yaml]\n",
    "apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: default\ndata:\n  token: ${token}\n",
    "other/kustomization.yaml": "resources: [cm.yaml]\n",
    "other/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n  namespace: default\ndata:\n  mode: strict\n",
    "clusters/prod/other.yaml":
      "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: other\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./other\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
  });

  it("a postBuild Secret value with ': ' that breaks the YAML is a finding naming the variable and the Kustomization, never the value", async () => {
    const value = "canary: colon-4b7e19 value";
    const root = await makeRepo(postBuildFleet(value));
    const { transcript, planned } = await runAll(root);
    expect(exitCodes(transcript)).toEqual(expectedExitCodes(planned));
    expect(transcript.text).not.toMatch(/internal error|\n\s+at /);
    const json = transcript.outcomes.find((outcome) => outcome.label === "check --json")!.output;
    const report = JSON.parse(json.slice(json.indexOf("{"))) as { findings: { check: string; message: string; layer?: string }[] };
    expect(report.findings).toContainEqual(
      expect.objectContaining({
        check: "flux/post-build",
        layer: "apps",
        message: expect.stringMatching(
          /\$\{token\} \(Secret vars\).*Kustomization flux-system\/apps|Kustomization flux-system\/apps.*\$\{token\} \(Secret vars\)/,
        ),
      }),
    );
    expect(transcript.text).toMatch(/other\s+\S+\s+1\s+0\s+0\s+ok/);
    expectNoLeak(transcript.text, [value, "colon-4b7e19 value"]);
  });

  it("a postBuild Secret value with a newline renders as Flux renders it, and stays out of every output", async () => {
    const value = "canary-first-line-0f3a\ncanary-second-line-8e2d";
    const root = await makeRepo(postBuildFleet(value));
    // Flux's substitution folds the lines into the ConfigMap: the build succeeds, the plaintext Secret is the error.
    const { transcript, planned } = await runAll(root, (out) =>
      repositoryCommands(root, out).map((run) => (run.label === "render" ? { ...run, exitCode: 0 } : run)),
    );
    expect(exitCodes(transcript)).toEqual(expectedExitCodes(planned));
    expect(transcript.text).not.toMatch(/internal error|\n\s+at /);
    expect(transcript.text).toContain("secrets/plaintext-secret");
    expectNoLeak(transcript.text, [value]);
  });
});

describe("SealedSecret templates", () => {
  it("plaintext in spec.template.data or stringData is an error, masked in every output", async () => {
    const values = { data: "canary-sealed-data-2a9c41", stringData: "canary-sealed-string-7d03be" };
    const tree = withOverlayResources(smallFleet(["prod"]), ["sealed.yaml"]);
    tree[`${apps}/sealed.yaml`] = [
      "apiVersion: bitnami.com/v1alpha1",
      "kind: SealedSecret",
      "metadata:",
      "  name: db",
      "  namespace: ingress",
      "spec:",
      "  encryptedData:",
      `    password: ${"A".repeat(80)}`,
      "  template:",
      "    metadata:",
      "      name: db",
      "    data:",
      `      extra: ${Buffer.from(values.data).toString("base64")}`,
      "    stringData:",
      `      url: postgres://app:${values.stringData}@db/app`,
      "",
    ].join("\n");
    const root = await makeRepo(tree);
    // The render itself succeeds: the plaintext is a secrets finding.
    const { transcript, planned } = await runAll(root, (out) =>
      repositoryCommands(root, out).map((run) => (run.label === "render" ? { ...run, exitCode: 0 } : run)),
    );
    expect(exitCodes(transcript)).toEqual(expectedExitCodes(planned));
    expect(transcript.text).toContain("secrets/sealed-secret-plaintext");
    expect(transcript.artifacts.some((file) => file.includes(`${path.sep}rendered${path.sep}`))).toBe(true);
    expectNoLeak(transcript.text, Object.values(values));
  });
});

describe("secret references", () => {
  it("a committed Secret of op://, vault: and ref+ references is reported as what it is, with no hint to rotate", async () => {
    const tree = withOverlayResources(smallFleet(["prod"]), ["refs.yaml"]);
    tree[`${apps}/refs.yaml`] = [
      "apiVersion: v1",
      "kind: Secret",
      "metadata:",
      "  name: refs",
      "  namespace: ingress",
      "stringData:",
      "  password: op://platform/postgres/password",
      "  token: vault:secret/data/app#token",
      "  key: ref+awssecrets://prod/app/key",
      "  url: ref+vault://secret/app#/url",
      "",
    ].join("\n");
    const root = await makeRepo(tree);
    const { transcript } = await runAll(root, () => [{ label: "check --json", args: ["check", root, "--json"], exitCode: 0 }]);
    const report = JSON.parse(transcript.outcomes[0]!.output.slice(transcript.outcomes[0]!.output.indexOf("{"))) as {
      findings: { check: string; file?: string; message: string; hint?: string; severity: string }[];
    };
    const about = report.findings.filter((finding) => finding.file === `${apps}/refs.yaml`);
    expect(about.map((finding) => finding.check)).toEqual(["secrets/secret-references"]);
    expect(about[0]).toMatchObject({
      severity: "warning",
      message: expect.stringMatching(/references.*committed unencrypted|committed unencrypted.*references/),
    });
    expect(JSON.stringify(about)).not.toMatch(/rotate/i);
    expect(transcript.outcomes[0]!.exitCode).toBe(0);
  });

  it("a Secret with a reference beside a real value is still a plaintext secret", async () => {
    const value = "canary-real-value-3f9a1c";
    const tree = withOverlayResources(smallFleet(["prod"]), ["mixed.yaml"]);
    tree[`${apps}/mixed.yaml`] =
      `apiVersion: v1\nkind: Secret\nmetadata:\n  name: mixed\n  namespace: ingress\nstringData:\n  password: op://platform/postgres/password\n  token: ${value}\n`;
    const root = await makeRepo(tree);
    const { transcript } = await runAll(root, () => [{ label: "check", args: ["check", root], exitCode: 1 }]);
    expect(transcript.outcomes[0]!.exitCode).toBe(1);
    expect(transcript.text).toContain("secrets/plaintext-secret");
    expectNoLeak(transcript.text, [value]);
  });
});
