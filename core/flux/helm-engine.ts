// Runs gitops-ci-engine's HelmRelease renders: Helm's SDK (the version helm-controller builds with)
// templates each release as helm-controller installs it. One process renders many releases and
// loads each chart archive once, so releases go in batches, like Kustomization builds.
// With a render cache in the context, each release's chart is resolved first (its version and
// digest, as its source's artifact would be), and only the releases the cache does not hold for
// that chart are templated.
import { mapWithConcurrency } from "../concurrency.ts";
import type { TaskContext } from "../context.ts";
import { ToolError } from "../errors.ts";
import { ENGINE, type EngineInputs } from "./engine.ts";
import { openRenderCache, type CachePolicy } from "./render-cache.ts";

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
  /** Taken from the render cache. */
  cached?: boolean;
}

export interface ChartOptions {
  /** Where fetched charts are kept (the render cache's directory). */
  cacheDir?: string;
  /** Only the cache is read: a chart it does not hold is a finding. */
  offline: boolean;
  /** OCI registries' credentials from the CI variables, a Docker config JSON (core/flux/registry-auth.ts); never printed. */
  registryAuth?: string;
}

const MAX_BATCH = 32;

/** Renders every release against the source root `root`; results come back in request order. */
export async function runReleases(
  context: TaskContext,
  root: string,
  releases: readonly ReleaseRender[],
  options: ChartOptions,
): Promise<ReleaseResult[]> {
  if (releases.length === 0) return [];
  if (!context.renderCache) return renderAll(context, root, releases, options);
  const cacheable = releases.filter(isCacheable);
  const resolved = new Map<ReleaseRender, ReleaseResult>();
  for (const [index, answer] of (await engineRun(context, root, cacheable, options, true)).entries())
    resolved.set(cacheable[index]!, answer);
  const cache = await openRenderCache<ReleaseRender, ReleaseResult>(
    context.renderCache,
    root,
    await context.toolchain.resolve(ENGINE),
    (text) => context.output.err(text),
    releasePolicy(resolved),
  );
  const cached = await cache.lookupAll(releases);
  const misses = releases.filter((_, index) => !cached[index]);
  const startedAtMs = Date.now();
  const rendered = await renderAll(context, root, misses, options);
  await cache.storeAll(misses, rendered, startedAtMs);
  const byRelease = new Map(misses.map((release, index) => [release, rendered[index]!]));
  return releases.map((release, index) => cached[index] ?? byRelease.get(release)!);
}

/**
 * The key of a release's render: the request (HelmRelease, sources, the ConfigMaps its values come
 * from, Kubernetes and API versions) and the chart it resolved to; the files of a chart in this
 * repository are the entry's recorded inputs. A release whose chart did not resolve is not kept.
 */
function releasePolicy(resolved: ReadonlyMap<ReleaseRender, ReleaseResult>): CachePolicy<ReleaseRender> {
  return {
    keyOf(release) {
      const answer = resolved.get(release);
      if (!answer?.chart || answer.error !== undefined) return undefined;
      const { id: _id, objects, ...request } = release;
      // Credentials only decide whether the chart could be fetched: the resolved chart stands for them.
      const values = objects.filter((object) => object["kind"] !== "Secret");
      return { release: { ...request, objects: values }, chart: answer.chart };
    },
    unrecordedProbes: () => [],
  };
}

/** A release whose values come from a Secret may hold values decrypted from it: never on disk. */
function isCacheable(release: ReleaseRender): boolean {
  const spec = release.helmRelease["spec"] as Record<string, unknown> | undefined;
  const refs = Array.isArray(spec?.["valuesFrom"]) ? (spec["valuesFrom"] as unknown[]) : [];
  return !refs.some((ref) => typeof ref === "object" && ref !== null && (ref as Record<string, unknown>)["kind"] === "Secret");
}

async function renderAll(
  context: TaskContext,
  root: string,
  releases: readonly ReleaseRender[],
  options: ChartOptions,
): Promise<ReleaseResult[]> {
  return engineRun(context, root, releases, options, false);
}

async function engineRun(
  context: TaskContext,
  root: string,
  releases: readonly ReleaseRender[],
  options: ChartOptions,
  resolveOnly: boolean,
): Promise<ReleaseResult[]> {
  if (releases.length === 0) return [];
  // Resolving is mostly waiting on the network: one process, every release.
  const processes = resolveOnly ? 1 : Math.min(context.concurrency, releases.length);
  const size = resolveOnly ? releases.length : Math.min(MAX_BATCH, Math.ceil(releases.length / processes));
  const batches: ReleaseRender[][] = [];
  for (let index = 0; index < releases.length; index += size) batches.push(releases.slice(index, index + size));
  const answers = await mapWithConcurrency(batches, processes, async (batch) => {
    const input = JSON.stringify({
      root,
      workers: resolveOnly ? Math.max(1, context.concurrency) : 1,
      builds: [],
      releases: batch,
      chartCache: options.cacheDir ?? "",
      offline: options.offline,
      ...(options.registryAuth ? { registryAuth: options.registryAuth } : {}),
      ...(resolveOnly ? { resolveOnly: true } : {}),
    });
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
