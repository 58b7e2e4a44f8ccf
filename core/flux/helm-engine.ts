// Runs gitops-ci-engine's HelmRelease renders: Helm's SDK (the version helm-controller builds with)
// templates each release as helm-controller installs it. One process renders many releases and
// loads each chart archive once, so releases go in batches, like Kustomization builds.
import { mapWithConcurrency } from "../concurrency.ts";
import type { TaskContext } from "../context.ts";
import { ToolError } from "../errors.ts";
import { ENGINE, type EngineInputs } from "./engine.ts";

export interface ReleaseRender {
  id: string;
  /** The HelmRelease as the cluster would hold it. */
  helmRelease: Record<string, unknown>;
  /** HelmRepositories, GitRepositories, OCIRepositories and HelmCharts the cluster holds. */
  sources: Record<string, unknown>[];
  /** ConfigMaps and Secrets the cluster holds, for valuesFrom and a repository's secretRef. */
  objects: Record<string, unknown>[];
  /** "namespace/name" of the GitRepositories that are this repository. */
  localGitRepositories: string[];
  kubeVersion?: string;
  /** group/version and group/version/Kind of the CRDs rendered before the release. */
  apiVersions?: string[];
}

export type ReleaseErrorKind =
  | "invalid-release"
  | "source-not-found"
  | "source-unsupported"
  | "fetch"
  | "offline-miss"
  | "chart-load"
  | "outside-root"
  | "values-reference"
  | "values-schema"
  | "template";

export interface ValuesOrigin {
  kind: "chart" | "valuesFile" | "valuesFrom" | "values";
  file?: string;
  ref?: string;
}

export interface ReleaseResult {
  id: string;
  objects: Record<string, unknown>[];
  error?: string;
  errorKind?: ReleaseErrorKind;
  schemaErrors?: { path: string; message: string; from: ValuesOrigin }[];
  chart?: { name: string; version: string; source: string; digest?: string; crds: number };
  releaseName?: string;
  namespace?: string;
  /** Strings valuesFrom Secrets brought: redacted wherever they appear. */
  secretValues?: string[];
  /** The merged values the chart was given. */
  values?: Record<string, unknown>;
  inputs: EngineInputs;
  durationMs: number;
}

export interface ChartOptions {
  /** Where fetched charts are kept (the render cache's directory). */
  cacheDir?: string;
  /** Only the cache is read: a chart it does not hold is a finding. */
  offline: boolean;
}

const MAX_BATCH = 32;

/** Renders every release against the source root `root`; results come back in request order. */
export async function runReleases(context: TaskContext, root: string, releases: readonly ReleaseRender[], options: ChartOptions): Promise<ReleaseResult[]> {
  if (releases.length === 0) return [];
  const processes = Math.min(context.concurrency, releases.length);
  const size = Math.min(MAX_BATCH, Math.ceil(releases.length / processes));
  const batches: ReleaseRender[][] = [];
  for (let index = 0; index < releases.length; index += size) batches.push(releases.slice(index, index + size));
  const answers = await mapWithConcurrency(batches, processes, async (batch) => {
    const input = JSON.stringify({ root, workers: 1, builds: [], releases: batch, chartCache: options.cacheDir ?? "", offline: options.offline });
    const result = await context.runner.run(ENGINE, [], { input, cwd: root });
    if (result.exitCode !== 0) {
      throw new ToolError(`${ENGINE} failed`, { command: result.command, exitCode: result.exitCode, stderr: result.stderr });
    }
    const byId = new Map((JSON.parse(result.stdout) as { releases: ReleaseResult[] }).releases.map((release) => [release.id, release]));
    return batch.map((release) => {
      const answer = byId.get(release.id);
      if (!answer) throw new ToolError(`${ENGINE} returned no result for release ${release.id}`, { command: ENGINE });
      return answer;
    });
  });
  return answers.flat();
}
