import { describe, expect, it } from "vitest";
import type { Manifest } from "../../../core/manifests.ts";
import { render } from "../../../tasks/render/index.ts";
import { captureContext } from "../../helpers/context.ts";
import { canary, keyEnv, writeEncrypted } from "../../helpers/sops.ts";
import { layerPath, overlayPath, smallFleet } from "../../helpers/small-fleet.ts";
import { copyCase, writeTree } from "../../helpers/temp-repo.ts";
import { base64, makeSopsRepo, runCheck, secretYaml } from "./setup.ts";

async function renderRepo(root: string) {
  const { context } = captureContext(root);
  const result = await render(context, { dir: root });
  // The canaries are only meaningful if the render that carries them succeeded.
  expect(result.exitCode).toBe(0);
  return result.rendered;
}

describe("checkSecrets: rendered Secrets", () => {
  it("reports Secrets rendered from plaintext sources with their origin, and accepts SOPS-encrypted ones", async () => {
    const planted = {
      data: canary("data"),
      stringData: canary("string"),
      literal: canary("literal"),
      encrypted: canary("encrypted"),
      env: canary("env"),
    };
    const apps = layerPath("apps");
    const { root, key } = await makeSopsRepo(smallFleet());
    await writeTree(root, {
      [`${apps}/base/kustomization.yaml`]: "resources:\n  - service.yaml\n  - secret.yaml\n",
      [`${apps}/base/secret.yaml`]: `# plain, rendered in every environment\n${secretYaml("plain", { data: { token: base64(planted.data) }, stringData: { password: planted.stringData } }, "ingress")}`,
      [`${overlayPath("apps", "prod")}/kustomization.yaml`]: [
        "resources:",
        "  - ../../base",
        "  - secrets/db.yaml",
        "nameSuffix: -prod",
        "secretGenerator:",
        "  - name: generated",
        "    namespace: ingress",
        "    literals:",
        `      - password=${planted.literal}`,
        "  - name: from-env",
        "    namespace: ingress",
        "    envs: [secrets/app.env]",
        "",
      ].join("\n"),
    });
    await writeEncrypted(
      root,
      `${overlayPath("apps", "prod")}/secrets/db.yaml`,
      secretYaml("db", { stringData: { password: planted.encrypted } }, "ingress"),
    );
    await writeEncrypted(root, `${overlayPath("apps", "prod")}/secrets/app.env`, `TOKEN=${planted.env}\n`);
    const rendered = await renderRepo(root);

    const { findings, stdout, stderr } = await runCheck(root, { rendered, env: keyEnv(key) });
    const plaintext = findings.filter((f) => f.check === "secrets/plaintext-secret");
    expect(plaintext).toEqual([
      expect.objectContaining({
        file: `${apps}/base/secret.yaml`,
        line: 2,
        layer: "apps",
        resource: expect.objectContaining({ name: "plain-prod" }),
        message: expect.stringContaining("prod/apps, staging/apps"),
      }),
      expect.objectContaining({
        file: `${overlayPath("apps", "prod")}/kustomization.yaml`,
        line: 9,
        message: expect.stringContaining("literals"),
      }),
    ]);
    expect(plaintext[0]!.environment).toBeUndefined();
    expect(findings).toContainEqual(expect.objectContaining({ check: "secrets/not-encrypted", file: `${apps}/base/secret.yaml`, line: 2 }));
    const everything = JSON.stringify(findings) + stdout() + stderr();
    for (const value of Object.values(planted)) expect(everything).not.toContain(value);
  });

  it("traces a generated Secret to its generator when the kustomization was not among the checked files", async () => {
    const { root } = await makeSopsRepo(smallFleet(["prod"]));
    const literal = canary("literal");
    await writeTree(root, {
      [`${overlayPath("apps", "prod")}/kustomization.yaml`]: `resources: [../../base]\nsecretGenerator:\n  - name: generated\n    literals: [password=${literal}]\n`,
    });
    const { findings } = await runCheck(root, { rendered: await renderRepo(root), files: [] });
    expect(findings).toEqual([
      expect.objectContaining({
        check: "secrets/plaintext-secret",
        environment: "prod",
        layer: "apps",
        file: `${overlayPath("apps", "prod")}/kustomization.yaml`,
        line: 4,
      }),
    ]);
    expect(JSON.stringify(findings)).not.toContain(literal);
  });

  it("accepts a Secret whose values come from Flux postBuild substitution", async () => {
    const substituted = canary("substituted");
    const { root } = await makeSopsRepo({ "apps/secret.yaml": secretYaml("db", { stringData: { password: "${db_password}" } }, "apps") });
    const manifest: Manifest = {
      ref: { apiVersion: "v1", kind: "Secret", name: "db", namespace: "apps" },
      object: { apiVersion: "v1", kind: "Secret", metadata: { name: "db", namespace: "apps" }, stringData: { password: substituted } },
      origin: { file: "apps/secret.yaml" },
    };
    const overlay = { environment: "prod", layer: "apps", path: "apps", dependsOn: [], order: 1 };
    const { findings } = await runCheck(root, { rendered: [{ overlay, ok: true, manifests: [manifest], findings: [], durationMs: 0 }] });
    expect(findings).toEqual([]);
  });

  it("checks SealedSecrets: templates without ciphertext, sealed values in overlays, no plain Secret beside them", async () => {
    const root = await copyCase("examples/layout-b", "sealed-secrets-misuse");
    const stringValue = canary("beside");
    const overlay = "clusters/production/applications";
    // The plain Secret the case's overlay lists, with a value no output may show.
    await writeTree(root, {
      [`${overlay}/sealed-secrets/plain.yaml`]: secretYaml("plain", { stringData: { token: stringValue } }, "podinfo"),
    });

    const { findings, stdout, stderr } = await runCheck(root, { rendered: await renderRepo(root) });
    expect(findings.filter((f) => f.severity !== "info")).toEqual([
      expect.objectContaining({
        severity: "error",
        check: "secrets/template-rendered",
        environment: "local",
        file: "clusters/base/applications/podinfo/sealed-secrets/template-podinfo-secrets.yaml",
        line: 4,
      }),
      expect.objectContaining({
        severity: "warning",
        check: "secrets/template-has-ciphertext",
        file: "clusters/base/applications/podinfo/sealed-secrets/template-podinfo-secrets.yaml",
        line: 11,
      }),
      expect.objectContaining({
        severity: "error",
        check: "secrets/plain-secret-beside-sealed",
        file: `${overlay}/sealed-secrets/plain.yaml`,
        line: 1,
      }),
      expect.objectContaining({
        severity: "error",
        check: "secrets/plaintext-secret",
        environment: "production",
        file: `${overlay}/sealed-secrets/plain.yaml`,
        message: expect.stringContaining("SealedSecrets"),
      }),
      expect.objectContaining({
        severity: "error",
        check: "secrets/sealed-secret-empty",
        file: "clusters/staging/observability/sealed-secrets/actual-grafana-admin.yaml",
      }),
    ]);
    expect(JSON.stringify(findings) + stdout() + stderr()).not.toContain(stringValue);
  });
});
