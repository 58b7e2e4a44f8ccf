// Runs gitops-ci-engine (toolchain/engine): Flux's own packages build Flux Kustomizations, many
// per process. kustomize's build is serialized inside one process (fluxcd/pkg/kustomize holds a
// lock around it), so the builds go in small batches to `context.concurrency` processes at once.
// With a render cache in the context, only the builds it does not hold go to the engine.
import { mapWithConcurrency } from "../concurrency.ts";
import type { TaskContext } from "../context.ts";
import { ToolError } from "../errors.ts";
import { DEFAULT_BUILD_TIMEOUT_MS, describeSize, MAX_INPUT_BYTES, oversizedFiles, oversizedInput } from "./build-limits.ts";
import { openRenderCache } from "./render-cache.ts";

export interface EngineBuild {
  /** Unique within one call. */
  id: string;
  /** The Flux Kustomization as the cluster would hold it. */
  kustomization: Record<string, unknown>;
  /** Read substituteFrom from `objects`; otherwise only spec.postBuild.substitute applies (flux build --dry-run). */
  resolveSubstituteFrom: boolean;
  /** ConfigMaps and Secrets the cluster holds, for substituteFrom. */
  objects?: Record<string, unknown>[];
  /** Keep variables without a known value as the literal ${NAME}. */
  placeholders?: boolean;
  /** Report the repository file each object came from. */
  origins: boolean;
}

export type EngineErrorKind =
  | "path-not-found"
  | "remote-resource"
  | "outside-root"
  | "substitution"
  | "invalid-object"
  | "invalid-kustomization"
  | "build"
  // Set here, not by the engine: the build was not run (an input over the size limit) or was stopped.
  | "file-too-large"
  | "timeout";

export interface EngineInputs {
  files: string[];
  trees: string[];
  probes: string[];
}

export interface EngineResult {
  id: string;
  objects: Record<string, unknown>[];
  origins?: string[];
  error?: string;
  errorKind?: EngineErrorKind;
  unsetVariables?: string[];
  inputs: EngineInputs;
  durationMs: number;
  /** Taken from the render cache (durationMs is then the lookup's). */
  cached?: boolean;
}

interface EngineResponse {
  engine: string;
  results: EngineResult[];
}

export const ENGINE = "gitops-ci-engine";

/** What the render puts in place of SOPS-encrypted Secret values, as `flux build` does. */
export const SOPS_MASK = "**SOPS**";
const SOPS_MASK_BASE64 = Buffer.from(SOPS_MASK).toString("base64");

export function isSopsMask(value: unknown): boolean {
  return value === SOPS_MASK || value === SOPS_MASK_BASE64;
}

/** A rendered Secret the engine masked: it was SOPS-encrypted in Git, so it holds the mask, not values. */
export function holdsSopsMask(object: Record<string, unknown>): boolean {
  return ["data", "stringData"].some((field) => {
    const values = object[field];
    return typeof values === "object" && values !== null && Object.values(values).some(isSopsMask);
  });
}

/** Builds every request against the source root `root`; results come back in request order. */
export async function runEngine(context: TaskContext, root: string, allBuilds: readonly EngineBuild[]): Promise<EngineResult[]> {
  if (allBuilds.length === 0) return [];
  const refused = await refuseOversized(context, root, allBuilds);
  const builds = allBuilds.filter((build) => !refused.has(build));
  const cache = context.renderCache
    ? await openRenderCache<EngineBuild, EngineResult>(context.renderCache, root, await context.toolchain.resolve(ENGINE), (text) =>
        context.output.err(text),
      )
    : undefined;
  const cached = cache ? await cache.lookupAll(builds) : [];
  const misses = builds.filter((_, index) => !cached[index]);
  context.progress.expect("Kustomizations built", builds.length);
  context.progress.advance("Kustomizations built", builds.length - misses.length);
  const startedAtMs = Date.now();
  const built = await buildAll(context, root, misses, async (batch, results) => {
    // A timeout says how busy the machine was, not what the inputs build to.
    const settled = batch.flatMap((build, index) => (results[index]!.errorKind === "timeout" ? [] : [[build, results[index]!] as const]));
    if (cache)
      await cache.storeAll(
        settled.map(([build]) => build),
        settled.map(([, result]) => result),
        startedAtMs,
      );
  });
  const fresh = new Map(misses.map((build, index) => [build, built[index]!]));
  builds.forEach((build, index) => {
    if (cached[index]) fresh.set(build, cached[index]);
  });
  return allBuilds.map((build) => refused.get(build) ?? fresh.get(build)!);
}

/** One listing per run and root: discovery builds in waves, each a runEngine call. */
const oversizedByRun = new WeakMap<TaskContext, Map<string, Promise<Map<string, number>>>>();

function oversizedFilesOnce(context: TaskContext, root: string): Promise<Map<string, number>> {
  const byRoot = oversizedByRun.get(context) ?? new Map<string, Promise<Map<string, number>>>();
  oversizedByRun.set(context, byRoot);
  let listing = byRoot.get(root);
  if (!listing) {
    listing = oversizedFiles(root, context.concurrency * 4);
    byRoot.set(root, listing);
  }
  return listing;
}

/** Builds that would read a file over MAX_INPUT_BYTES: answered here, never handed to the engine. */
async function refuseOversized(
  context: TaskContext,
  root: string,
  builds: readonly EngineBuild[],
): Promise<Map<EngineBuild, EngineResult>> {
  const refused = new Map<EngineBuild, EngineResult>();
  const oversized = await oversizedFilesOnce(context, root);
  if (oversized.size === 0) return refused;
  for (const build of builds) {
    const file = await oversizedInput(root, build.kustomization, oversized);
    if (!file) continue;
    refused.set(build, {
      id: build.id,
      objects: [],
      error: `${file} is ${describeSize(oversized.get(file)!)}, over the ${describeSize(MAX_INPUT_BYTES)} a build may read: it was not built`,
      errorKind: "file-too-large",
      inputs: { files: [file], trees: [], probes: [] },
      durationMs: 0,
    });
  }
  return refused;
}

/**
 * Builds per engine process at most. An engine holds every result of its request until it
 * answers, so small batches bound its memory (~100 MB at 32 builds of 60 objects, ~260 MB at 300);
 * a process start is cheap next to one build. Batches go to the next free process.
 */
const MAX_BATCH = 32;

async function buildAll(
  context: TaskContext,
  root: string,
  builds: readonly EngineBuild[],
  onBatch: (batch: readonly EngineBuild[], results: readonly EngineResult[]) => Promise<void>,
): Promise<EngineResult[]> {
  if (builds.length === 0) return [];
  const processes = Math.min(context.concurrency, builds.length);
  const batches = batchesOf(builds, Math.min(MAX_BATCH, Math.ceil(builds.length / processes)));
  const answers = await mapWithConcurrency(batches, processes, async (batch) => {
    const results = inRequestOrder(batch, await runShard(context, root, batch));
    context.progress.advance("Kustomizations built", batch.length);
    await onBatch(batch, results);
    return results;
  });
  return answers.flat();
}

function inRequestOrder(builds: readonly EngineBuild[], results: readonly EngineResult[]): EngineResult[] {
  const byId = new Map(results.map((result) => [result.id, result]));
  return builds.map((build) => {
    const result = byId.get(build.id);
    if (!result) throw new ToolError(`${ENGINE} returned no result for ${build.id}`, { command: ENGINE });
    return result;
  });
}

/**
 * One engine process for a batch. A batch that outlives the build timeout is built again one by
 * one, so only the build that does not finish becomes a timeout, reported by its overlay.
 */
async function runShard(context: TaskContext, root: string, builds: readonly EngineBuild[]): Promise<EngineResult[]> {
  const timeoutMs = context.buildTimeoutMs ?? DEFAULT_BUILD_TIMEOUT_MS;
  try {
    return await runProcess(context, root, builds, timeoutMs);
  } catch (error) {
    if (!(error instanceof ToolError) || !error.timedOut) throw error;
    if (builds.length === 1) return [timedOut(builds[0]!, timeoutMs)];
    const results: EngineResult[] = [];
    for (const build of builds) results.push(...(await runShard(context, root, [build])));
    return results;
  }
}

function timedOut(build: EngineBuild, timeoutMs: number): EngineResult {
  return {
    id: build.id,
    objects: [],
    error: `the build did not finish within ${Math.round(timeoutMs / 1000)} s and was stopped`,
    errorKind: "timeout",
    inputs: { files: [], trees: [], probes: [] },
    durationMs: timeoutMs,
  };
}

async function runProcess(context: TaskContext, root: string, builds: readonly EngineBuild[], timeoutMs: number): Promise<EngineResult[]> {
  const input = JSON.stringify({ root, workers: 1, builds });
  // Remote bases are never fetched: git may only use local protocols.
  const result = await context.runner.run(ENGINE, [], { input, cwd: root, env: { GIT_ALLOW_PROTOCOL: "file" }, timeoutMs });
  if (result.exitCode !== 0) {
    throw new ToolError(`${ENGINE} failed`, { command: result.command, exitCode: result.exitCode, stderr: result.stderr });
  }
  const response = JSON.parse(result.stdout) as EngineResponse;
  return response.results;
}

/** Consecutive groups of at most `size`. */
function batchesOf<T>(items: readonly T[], size: number): T[][] {
  const batches: T[][] = [];
  for (let index = 0; index < items.length; index += size) batches.push(items.slice(index, index + size));
  return batches;
}
