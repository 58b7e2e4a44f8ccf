// `gitops-ci schemas` end to end: the real command on small CRD and OpenAPI fixtures, then the real
// kubeconform -strict on manifests against what it wrote.
import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../../cli/main.ts";
import type { TaskContext } from "../../../core/context.ts";
import { UserError } from "../../../core/errors.ts";
import { defaultToolsDir, PROJECT_ROOT } from "../../../core/toolchain.ts";
import { schemas } from "../../../tasks/schemas/index.ts";
import { captureContext } from "../../helpers/context.ts";
import { makeTempDir } from "../../helpers/temp-repo.ts";

const FIXTURES = path.join(import.meta.dirname, "fixtures");
const fixture = (relative: string) => path.join(FIXTURES, relative);

const CORE_TEMPLATE = "{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json";
const CRD_TEMPLATE = "{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json";

interface KubeconformVerdict {
  name: string;
  kind: string;
  status: string;
  msg?: string;
  validationErrors?: { path: string; msg: string }[];
}

/** kubeconform exactly as the brief's CI job runs it: -strict, JSON, offline schema locations only. */
async function kubeconform(context: TaskContext, schemaLocations: readonly string[], files: readonly string[]): Promise<KubeconformVerdict[]> {
  const args = ["-strict", "-output", "json", "-verbose", "-kubernetes-version", "1.35.4"];
  for (const location of schemaLocations) args.push("-schema-location", location);
  const result = await context.runner.run("kubeconform", [...args, ...files]);
  const parsed = JSON.parse(result.stdout) as { resources: KubeconformVerdict[] };
  return parsed.resources;
}

/** Verdicts by object name: kubeconform's workers report in no fixed order. */
const byName = (verdicts: readonly KubeconformVerdict[]) => Object.fromEntries(verdicts.map((verdict) => [verdict.name, verdict]));
const statuses = (verdicts: readonly KubeconformVerdict[]) => Object.fromEntries(verdicts.map((verdict) => [verdict.name, verdict.status]));

describe("gitops-ci schemas --crds", () => {
  it("writes one schema per served version in the CRDs-catalog layout and kubeconform uses them", async () => {
    const out = await makeTempDir();
    const { context, stdout } = captureContext(PROJECT_ROOT);
    const result = await schemas(context, { outDir: out, crdPaths: [fixture("crds")] });

    expect(result.exitCode).toBe(0);
    expect(result.findings).toEqual([]);
    expect(await readdir(path.join(out, "crds"))).toEqual(["example.com", "tools.example.org"]);
    expect(await readdir(path.join(out, "crds", "example.com"))).toEqual(["widget_v1.json"]);
    expect(await readdir(path.join(out, "crds", "tools.example.org"))).toEqual(["gadget_v2.json"]);
    expect(stdout()).toMatch(/crds\s+example\.com\s+1/);
    expect(stdout()).toMatch(/2 schemas written to /);

    const locations = [path.join(out, "crds", CRD_TEMPLATE)];
    const valid = await kubeconform(context, locations, [fixture("manifests/valid.yaml")]);
    expect(statuses(valid)).toEqual({ embedded: "statusValid", numbered: "statusValid", small: "statusValid" });

    const invalid = byName(await kubeconform(context, locations, [fixture("manifests/invalid.yaml")]));
    expect(Object.values(invalid).map((verdict) => verdict.status)).toEqual(Array(5).fill("statusInvalid"));
    expect(invalid["unknown-field"]?.validationErrors).toEqual([{ path: "/spec", msg: "additional properties 'colour' not allowed" }]);
    expect(invalid["wrong-type"]?.validationErrors).toEqual([{ path: "/spec/size", msg: "got string, want integer" }]);
    expect(invalid["not-in-enum"]?.validationErrors?.[0]?.path).toBe("/spec/color");
    expect(invalid["unknown-root-field"]?.validationErrors).toEqual([{ path: "", msg: "additional properties 'sepc' not allowed" }]);
    expect(invalid["bad-mode"]?.status).toBe("statusInvalid");

    // A version that is not served gets no schema: kubeconform says so instead of passing it.
    const retired = await kubeconform(context, locations, [fixture("manifests/retired-version.yaml")]);
    expect(retired).toEqual([expect.objectContaining({ name: "old", status: "statusError", msg: "could not find schema for Widget" })]);
  });

  it("takes every CRD object of a rendered output folder", async () => {
    const out = await makeTempDir();
    const { context } = captureContext(PROJECT_ROOT);
    const result = await schemas(context, { outDir: out, renderedDir: fixture("rendered") });
    expect(result.exitCode).toBe(0);
    expect(existsSync(path.join(out, "crds", "example.net", "sprocket_v1beta1.json"))).toBe(true);
  });

  it("reports a --crds path without any CRD as an error finding", async () => {
    const out = await makeTempDir();
    const { context, stdout } = captureContext(PROJECT_ROOT);
    const result = await schemas(context, { outDir: out, crdPaths: [fixture("manifests/valid.yaml")] });
    expect(result.exitCode).toBe(1);
    expect(result.findings).toEqual([expect.objectContaining({ severity: "error", check: "schemas/no-crds" })]);
    expect(stdout()).toContain("no CustomResourceDefinition found");
  });

  it("warns when two inputs define the same version differently, and keeps the later one", async () => {
    const out = await makeTempDir();
    const changed = path.join(await makeTempDir(), "widgets-v2.yaml");
    await writeFile(changed, (await readFile(fixture("crds/widgets.yaml"), "utf8")).replace("minimum: 1", "minimum: 5"));
    const { context } = captureContext(PROJECT_ROOT);
    const result = await schemas(context, { outDir: out, crdPaths: [fixture("crds/widgets.yaml"), changed] });
    expect(result.exitCode).toBe(0);
    expect(result.findings).toEqual([expect.objectContaining({ severity: "warning", check: "schemas/conflicting-crds" })]);
    const schema = JSON.parse(await readFile(path.join(out, "crds", "example.com", "widget_v1.json"), "utf8"));
    expect(schema.properties.spec.properties.size.minimum).toBe(5);
  });
});

describe("gitops-ci schemas --kubernetes-openapi", () => {
  it("writes kubeconform's default layout, which its default template finds", async () => {
    const out = await makeTempDir();
    const { context, stdout } = captureContext(PROJECT_ROOT);
    const result = await schemas(context, { outDir: out, kubernetesOpenApi: fixture("kubernetes/swagger.json"), kubernetesVersion: "1.35.4" });

    expect(result.exitCode).toBe(0);
    const folder = path.join(out, "kubernetes", "v1.35.4-standalone-strict");
    expect((await readdir(folder)).sort()).toEqual([
      "configmap-v1.json",
      "customresourcedefinition-apiextensions-v1.json",
      "deleteoptions-apps-v1.json",
      "deleteoptions-v1.json",
      "deployment-apps-v1.json",
      "index.json",
    ]);
    // What the release serves, for the checks that must know Kubernetes' own API groups.
    expect(JSON.parse(await readFile(path.join(folder, "index.json"), "utf8"))).toEqual({
      kubernetesVersion: "v1.35.4",
      groupVersions: { "apiextensions.k8s.io/v1": ["CustomResourceDefinition"], "apps/v1": ["DeleteOptions", "Deployment"], v1: ["ConfigMap", "DeleteOptions"] },
    });
    expect(stdout()).toMatch(/kubernetes\/v1\.35\.4-standalone-strict\s+core\s+2/);

    const locations = [path.join(out, "kubernetes", CORE_TEMPLATE)];
    const valid = await kubeconform(context, locations, [fixture("manifests/kubernetes-valid.yaml")]);
    expect(statuses(valid)).toEqual({ settings: "statusValid", "things.example.com": "statusValid", web: "statusValid" });

    const invalid = byName(await kubeconform(context, locations, [fixture("manifests/kubernetes-invalid.yaml")]));
    expect(invalid["unknown-field"]?.validationErrors).toEqual([{ path: "/spec", msg: "additional properties 'replica' not allowed" }]);
    expect(invalid["null-required"]?.validationErrors).toEqual([{ path: "/spec/selector", msg: "got null, want object" }]);
    expect(invalid["wrong-type"]?.validationErrors?.[0]?.path).toBe("/data/replicas");
    expect(invalid["typo.example.com"]?.validationErrors).toEqual([{ path: "/spec/schema", msg: "additional properties 'propertes' not allowed" }]);
  });

  it("needs the Kubernetes version, which swagger.json does not carry", async () => {
    const { context } = captureContext(PROJECT_ROOT);
    const out = await makeTempDir();
    await expect(schemas(context, { outDir: out, kubernetesOpenApi: fixture("kubernetes/swagger.json") })).rejects.toThrow(UserError);
    await expect(schemas(context, { outDir: out, kubernetesOpenApi: fixture("kubernetes/swagger.json"), kubernetesVersion: "1.35" })).rejects.toThrow(
      /must look like 1\.35\.4/,
    );
    await expect(schemas(context, { outDir: out, kubernetesOpenApi: fixture("crds/widgets.yaml"), kubernetesVersion: "1.35.4" })).rejects.toThrow(
      /as JSON/,
    );
  });
});

describe("gitops-ci schemas on the command line", () => {
  it("is registered, takes repeated --crds and maps the result to an exit code", async () => {
    const out = await makeTempDir();
    let stdout = "";
    let stderr = "";
    const environment = {
      cwd: FIXTURES,
      env: { PATH: process.env["PATH"] },
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      cpus: 2,
    };
    expect(await runCli(["schemas", "--out", out, "--crds", "crds/widgets.yaml", "--crds", "crds/gadgets-and-more.yaml"], environment)).toBe(0);
    expect(stdout).toContain("2 schemas written to");
    expect(await runCli(["schemas", "--out", out], environment)).toBe(2);
    expect(stderr).toContain("nothing to generate");
    expect(await runCli(["schemas", "--crds", "crds"], environment)).toBe(2);
    expect(stderr).toContain("--out is required");
  });
});

describe("the CRD schemas gitops-ci ships (schemas/crds) and makes at setup (toolchain/flux-schemas.sh)", () => {
  const toolsSchemas = path.join(defaultToolsDir(process.env), "schemas");
  const setupFolders = async () => {
    const folders: string[] = [];
    for (const set of ["flux", "flux-operator", "cert-manager"]) {
      for (const version of await readdir(path.join(toolsSchemas, set))) {
        if (existsSync(path.join(toolsSchemas, set, version, "crds"))) folders.push(path.join(toolsSchemas, set, version, "crds"));
      }
    }
    return folders;
  };

  it("all compile in kubeconform: a bare object of each kind is checked, never reported as an error", async () => {
    const folders = [path.join(PROJECT_ROOT, "schemas", "crds"), ...(await setupFolders())];
    const { context } = captureContext(PROJECT_ROOT);
    let checked = 0;
    for (const folder of folders) {
      const documents: string[] = [];
      for (const group of (await readdir(folder, { withFileTypes: true })).filter((entry) => entry.isDirectory())) {
        for (const file of await readdir(path.join(folder, group.name))) {
          const [kind, version] = file.replace(/\.json$/, "").split("_");
          documents.push(`apiVersion: ${group.name}/${version}\nkind: ${kind}\nmetadata:\n  name: bare\n  namespace: default\n`);
        }
      }
      const manifests = path.join(await makeTempDir(), "bare.yaml");
      await writeFile(manifests, documents.join("---\n"));
      const verdicts = await kubeconform(context, [path.join(folder, CRD_TEMPLATE)], [manifests]);
      expect(verdicts, folder).toHaveLength(documents.length);
      // Invalid is fine (a required spec is missing); an error means kubeconform could not use the schema.
      expect(verdicts.filter((verdict) => verdict.status !== "statusValid" && verdict.status !== "statusInvalid"), folder).toEqual([]);
      checked += documents.length;
    }
    expect(checked).toBeGreaterThan(150);
  });

  it("has one Flux set per minor release from v2.2 to v2.9, its newest patch, and every release's controller images", async () => {
    const releases = (await readdir(path.join(toolsSchemas, "flux"))).filter((entry) => /^v\d/.test(entry));
    expect(releases.map((release) => release.split(".").slice(0, 2).join("."))).toEqual(["v2.2", "v2.3", "v2.4", "v2.5", "v2.6", "v2.7", "v2.8", "v2.9"]);
    expect(releases).toContain("v2.6.4");
    const images = await readFile(path.join(toolsSchemas, "flux", "releases.yaml"), "utf8");
    expect(images).toMatch(/^v2\.6\.1:\n {2}images:\n(?:.*\n)*? {4}- name: ghcr\.io\/fluxcd\/notification-controller\n {6}newTag: v1\.6\.0\n/m);
  });

  it("accepts FluxInstance, ResourceSet and ResourceSetInputProvider as Alert and Receiver sources, as flux-operator patches them", async () => {
    for (const release of ["v2.2.3", "v2.6.4", "v2.9.5"]) {
      const alert = JSON.parse(await readFile(path.join(toolsSchemas, "flux", release, "crds", "notification.toolkit.fluxcd.io", "alert_v1beta3.json"), "utf8"));
      expect(alert.properties.spec.properties.eventSources.items.properties.kind.enum).toEqual(expect.arrayContaining(["Kustomization", "FluxInstance", "ResourceSet", "ResourceSetInputProvider"]));
      const receiver = JSON.parse(await readFile(path.join(toolsSchemas, "flux", release, "crds", "notification.toolkit.fluxcd.io", "receiver_v1.json"), "utf8"));
      expect(receiver.properties.spec.properties.resources.items.properties.kind.enum).toEqual(expect.arrayContaining(["FluxInstance", "ResourceSet"]));
    }
  });
});
