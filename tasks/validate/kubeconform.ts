// Runs kubeconform once over every rendered overlay (one process, its own worker pool) and turns
// its JSON output into per-resource results. kubeconform failing to run is a ToolError; resources
// it rejects are data.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TaskContext } from "../../core/context.ts";
import { ToolError } from "../../core/errors.ts";
import type { Manifest } from "../../core/manifests.ts";

export interface KubeconformResource {
  filename: string;
  kind: string;
  name: string;
  version: string;
  status: "statusValid" | "statusInvalid" | "statusError" | "statusSkipped" | "statusEmpty";
  msg?: string;
  validationErrors?: { path: string; msg: string }[];
}

export interface ValidationInput {
  key: string;
  manifests: readonly Manifest[];
}

export interface KubeconformOptions {
  kubernetesVersion: string;
  schemaLocations: readonly string[];
  strict: boolean;
}

export async function runKubeconform(
  context: TaskContext,
  inputs: readonly ValidationInput[],
  options: KubeconformOptions,
): Promise<Map<string, KubeconformResource[]>> {
  const dir = await mkdtemp(path.join(tmpdir(), "gitops-ci-validate-"));
  try {
    const files = new Map<string, string>();
    for (const [index, input] of inputs.entries()) {
      if (input.manifests.length === 0) continue;
      const file = path.join(dir, `${index}.yaml`);
      files.set(file, input.key);
      // JSON is YAML too, and serialises an order of magnitude faster than YAML.
      await writeFile(file, input.manifests.map((manifest) => JSON.stringify(forValidation(manifest.object))).join("\n---\n"));
    }
    const byKey = new Map<string, KubeconformResource[]>(inputs.map((input) => [input.key, []]));
    if (files.size === 0) return byKey;
    const args = [
      "-output",
      "json",
      "-kubernetes-version",
      options.kubernetesVersion,
      "-n",
      String(Math.max(2, context.concurrency * 2)),
      ...(options.strict ? ["-strict"] : []),
      ...options.schemaLocations.flatMap((location) => ["-schema-location", location]),
      ...files.keys(),
    ];
    const result = await context.runner.run("kubeconform", args);
    let parsed: { resources?: KubeconformResource[] };
    try {
      parsed = JSON.parse(result.stdout) as { resources?: KubeconformResource[] };
    } catch (error) {
      // Exit 1 means "some resources invalid" and still prints JSON; anything unparseable is a failure to run.
      throw new ToolError("kubeconform did not produce JSON output", {
        command: result.command,
        exitCode: result.exitCode,
        stderr: result.stderr,
        cause: error,
      });
    }
    for (const resource of parsed.resources ?? []) {
      const key = files.get(resource.filename);
      if (key !== undefined) byKey.get(key)?.push(resource);
    }
    return byKey;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * What kubeconform should see of an object: SOPS metadata is stripped (kustomize-controller
 * decrypts before applying, so the API server never sees it) rather than the Secret skipped.
 */
export function forValidation(object: Record<string, unknown>): Record<string, unknown> {
  if (!("sops" in object)) return object;
  const { sops: _sops, ...rest } = object;
  return rest;
}
