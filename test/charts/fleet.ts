// The fleet the chart tests render (three layers, two environments, HelmReleases in `apps`), and
// the oracle they compare with: the pinned `helm template` on the same merged values.
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { dump, loadAll } from "js-yaml";
import { createTaskContext, type TaskContext } from "../../core/context.ts";
import { Redactor } from "../../core/redaction.ts";
import { createToolchain, defaultKubernetesVersion } from "../../core/toolchain.ts";
import { makeTempDir, type Tree } from "../helpers/temp-repo.ts";

const run = promisify(execFile);

const CONFIG = `apiVersion: gitops-ci/v1
kind: Config
layers:
  - name: controllers
    path: controllers
  - name: configs
    path: configs
    dependsOn: [controllers]
  - name: apps
    path: apps
    dependsOn: [configs]
environments: [staging, prod]
`;

export function overlay(layer: string, env: string, extra = ""): Tree {
  return { [`${layer}/overlays/${env}/kustomization.yaml`]: `resources: [../../base]\n${extra}` };
}

export function repository(name: string, repoUrl: string, secret?: string): string {
  return `apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: ${name}
  namespace: apps
spec:
  interval: 1h
  url: ${repoUrl}
${secret ? `  secretRef:\n    name: ${secret}\n` : ""}`;
}

export function release(name: string, spec: string): string {
  return `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: ${name}
  namespace: apps
spec:
  interval: 10m
${spec}`;
}

const NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n";

/** A fleet of three layers in two environments; `apps` holds the given base files. */
export function fleet(apps: Tree, options: { prodPatch?: string } = {}): Tree {
  return {
    "gitops-ci.yaml": CONFIG,
    "controllers/base/kustomization.yaml": "resources: [namespace.yaml]\n",
    "controllers/base/namespace.yaml": NAMESPACE,
    ...overlay("controllers", "staging"),
    ...overlay("controllers", "prod"),
    "configs/base/kustomization.yaml": "resources: [cm.yaml]\n",
    "configs/base/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: placeholder\n  namespace: apps\n",
    ...overlay("configs", "staging"),
    ...overlay("configs", "prod"),
    "apps/base/kustomization.yaml": `resources: [${Object.keys(apps)
      .map((file) => path.basename(file))
      .join(", ")}]\n`,
    ...Object.fromEntries(Object.entries(apps).map(([file, text]) => [`apps/base/${file}`, text])),
    ...overlay("apps", "staging"),
    ...overlay("apps", "prod", options.prodPatch ? `patches:\n  - path: patch.yaml\n` : ""),
    ...(options.prodPatch ? { "apps/overlays/prod/patch.yaml": options.prodPatch } : {}),
  };
}

export async function helmTemplate(
  releaseName: string,
  namespace: string,
  chartArchive: string,
  values: Record<string, unknown>,
  extra: string[] = [],
): Promise<Record<string, unknown>[]> {
  const helm = await createToolchain(process.env).resolve("helm");
  const dir = await makeTempDir();
  const valuesFile = path.join(dir, "values.yaml");
  await writeFile(valuesFile, dump(values));
  // The Kubernetes version gitops-ci renders with (the config's, else the pinned one), unless the test sets one.
  const kubeVersion = extra.includes("--kube-version") ? [] : ["--kube-version", await defaultKubernetesVersion()];
  const { stdout } = await run(
    helm,
    [
      "template",
      releaseName,
      chartArchive,
      "--namespace",
      namespace,
      "--values",
      valuesFile,
      "--include-crds",
      "--skip-tests",
      ...kubeVersion,
      ...extra,
    ],
    { maxBuffer: 64 << 20 },
  );
  return loadAll(stdout).filter((doc): doc is Record<string, unknown> => typeof doc === "object" && doc !== null);
}

export function key(object: Record<string, unknown>): string {
  const metadata = object["metadata"] as Record<string, unknown>;
  return `${String(object["kind"])}/${String(metadata["name"])}`;
}

/** Without what helm-controller adds on top of `helm template`: the origin labels, and the namespace Helm applies to. */
export function asHelmTemplates(object: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(object);
  const metadata = copy["metadata"] as Record<string, unknown>;
  const labels = { ...(metadata["labels"] as Record<string, string> | undefined) };
  delete labels["helm.toolkit.fluxcd.io/name"];
  delete labels["helm.toolkit.fluxcd.io/namespace"];
  if (Object.keys(labels).length > 0) metadata["labels"] = labels;
  else delete metadata["labels"];
  return copy;
}

/** A task context for a chart-cache run of `root`: output dropped, charts online or `--offline`. */
export function quietContext(root: string, options: { offline: boolean; cacheDir: string }): TaskContext {
  return createTaskContext({
    cwd: root,
    env: { PATH: process.env["PATH"], HOME: process.env["HOME"] },
    stdout: { write: () => {} },
    stderr: { write: () => {} },
    concurrency: 2,
    redactor: new Redactor(),
    ...options,
  });
}
