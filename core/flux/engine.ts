// Runs gitops-ci-engine (toolchain/engine): Flux's own packages build Flux Kustomizations, many
// per process. kustomize's build is serialized inside one process (fluxcd/pkg/kustomize holds a
// lock around it), so the builds are spread over `context.concurrency` processes. With a render
// cache in the context, only the builds it does not hold go to the engine.
import { mapWithConcurrency } from "../concurrency.ts";
import type { TaskContext } from "../context.ts";
import { ToolError } from "../errors.ts";
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
  | "build";

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

/** Builds every request against the source root `root`; results come back in request order. */
export async function runEngine(context: TaskContext, root: string, builds: readonly EngineBuild[]): Promise<EngineResult[]> {
  if (builds.length === 0) return [];
  const cache = context.renderCache
    ? await openRenderCache(context.renderCache, root, await context.toolchain.resolve(ENGINE), (text) => context.output.err(text))
    : undefined;
  const cached = cache ? await mapWithConcurrency(builds, LOOKUP_CONCURRENCY, (build) => cache.lookup(build)) : [];
  const misses = builds.filter((_, index) => !cached[index]);
  const startedAtMs = Date.now();
  const built = await buildAll(context, root, misses);
  if (cache) await mapWithConcurrency(misses, LOOKUP_CONCURRENCY, (build, index) => cache.store(build, built[index]!, startedAtMs));
  const fresh = new Map(misses.map((build, index) => [build, built[index]!]));
  return builds.map((build, index) => cached[index] ?? fresh.get(build)!);
}

/** Cache lookups and stores in flight at once: file reads, not processes. */
const LOOKUP_CONCURRENCY = 64;

async function buildAll(context: TaskContext, root: string, builds: readonly EngineBuild[]): Promise<EngineResult[]> {
  if (builds.length === 0) return [];
  const shards = shard(builds, Math.min(context.concurrency, builds.length));
  const answers = await Promise.all(shards.map((group) => runShard(context, root, group)));
  const byId = new Map(answers.flat().map((result) => [result.id, result]));
  return builds.map((build) => {
    const result = byId.get(build.id);
    if (!result) throw new ToolError(`${ENGINE} returned no result for ${build.id}`, { command: ENGINE });
    return result;
  });
}

async function runShard(context: TaskContext, root: string, builds: readonly EngineBuild[]): Promise<EngineResult[]> {
  const input = JSON.stringify({ root, workers: 1, builds });
  // Remote bases are never fetched: git may only use local protocols.
  const result = await context.runner.run(ENGINE, [], { input, cwd: root, env: { GIT_ALLOW_PROTOCOL: "file" } });
  if (result.exitCode !== 0) {
    throw new ToolError(`${ENGINE} failed`, { command: result.command, exitCode: result.exitCode, stderr: result.stderr });
  }
  const response = JSON.parse(result.stdout) as EngineResponse;
  return response.results;
}

/** Spreads builds over n groups, alternating so that neighbouring (similar) builds split evenly. */
function shard<T>(items: readonly T[], n: number): T[][] {
  const groups: T[][] = Array.from({ length: n }, () => []);
  items.forEach((item, index) => groups[index % n]!.push(item));
  return groups;
}
