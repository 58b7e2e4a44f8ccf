// A content-addressed cache of engine builds, in the manner of ccache's manifest mode. An entry is
// found by what was asked (the build request and the engine binary) and trusted only while
// everything the build read, listed or probed (the result's `inputs`) is as it was then.
//
// Layout: <dir>/<key[0:2]>/<key>-<inputs>.json, one file per state of the inputs, each written to
// a temporary file and renamed, so concurrent runs never see half an entry. The first line of an
// entry is the sha256 of the rest: an entry that fails it, or does not parse, is a miss.
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { mapWithConcurrency } from "../concurrency.ts";
import type { EngineBuild, EngineInputs } from "./engine.ts";

/** Bump when the entry format or what a key covers changes: older entries then simply miss. */
const FORMAT = 1;
/** Cache files read or written at once. */
const IO_CONCURRENCY = 64;
/** Entries kept per key (per build request); the oldest go first. */
const MAX_ENTRIES_PER_KEY = 4;
/** A temporary file older than this was left by a run that died between write and rename. */
const STALE_TEMP_MS = 60 * 60_000;

/** One cache directory; `createRenderCache` in the entry point, carried by the TaskContext. */
export interface RenderCache {
  readonly dir: string;
  /** Engine identities by binary path, computed once per process. */
  readonly engines: Map<string, Promise<string>>;
}

export function createRenderCache(dir: string): RenderCache {
  return { dir: path.resolve(dir), engines: new Map() };
}

/** The state of one input, as recorded in an entry's manifest. */
interface InputManifest {
  files: Record<string, string>;
  trees: Record<string, string>;
  probes: Record<string, string>;
}

/** What an entry keeps: an engine result (a Kustomization build, a HelmRelease render). */
export interface CachedResult {
  id: string;
  objects: unknown[];
  error?: string;
  inputs: EngineInputs;
  durationMs: number;
  /** Taken from the render cache (durationMs is then the lookup's). */
  cached?: boolean;
}

interface Entry<T extends CachedResult> {
  format: number;
  key: string;
  manifest: InputManifest;
  result: Omit<T, "id">;
}

/** The cache as one engine call sees it: lookups compute each input's state once. */
export interface RenderCacheSession<R extends { id: string }, T extends CachedResult> {
  /** The cached result of each request (undefined: a miss), if every input it recorded is unchanged. */
  lookupAll(requests: readonly R[]): Promise<(T | undefined)[]>;
  /**
   * Keeps the results of one engine run, started at `startedAtMs`; never throws (a cache that
   * cannot be written is only slower). Inputs are hashed again now, not taken from the lookups: a
   * file that changed since then must not be recorded with its old content.
   */
  storeAll(requests: readonly R[], results: readonly T[], startedAtMs: number): Promise<void>;
}

/** What a kind of request is keyed by, whether it may be kept at all, and what it reads unrecorded. */
export interface CachePolicy<R> {
  /** What the key covers besides the format and the engine; undefined: not cacheable. */
  keyOf(request: R): unknown;
  unrecordedProbes(request: R): string[];
}

/** Kustomization builds: the whole request but its id. A build that read a Secret (substituteFrom) may hold values decrypted from it: never on disk. */
export const BUILD_POLICY: CachePolicy<EngineBuild> = {
  keyOf: (build) => (isCacheable(build) ? { build: { ...build, id: undefined } } : undefined),
  unrecordedProbes,
};

export async function openRenderCache<R extends { id: string } = EngineBuild, T extends CachedResult = CachedResult>(
  cache: RenderCache,
  root: string,
  enginePath: string,
  warn: (text: string) => void,
  policy: CachePolicy<R> = BUILD_POLICY as unknown as CachePolicy<R>,
): Promise<RenderCacheSession<R, T>> {
  const engine = await engineIdentity(cache, enginePath);
  const keyOf = (request: R): string | undefined => {
    const covered = policy.keyOf(request);
    return covered === undefined ? undefined : sha256(canonicalJson({ format: FORMAT, engine, ...(covered as Record<string, unknown>) }));
  };
  const lookupInputs = new InputStates(root, cache.dir);
  let warned = false;

  async function lookup(request: R): Promise<T | undefined> {
    const key = keyOf(request);
    if (key === undefined) return undefined;
    const started = performance.now();
    const shard = path.join(cache.dir, key.slice(0, 2));
    const names = await readdir(shard).catch(() => [] as string[]);
    for (const name of names.filter((candidate) => candidate.startsWith(`${key}-`) && candidate.endsWith(".json"))) {
      const entry = await readEntry<T>(path.join(shard, name), key);
      if (entry && (await lookupInputs.matches(entry.manifest)))
        return { ...entry.result, id: request.id, cached: true, durationMs: performance.now() - started } as T;
    }
    return undefined;
  }

  async function store(inputs: InputStates, request: R, result: T, startedAtMs: number): Promise<void> {
    const key = keyOf(request);
    if (key === undefined) return;
    // Serialized before the first await: what callers later do with the objects is not cached.
    const { id: _id, cached: _cached, ...kept } = result;
    const resultJson = JSON.stringify(kept);
    try {
      const manifest = await inputs.manifest(result.inputs, policy.unrecordedProbes(request), result.error !== undefined, startedAtMs);
      if (!manifest) return; // an input changed while the engine ran: its result may mix both states
      const body = `{"format":${FORMAT},"key":${JSON.stringify(key)},"manifest":${JSON.stringify(manifest)},"result":${resultJson}}`;
      const shard = path.join(cache.dir, key.slice(0, 2));
      await mkdir(shard, { recursive: true });
      const file = path.join(shard, `${key}-${sha256(canonicalJson(manifest)).slice(0, 16)}.json`);
      const temp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
      await writeFile(temp, `${sha256(body)}\n${body}`);
      await rename(temp, file);
      await pruneKey(shard, key);
    } catch (error) {
      if (!warned) warn(`warning: the render cache in ${cache.dir} could not be written (${(error as Error).message}); builds still run`);
      warned = true;
    }
  }

  return {
    lookupAll: (requests) => mapWithConcurrency(requests, IO_CONCURRENCY, lookup),
    async storeAll(requests, results, startedAtMs) {
      const now = new InputStates(root, cache.dir);
      await mapWithConcurrency(requests, IO_CONCURRENCY, (request, index) => store(now, request, results[index]!, startedAtMs));
    },
  };
}

function isCacheable(build: EngineBuild): boolean {
  return !(build.objects ?? []).some((object) => object["kind"] === "Secret");
}

/**
 * Paths the engine's generator checks without recording them: spec.components, which it leaves
 * out when missing if spec.ignoreMissingComponents is set. Root-relative, like the recorded ones.
 */
function unrecordedProbes(build: EngineBuild): string[] {
  const spec = build.kustomization["spec"] as Record<string, unknown> | undefined;
  const components = Array.isArray(spec?.["components"]) ? spec["components"].filter((c): c is string => typeof c === "string") : [];
  const dir = typeof spec?.["path"] === "string" ? spec["path"].replace(/^\/+/, "") || "." : ".";
  return components.flatMap((component) => {
    const joined = path.posix.normalize(path.posix.join(dir, component)).replace(/\/+$/, "");
    return joined === ".." || joined.startsWith("../") || path.posix.isAbsolute(joined) ? [] : [joined];
  });
}

/** The engine binary: its `versions.txt` line when install.sh put one beside it, its sha256 otherwise. */
function engineIdentity(cache: RenderCache, enginePath: string): Promise<string> {
  let identity = cache.engines.get(enginePath);
  if (!identity) {
    identity = (async () => {
      const versions = await readFile(path.join(path.dirname(enginePath), "versions.txt"), "utf8").catch(() => "");
      const line = versions.split("\n").find((candidate) => candidate.startsWith(`${path.basename(enginePath)} `));
      return line ? `version ${line.trim()}` : `sha256 ${await sha256File(enginePath)}`;
    })();
    cache.engines.set(enginePath, identity);
  }
  return identity;
}

async function readEntry<T extends CachedResult>(file: string, key: string): Promise<Entry<T> | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return undefined;
  }
  const newline = text.indexOf("\n");
  const body = text.slice(newline + 1);
  if (newline !== 64 || text.slice(0, 64) !== sha256(body)) return discard<Entry<T>>(file);
  try {
    const entry = JSON.parse(body) as Partial<Entry<T>>;
    if (entry.format !== FORMAT || entry.key !== key || !isManifest(entry.manifest) || !Array.isArray(entry.result?.objects)) {
      return await discard<Entry<T>>(file);
    }
    return entry as Entry<T>;
  } catch {
    return await discard<Entry<T>>(file);
  }
}

/** A corrupt entry is removed, so the rebuild's entry replaces it (or a concurrent run's does). */
async function discard<T>(file: string): Promise<T | undefined> {
  await unlink(file).catch(() => undefined);
  return undefined;
}

function isManifest(value: unknown): value is InputManifest {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<keyof InputManifest, unknown>;
  return [record.files, record.trees, record.probes].every((part) => typeof part === "object" && part !== null && !Array.isArray(part));
}

async function pruneKey(shard: string, key: string): Promise<void> {
  const names = await readdir(shard);
  const now = Date.now();
  const entries: { file: string; mtimeMs: number }[] = [];
  for (const name of names) {
    const file = path.join(shard, name);
    if (name.endsWith(".tmp")) {
      const info = await stat(file).catch(() => undefined);
      if (info && now - info.mtimeMs > STALE_TEMP_MS) await unlink(file).catch(() => undefined);
    } else if (name.startsWith(`${key}-`)) {
      const info = await stat(file).catch(() => undefined);
      if (info) entries.push({ file, mtimeMs: info.mtimeMs });
    }
  }
  entries.sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const old of entries.slice(MAX_ENTRIES_PER_KEY)) await rm(old.file, { force: true });
}

interface FileState {
  state: string;
  mtimeMs: number;
}

interface TreeState {
  state: string;
  /** Regular files under the tree, root-relative. */
  files: string[];
  mtimeMs: number;
}

/**
 * The current state of inputs under one root, each computed once: a file is its sha256, a tree
 * the sorted list of names under it (and the content of its .sourceignore files, which the
 * engine's generator reads without recording them), a probe what is there.
 */
class InputStates {
  private readonly root: string;
  private readonly cacheDir: string;
  private readonly files = new Map<string, Promise<FileState>>();
  private readonly trees = new Map<string, Promise<TreeState>>();
  private readonly probes = new Map<string, Promise<string>>();

  constructor(root: string, cacheDir: string) {
    this.root = root;
    this.cacheDir = cacheDir;
  }

  async matches(manifest: InputManifest): Promise<boolean> {
    const checks = [
      ...Object.entries(manifest.files).map(async ([file, state]) => (await this.file(file)).state === state),
      ...Object.entries(manifest.trees).map(async ([tree, state]) => (await this.tree(tree)).state === state),
      ...Object.entries(manifest.probes).map(async ([probe, state]) => (await this.probe(probe)) === state),
    ];
    return (await Promise.all(checks)).every(Boolean);
  }

  /**
   * The manifest of a result's inputs, or undefined when one changed after `startedAtMs`. A failed
   * build may have stopped in the generator's scan, which reads files it does not record: its
   * trees' files are all inputs.
   */
  async manifest(
    recorded: EngineInputs,
    extraProbes: readonly string[],
    failed: boolean,
    startedAtMs: number,
  ): Promise<InputManifest | undefined> {
    const trees = await Promise.all(recorded.trees.map(async (tree) => [tree, await this.tree(tree)] as const));
    const fileNames = new Set(recorded.files);
    if (failed) for (const [, tree] of trees) for (const file of tree.files) fileNames.add(file);
    const files = await Promise.all([...fileNames].map(async (file) => [file, await this.file(file)] as const));
    const probes = await Promise.all(
      [...new Set([...recorded.probes, ...extraProbes])].map(async (probe) => [probe, await this.probe(probe)] as const),
    );
    if ([...files, ...trees].some(([, input]) => input.mtimeMs >= startedAtMs)) return undefined;
    return {
      files: sortedRecord(files.map(([file, input]) => [file, input.state])),
      trees: sortedRecord(trees.map(([tree, input]) => [tree, input.state])),
      probes: sortedRecord(probes),
    };
  }

  private file(relative: string): Promise<FileState> {
    return memo(this.files, relative, async () => {
      const absolute = this.absolute(relative);
      try {
        const [info, content] = await Promise.all([stat(absolute), readFile(absolute)]);
        return { state: sha256(content), mtimeMs: info.mtimeMs };
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        return {
          state: code === "EISDIR" ? "directory" : code === "ENOENT" || code === "ENOTDIR" ? "missing" : `unreadable ${code}`,
          mtimeMs: 0,
        };
      }
    });
  }

  private tree(relative: string): Promise<TreeState> {
    return memo(this.trees, relative, async () => {
      const absolute = this.absolute(relative);
      const info = await stat(absolute).catch(() => undefined);
      if (!info) return { state: "missing", files: [], mtimeMs: 0 };
      if (!info.isDirectory()) return { state: "not a directory", files: [], mtimeMs: info.mtimeMs };
      const lines: string[] = [];
      const files: string[] = [];
      await this.walk(absolute, "", lines, files);
      lines.sort();
      return { state: sha256(lines.join("\n")), files, mtimeMs: info.mtimeMs };
    });
  }

  private async walk(base: string, under: string, lines: string[], files: string[]): Promise<void> {
    const dir = path.join(base, under);
    // Neither VCS metadata nor this cache (when it lives in the repository) is a build input.
    if (dir === this.cacheDir) return;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const name = under === "" ? entry.name : `${under}/${entry.name}`;
      if (entry.isDirectory()) {
        if (entry.name === ".git") continue;
        lines.push(`${name}/`);
        await this.walk(base, name, lines, files);
      } else if (entry.isSymbolicLink()) {
        lines.push(`${name}@`);
      } else {
        const file = path.relative(this.root, path.join(dir, entry.name)).split(path.sep).join("/");
        files.push(file);
        lines.push(entry.name === ".sourceignore" ? `${name} ${(await this.file(file)).state}` : name);
      }
    }
  }

  private probe(relative: string): Promise<string> {
    return memo(this.probes, relative, async () => {
      const info = await stat(this.absolute(relative)).catch(() => undefined);
      return info ? (info.isDirectory() ? "directory" : "file") : "missing";
    });
  }

  private absolute(relative: string): string {
    return path.join(this.root, relative);
  }
}

function memo<T>(map: Map<string, Promise<T>>, key: string, compute: () => Promise<T>): Promise<T> {
  let value = map.get(key);
  if (!value) {
    value = compute();
    map.set(key, value);
  }
  return value;
}

function sortedRecord(pairs: readonly (readonly [string, string])[]): Record<string, string> {
  return Object.fromEntries([...pairs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** JSON with object keys sorted, so equal requests hash equal whatever order they were built in. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === "object" && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
}

function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(file)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });
}
