// The oracle: what `flux build kustomization --dry-run` (Flux CLI v2.9.5, built by
// `npm run setup:oracle`) renders for one Flux Kustomization object.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { CORE_SCHEMA, loadAll } from "js-yaml";
import type { TaskContext } from "../../core/context.ts";
import { isRecord, scalarText } from "../../core/yaml-file.ts";

export interface OracleBuild {
  exitCode: number;
  objects: Record<string, unknown>[];
  stderr: string;
}

export interface RecursiveBuild {
  /** Kind/namespace/name=path of every source besides the repository (ExternalArtifacts). */
  localSources: readonly string[];
}

/**
 * Builds one Kustomization in dry-run mode, confined to `root` (flux's cwd). With `recursive`,
 * every Kustomization it applies too, its GitRepository being `root`.
 */
export async function fluxBuild(
  context: TaskContext,
  root: string,
  kustomization: Record<string, unknown>,
  recursive?: RecursiveBuild,
): Promise<OracleBuild> {
  const metadata = isRecord(kustomization["metadata"]) ? kustomization["metadata"] : {};
  const spec = isRecord(kustomization["spec"]) ? kustomization["spec"] : {};
  const sourceRef = isRecord(spec["sourceRef"]) ? spec["sourceRef"] : {};
  const namespace = scalarText(metadata["namespace"], "flux-system");
  const dir = await mkdtemp(path.join(tmpdir(), "gitops-ci-oracle-"));
  try {
    const file = path.join(dir, "kustomization.json");
    await writeFile(file, JSON.stringify(kustomization));
    const recursion = recursive
      ? [
          "--recursive",
          "--local-sources",
          [
            `GitRepository/${(sourceRef["namespace"] as string | undefined) ?? namespace}/${String(sourceRef["name"])}=${root}`,
            ...recursive.localSources,
          ].join(","),
        ]
      : [];
    // In memory, flux confines reads to its cwd (the repository), where no artifact is: with
    // artifacts it builds in its temporary copy, as kustomize-controller does.
    const inMemory = (recursive?.localSources.length ?? 0) === 0 ? ["--in-memory-build"] : [];
    const result = await context.runner.run(
      "flux",
      [
        "build",
        "kustomization",
        String(metadata["name"]),
        "--namespace",
        namespace,
        "--path",
        path.join(root, typeof spec["path"] === "string" ? spec["path"] : "."),
        "--kustomization-file",
        file,
        "--dry-run",
        ...inMemory,
        ...recursion,
      ],
      { cwd: root },
    );
    const objects = result.exitCode === 0 ? loadAll(result.stdout, undefined, { schema: CORE_SCHEMA }).filter(isRecord) : [];
    return { exitCode: result.exitCode, objects, stderr: result.stderr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** apiVersion-group/kind/namespace/name → object, for comparing renders object by object. */
export function byIdentity(objects: readonly Record<string, unknown>[]): Map<string, Record<string, unknown>> {
  return new Map(
    objects.map((object) => {
      const metadata = isRecord(object["metadata"]) ? object["metadata"] : {};
      const group = scalarText(object["apiVersion"]).split("/").slice(0, -1).join("/");
      return [`${group}/${String(object["kind"])}/${scalarText(metadata["namespace"])}/${String(metadata["name"])}`, object];
    }),
  );
}
