import { describe, expect, it } from "vitest";
import { check } from "../../../tasks/check/index.ts";
import { captureContext } from "../../helpers/context.ts";
import { overlayPath, smallFleet } from "../../helpers/small-fleet.ts";
import { ageKeygen, writeEncrypted } from "../../helpers/sops.ts";
import { makeRepo, makeTempDir, type Tree } from "../../helpers/temp-repo.ts";

async function checkTree(tree: Tree, options: { strict?: boolean } = {}) {
  const root = await makeRepo(tree);
  const { context } = captureContext(root);
  const result = await check(context, { dir: root, json: false, ...options });
  return { ...result, findings: result.report.findings };
}

describe("validation with kubeconform", () => {
  it("passes a valid fleet with no findings at all", async () => {
    const { exitCode, findings } = await checkTree(smallFleet());
    expect(findings).toEqual([]);
    expect(exitCode).toBe(0);
  });

  it("reports an unknown field at its line in the source file, once per environment", async () => {
    const tree = smallFleet();
    tree["gitops/flux/infrastructure/controllers/base/deployment.yaml"] = tree[
      "gitops/flux/infrastructure/controllers/base/deployment.yaml"
    ]!.replace(
      "          image: registry.example.com/ingress:1.0.0",
      "          image: registry.example.com/ingress:1.0.0\n          imagePullPolicyy: Always",
    );
    const { exitCode, findings } = await checkTree(tree);
    expect(exitCode).toBe(1);
    expect(findings).toHaveLength(2);
    for (const finding of findings) {
      expect(finding).toMatchObject({
        severity: "error",
        check: "validate/schema",
        file: "gitops/flux/infrastructure/controllers/base/deployment.yaml",
        line: 17,
        resource: { kind: "Deployment", namespace: "ingress" },
      });
      expect(finding.message).toContain("imagePullPolicyy");
    }
  });

  it("reports a wrong type in a Flux HelmRelease (the newest Flux release's CRD schema)", async () => {
    const tree = smallFleet(["prod"]);
    tree["gitops/flux/apps/base/kustomization.yaml"] = tree["gitops/flux/apps/base/kustomization.yaml"]! + "  - release.yaml\n";
    tree["gitops/flux/apps/base/release.yaml"] = [
      "apiVersion: helm.toolkit.fluxcd.io/v2",
      "kind: HelmRelease",
      "metadata:",
      "  name: web",
      "  namespace: ingress",
      "spec:",
      "  interval: 10m",
      "  chart:",
      "    spec:",
      "      chart: web",
      "      version: 1.2.3",
      "      sourceRef: { kind: HelmRepository, name: charts }",
      "  install:",
      "    remediation:",
      "      retries: three",
      "",
    ].join("\n");
    const { findings } = await checkTree(tree);
    expect(findings).toEqual([
      // The engine cannot decode the release either, so it renders no chart for it.
      expect.objectContaining({
        check: "helm/chart",
        severity: "error",
        file: "gitops/flux/apps/base/release.yaml",
        message: expect.stringContaining("invalid HelmRelease"),
      }),
      expect.objectContaining({
        check: "validate/schema",
        file: "gitops/flux/apps/base/release.yaml",
        line: 15,
        message: expect.stringContaining("/spec/install/remediation/retries"),
      }),
    ]);
  });

  it("makes a kind without a schema a visible warning, and an error with --strict", async () => {
    const tree = smallFleet(["prod"]);
    tree["gitops/flux/apps/base/kustomization.yaml"] = tree["gitops/flux/apps/base/kustomization.yaml"]! + "  - widget.yaml\n";
    tree["gitops/flux/apps/base/widget.yaml"] =
      "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: ingress\nspec: {}\n";
    const config = {
      "gitops-ci.yaml":
        "apiVersion: gitops-ci/v1\nkind: Config\nlayers:\n  - name: controllers\n    path: gitops/flux/infrastructure/controllers\n  - name: configs\n    path: gitops/flux/infrastructure/configs\n    dependsOn: [controllers]\n  - name: apps\n    path: gitops/flux/apps\n    dependsOn: [configs]\ncrds:\n  preinstalled: [example.com]\n",
    };
    const lenient = await checkTree({ ...tree, ...config });
    expect(lenient.findings).toEqual([
      expect.objectContaining({
        severity: "warning",
        check: "validate/missing-schema",
        file: "gitops/flux/apps/base/widget.yaml",
        line: 1,
      }),
    ]);
    expect(lenient.exitCode).toBe(0);
    const strict = await checkTree({ ...tree, ...config }, { strict: true });
    expect(strict.findings).toEqual([expect.objectContaining({ severity: "error", check: "validate/missing-schema" })]);
    expect(strict.exitCode).toBe(1);
  });

  it("makes a kind Kubernetes does not serve in its own groups an error, not a missing CRD schema", async () => {
    const tree = smallFleet(["prod"]);
    tree["gitops/flux/apps/base/kustomization.yaml"] = tree["gitops/flux/apps/base/kustomization.yaml"]! + "  - unserved.yaml\n";
    tree["gitops/flux/apps/base/unserved.yaml"] = [
      "apiVersion: v2\nkind: ConfigMap\nmetadata:\n  name: wrong-version\n  namespace: ingress\n",
      "apiVersion: v1\nkind: ConfigMapp\nmetadata:\n  name: wrong-kind\n  namespace: ingress\n",
      "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata:\n  name: removed-version\n  namespace: ingress\n",
    ].join("---\n");
    const { exitCode, findings } = await checkTree(tree);
    expect(exitCode).toBe(1);
    // One finding each, from validation: a dotless group can have no CRD, so no contracts/crd-order.
    expect([...findings].sort((a, b) => (a.line ?? 0) - (b.line ?? 0))).toEqual([
      expect.objectContaining({
        severity: "error",
        check: "validate/unserved-api",
        line: 1,
        message: expect.stringMatching(/^Kubernetes \d+\.\d+\.\d+ serves no ConfigMap in v2$/),
      }),
      expect.objectContaining({
        severity: "error",
        check: "validate/unserved-api",
        line: 7,
        message: expect.stringContaining("serves no ConfigMapp in v1"),
      }),
      expect.objectContaining({
        severity: "error",
        check: "validate/unserved-api",
        line: 13,
        message: expect.stringContaining("serves no CronJob in batch/v1beta1"),
      }),
    ]);
  });

  it("validates a SOPS-encrypted Secret with its metadata stripped instead of skipping it", async () => {
    const tree = smallFleet(["prod"]);
    const overlay = overlayPath("apps", "prod");
    tree[`${overlay}/kustomization.yaml`] = tree[`${overlay}/kustomization.yaml`]!.replace(
      "  - ../../base\n",
      "  - ../../base\n  - secret.enc.yaml\n",
    );
    const key = await ageKeygen(await makeTempDir());
    tree[".sops.yaml"] = `creation_rules:\n  - encrypted_regex: ^(data|stringData)$\n    age: ${key.publicKey}\n`;
    const root = await makeRepo(tree);
    // Encrypted by the real sops, as Flux users do: only data and stringData are ciphertext.
    await writeEncrypted(
      root,
      `${overlay}/secret.enc.yaml`,
      "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\n  namespace: ingress\ntype: Opaque\nstringData:\n  token: value\nbogusField: 1\n",
    );
    const { context } = captureContext(root);
    const findings = (await check(context, { dir: root, json: false })).report.findings;
    // Validated (the bogus field is caught, at its line in the encrypted file, on the object the
    // overlay's nameSuffix renamed) but the sops block itself is not a finding; the only other
    // finding says the MACs went unverified, with no key in the environment.
    expect(findings).toEqual([
      {
        severity: "error",
        check: "validate/schema",
        environment: "prod",
        layer: "apps",
        file: `${overlay}/secret.enc.yaml`,
        line: 9,
        resource: { apiVersion: "v1", kind: "Secret", name: "token-prod", namespace: "ingress" },
        // The schema validator's words for the field, then ours.
        message: expect.stringMatching(/'bogusField'.* \(rejected by the schema of Kubernetes v\d+\.\d+\.\d+\)$/),
      },
      {
        severity: "info",
        check: "secrets/decryption-skipped",
        message:
          "decryption skipped: neither SOPS_AGE_KEY nor SOPS_AGE_KEY_FILE is set, so the MACs of 1 encrypted file were not verified (reported as skipped, never as passed)",
        hint: "give the job the age key as a masked CI/CD variable SOPS_AGE_KEY (or a file variable SOPS_AGE_KEY_FILE)",
      },
    ]);
    expect(JSON.stringify(findings)).not.toContain("'sops'");
  });
});
