import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../../cli/main.ts";
import { isAddress, isHostname } from "../../../core/promote/environment-values.ts";
import type { MarkedValue } from "../../../core/promote/markers.ts";
import { listRepoFiles } from "../../../core/repo-files.ts";
import { check } from "../../../tasks/check/index.ts";
import { envAdd } from "../../../tasks/env/index.ts";
import { captureContext } from "../../helpers/context.ts";
import { copyExample, examplePath } from "../../helpers/temp-repo.ts";

const MARKER = "# gitops-ci: set for qa (copied from staging)";
const AGE_KEY = { SOPS_AGE_KEY_FILE: examplePath("examples/layout-a/example-age-key.txt") };

/** What a person does with the list: a value of their own on each listed line, marker removed. */
async function fillIn(root: string, values: readonly MarkedValue[]): Promise<void> {
  for (const file of new Set(values.map((value) => value.file))) {
    const lines = (await readFile(path.join(root, file), "utf8")).split("\n");
    const marked = new Set(values.filter((value) => value.file === file).map((value) => value.line - 1));
    const filled = lines.flatMap((line, index) => {
      if (!marked.has(index)) return [line];
      if (line.trim().startsWith("#")) return []; // a secret file: re-created for qa in real life
      return [
        line
          .replace(` ${MARKER}`, "")
          .replace(/10\.30\./g, "10.40.")
          .replace(/staging\.example\.com/g, "qa.example.com")
          .replace("acme-staging-v02", "acme-v02"),
      ];
    });
    await writeFile(path.join(root, file), filled.join("\n"));
  }
}

/** Lines of a copied (non-secret) file that carry an address or host name outside a comment. */
async function unmarkedAddresses(root: string, dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const file of await listRepoFiles(root, dir)) {
    if (file.includes("/secrets/") || file.includes("/sealed-secrets/")) continue;
    (await readFile(path.join(root, file), "utf8")).split("\n").forEach((line, index) => {
      const code = line.replace(/(^|\s)#.*$/, "");
      const tokens = code.split(/[\s:"',[\]]+/).filter(Boolean);
      if (
        tokens.some((token) => isAddress(token) || (isHostname(token) && token.includes("example.com"))) &&
        !line.includes("# gitops-ci: set for qa")
      ) {
        found.push(`${file}:${index + 1}: ${line.trim()}`);
      }
    });
  }
  return found;
}

describe("gitops-ci env add on layout A", () => {
  it("copies every layer, sets the nameSuffix, marks and lists what must change, and validates once it is filled in", async () => {
    const root = await copyExample("examples/layout-a");
    const { context, stdout } = captureContext(root);
    const result = await envAdd(context, { dir: ".", name: "qa", from: "staging", json: false });
    expect(result.exitCode).toBe(0);
    expect(result.overlays).toEqual([
      { layer: "controllers", path: "gitops/flux/infrastructure/controllers/overlays/qa" },
      { layer: "configs", path: "gitops/flux/infrastructure/configs/overlays/qa" },
      { layer: "apps", path: "gitops/flux/apps/overlays/qa" },
    ]);
    for (const overlay of result.overlays)
      expect(await readFile(path.join(root, overlay.path, "kustomization.yaml"), "utf8")).toContain("nameSuffix: -qa\n");
    expect(await readFile(path.join(root, "gitops-ci.yaml"), "utf8")).toContain("environments: [prod, staging, qa]\n");
    // Names that follow from the suffix are renamed, not marked.
    expect(await readFile(path.join(root, "gitops/flux/apps/overlays/qa/gitlab-hosts-patch.yaml"), "utf8")).toContain(
      "          secret: gitlab-smtp-qa\n",
    );
    expect(result.renamed.map((entry) => entry.to)).toContain("letsencrypt-qa");

    const listed = result.values.map((value) => `${path.posix.basename(value.file)}:${value.line} ${value.kind} ${value.value}`);
    expect(listed).toEqual([
      "cilium-api-server-patch.yaml:3 ip 10.30.0.10",
      "ingress-nginx-service-patch.yaml:11 ip 10.30.10.10",
      "lb-ip-pool.yaml:9 ip 10.30.10.10",
      "lb-ip-pool.yaml:10 ip 10.30.10.50",
      "cluster-issuer-patch.yaml:5 url https://acme-staging-v02.api.letsencrypt.org/directory",
      "cluster-issuer-patch.yaml:17 hostname staging.example.com",
      "cloudflare-api-token.yaml:1 secret ",
      "wildcard-certificate.yaml:15 hostname *.staging.example.com",
      "wildcard-certificate.yaml:17 hostname staging.example.com",
      "wildcard-certificate.yaml:18 hostname *.staging.example.com",
      "gitlab-hosts-patch.yaml:10 hostname staging.example.com",
      "gitlab-hosts-patch.yaml:12 hostname gitlab.staging.example.com",
      "gitlab-hosts-patch.yaml:14 hostname registry.staging.example.com",
      "gitlab-hosts-patch.yaml:16 hostname kas.staging.example.com",
      "gitlab-hosts-patch.yaml:18 email gitlab@staging.example.com",
      "gitlab-hosts-patch.yaml:20 email gitlab@staging.example.com",
      "gitlab-object-storage.yaml:1 secret ",
      "gitlab-smtp.yaml:1 secret ",
    ]);
    expect(stdout()).toContain(`18 values to set for qa, each marked "${MARKER}"`);
    expect(stdout()).toContain("gitops/flux/infrastructure/controllers/overlays/qa/lb-ip-pool.yaml:9");
    expect(stdout()).toContain("Then create infrastructure/02-platforms/k8s-qa (Terraform)");
    for (const overlay of result.overlays) expect(await unmarkedAddresses(root, overlay.path)).toEqual([]);

    // Until the values are set, check fails on each of them, and on nothing else.
    const before = await check(captureContext(root, AGE_KEY).context, { dir: ".", json: false });
    expect(before.exitCode).toBe(1);
    const errors = before.report.findings.filter((finding) => finding.severity === "error");
    expect(new Set(errors.map((finding) => finding.check))).toEqual(new Set(["standards/unfilled-env-value"]));
    expect(errors.map((finding) => `${finding.file}:${finding.line}`).sort()).toEqual(
      result.values.map((value) => `${value.file}:${value.line}`).sort(),
    );
    expect(errors.every((finding) => finding.environment === "qa")).toBe(true);

    await fillIn(root, result.values);
    const after = await check(captureContext(root, AGE_KEY).context, { dir: ".", json: false });
    expect(after.report.findings.filter((finding) => finding.severity !== "info")).toEqual([]);
    expect(after.exitCode).toBe(0);
    expect(after.report.summary.filter((row) => row.environment === "qa").map((row) => [row.layer, row.rendered, row.objects])).toEqual([
      // The controllers' charts render with them (cert-manager's CRDs among them).
      ["controllers", true, 86],
      ["configs", true, 3],
      ["apps", true, 6],
    ]);
  });

  it("refuses an existing environment, an unknown source, a bad name and an existing folder", async () => {
    const root = await copyExample("examples/layout-a");
    const { context } = captureContext(root);
    await expect(envAdd(context, { dir: ".", name: "prod", from: "staging", json: false })).rejects.toThrow(/already exists/);
    await expect(envAdd(context, { dir: ".", name: "qa", from: "dev", json: false })).rejects.toThrow(/--from dev is not an environment/);
    await expect(envAdd(context, { dir: ".", name: "QA_1", from: "staging", json: false })).rejects.toThrow(
      /not a usable environment name/,
    );
    await import("node:fs/promises").then(({ mkdir }) =>
      mkdir(path.join(root, "gitops/flux/apps/overlays/qa/secrets"), { recursive: true }),
    );
    await expect(envAdd(context, { dir: ".", name: "qa", from: "staging", json: false })).rejects.toThrow(/overlays\/qa already exists/);
  });
});

describe("gitops-ci env add on layout B, from the command line", () => {
  it("creates clusters/<env>/<layer> with SealedSecrets and chart values marked, and lists them as JSON", async () => {
    const root = await copyExample("examples/layout-b");
    let stdout = "";
    const code = await runCli(["env", "add", "qa", "--from", "staging", root, "--json"], {
      cwd: root,
      env: { PATH: process.env["PATH"], HOME: process.env["HOME"] },
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: () => undefined },
      cpus: 2,
    });
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as { overlays: { path: string }[]; values: MarkedValue[] };
    expect(result.overlays.map((overlay) => overlay.path)).toEqual([
      "clusters/qa/infrastructure",
      "clusters/qa/observability",
      "clusters/qa/applications",
    ]);
    expect(result.values.map((value) => `${value.file}:${value.line} ${value.kind}`)).toContain(
      "clusters/qa/applications/patches/ingress-patch.yaml:3 hostname",
    );
    expect(result.values.filter((value) => value.kind === "secret").map((value) => value.file)).toEqual([
      "clusters/qa/observability/sealed-secrets/actual-grafana-admin.yaml",
      "clusters/qa/applications/sealed-secrets/actual-podinfo-secrets.yaml",
    ]);
    expect(await readFile(path.join(root, "clusters/qa/applications/patches/podinfo-patch.yaml"), "utf8")).toContain(
      "              value: qa\n",
    );

    const before = await check(captureContext(root).context, { dir: ".", json: false });
    expect(before.report.findings.filter((finding) => finding.severity === "error").map((finding) => finding.check)).toEqual(
      result.values.map(() => "standards/unfilled-env-value"),
    );
    await fillIn(
      root,
      result.values.map((value) => ({ ...value, from: "staging" })),
    );
    const after = await check(captureContext(root).context, { dir: ".", json: false });
    expect(after.report.findings.filter((finding) => finding.severity === "error")).toEqual([]);
  });
});
