// ArtifactGenerators (source.extensions.fluxcd.io/v1beta1, reconciled by Flux's source-watcher)
// make ExternalArtifacts out of other sources by copy rules; a Kustomization then applies one with
// `sourceRef: {kind: ExternalArtifact}` and a `spec.path` inside it. source-watcher's copy is in
// its `internal/builder` package, which no other module can import, so its rules are implemented
// here. "Spec" below is fluxcd/source-watcher docs/spec/v1beta1/artifactgenerators.md; "builder"
// is internal/builder/builder.go and merge.go, read where the spec leaves a case open.
//
// The sources are GitRepository checkouts, read as source-controller's artifact of them holds
// them: no symlinks (its Storage.Archive leaves them out, fluxcd/source-controller#191) and none of
// its default exclusions. A repository's own .sourceignore and a GitRepository's spec.ignore are
// not applied.
import { copyFile, lstat, mkdir, readdir, readFile, readlink, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { describeYamlError, documentValue, isRecord, scalarText } from "../yaml-file.ts";

export const ARTIFACT_GENERATOR_GROUP = "source.extensions.fluxcd.io";

/** One of `spec.sources`: a Flux source, named in copy operations as `@alias`. */
export interface GeneratorSource {
  alias: string;
  kind: string;
  name: string;
  /** Spec: "the namespace of the source resource if different from the ArtifactGenerator namespace". */
  namespace: string;
}

export interface CopyOperation {
  /** `@alias/pattern` */
  from: string;
  /** `@artifact/path` */
  to: string;
  exclude: string[];
  /** Overwrite (the default), Merge (YAML) or Extract (tarballs). */
  strategy: string;
}

/** One of `spec.artifacts`: the ExternalArtifact of that name in the generator's namespace. */
export interface OutputArtifact {
  name: string;
  copy: CopyOperation[];
}

export interface ArtifactGenerator {
  name: string;
  namespace: string;
  sources: GeneratorSource[];
  artifacts: OutputArtifact[];
}

export function isArtifactGenerator(object: Record<string, unknown>): boolean {
  return (
    object["kind"] === "ArtifactGenerator" &&
    typeof object["apiVersion"] === "string" &&
    object["apiVersion"].startsWith(`${ARTIFACT_GENERATOR_GROUP}/`)
  );
}

/** The generator as plain data; `namespace` is where it is applied when it names none. */
export function readArtifactGenerator(object: Record<string, unknown>, namespace: string): ArtifactGenerator {
  const metadata = isRecord(object["metadata"]) ? object["metadata"] : {};
  const spec = isRecord(object["spec"]) ? object["spec"] : {};
  const own = typeof metadata["namespace"] === "string" ? metadata["namespace"] : namespace;
  const records = (value: unknown): Record<string, unknown>[] => (Array.isArray(value) ? value.filter(isRecord) : []);
  return {
    name: scalarText(metadata["name"]),
    namespace: own,
    sources: records(spec["sources"]).map((source) => ({
      alias: scalarText(source["alias"]),
      kind: scalarText(source["kind"]),
      name: scalarText(source["name"]),
      namespace: typeof source["namespace"] === "string" ? source["namespace"] : own,
    })),
    artifacts: records(spec["artifacts"]).map((artifact) => ({
      name: scalarText(artifact["name"]),
      copy: records(artifact["copy"]).map((operation) => ({
        from: scalarText(operation["from"]),
        to: scalarText(operation["to"]),
        exclude: Array.isArray(operation["exclude"]) ? operation["exclude"].map(String) : [],
        strategy: typeof operation["strategy"] === "string" ? operation["strategy"] : "Overwrite",
      })),
    })),
  };
}

/** The alias a `from` names (spec: "Source path in the format `@alias/pattern`"), if well formed. */
export function aliasOf(from: string): string | undefined {
  const match = /^@([^/]+)\//.exec(from);
  return match?.[1];
}

/** Where a file or folder of an artifact was copied from: a source alias and a path inside it. */
export interface CopiedFrom {
  alias: string;
  path: string;
}

/** A symlink a copy met: not in the source's artifact, so not copied. */
export interface SkippedSymlink {
  alias: string;
  /** Source-relative path of the link. */
  path: string;
  target: string;
  /** The target lies outside the source (or is absolute). */
  outside: boolean;
}

export interface MaterializedArtifact {
  dir: string;
  /** Artifact-relative file → where it came from (the last operation that wrote it). */
  files: Map<string, CopiedFrom>;
  /** Artifact-relative folder → the source folder copied into it (the first operation that did). */
  dirs: Map<string, CopiedFrom>;
  skipped: SkippedSymlink[];
}

export type MaterializeResult =
  | { ok: true; artifact: MaterializedArtifact }
  | {
      ok: false;
      /** invalid: source-watcher fails the same way; unsupported: it would not, gitops-ci cannot tell. */
      reason: "invalid" | "unsupported";
      message: string;
      skipped: SkippedSymlink[];
    };

/**
 * Applies one artifact's copy operations, in order, into `dir` (created if missing). `sources`
 * maps each alias to the folder that holds that source's content; nothing outside those folders
 * and `dir` is read or written.
 */
export async function materializeArtifact(
  copy: readonly CopyOperation[],
  sources: ReadonlyMap<string, string>,
  dir: string,
): Promise<MaterializeResult> {
  const artifact: MaterializedArtifact = { dir, files: new Map(), dirs: new Map(), skipped: [] };
  await mkdir(dir, { recursive: true });
  for (const operation of copy) {
    try {
      await applyCopyOperation(operation, sources, artifact);
    } catch (error) {
      if (!(error instanceof CopyError)) throw error;
      // Builder: "failed to apply copy operation from '%s' to '%s': %w"; the generator then fails.
      const message = `copy from '${operation.from}' to '${operation.to}': ${error.message}`;
      return { ok: false, reason: error.reason, message, skipped: artifact.skipped };
    }
  }
  return { ok: true, artifact };
}

/** The source file an artifact-relative file was copied from. */
export function copiedFileOf(artifact: MaterializedArtifact, file: string): CopiedFrom | undefined {
  return artifact.files.get(normalize(file));
}

/**
 * The source folder an artifact-relative folder holds: the folder copied into it, or into one of
 * its parents; else the deepest folder that holds everything copied below it.
 */
export function copiedDirOf(artifact: MaterializedArtifact, dir: string): CopiedFrom | undefined {
  const wanted = normalize(dir);
  for (let current = wanted, rest = ""; ;) {
    const found = artifact.dirs.get(current);
    if (found) return { alias: found.alias, path: normalize(path.posix.join(found.path, rest)) };
    if (current === ".") break;
    rest = path.posix.join(path.posix.basename(current), rest);
    current = path.posix.dirname(current);
  }
  const below = [
    ...artifact.dirs.entries(),
    ...[...artifact.files.entries()].map(
      ([file, from]) => [path.posix.dirname(file), { ...from, path: path.posix.dirname(from.path) }] as const,
    ),
  ]
    .filter(([target]) => wanted === "." || target === wanted || target.startsWith(`${wanted}/`))
    .map(([, from]) => from);
  const first = below[0];
  if (!first || below.some((from) => from.alias !== first.alias)) return undefined;
  return { alias: first.alias, path: commonFolder(below.map((from) => from.path)) };
}

class CopyError extends Error {
  readonly reason: "invalid" | "unsupported";
  constructor(message: string, reason: "invalid" | "unsupported" = "invalid") {
    super(message);
    this.reason = reason;
  }
}

async function applyCopyOperation(
  operation: CopyOperation,
  sources: ReadonlyMap<string, string>,
  artifact: MaterializedArtifact,
): Promise<void> {
  // Spec, Copy Operations: `from` is `@alias/pattern`, `to` is `@artifact/path`.
  const parsed = /^@([^/]+)\/(.*)$/s.exec(operation.from);
  if (!parsed) throw new CopyError("source format must be '@alias/pattern'");
  const [, alias = "", pattern = ""] = parsed;
  if (!operation.to.startsWith("@artifact/")) throw new CopyError("destination must start with '@artifact/'");
  const root = sources.get(alias);
  if (root === undefined) throw new CopyError(`source alias '${alias}' not found`);
  if (!["Overwrite", "Merge", "Extract"].includes(operation.strategy)) throw new CopyError(`unknown strategy '${operation.strategy}'`);
  // Spec, Extract Strategy: tarballs built with `flux build artifact` or `helm package`.
  if (operation.strategy === "Extract")
    throw new CopyError("the Extract strategy (tarball archives) is not supported by gitops-ci", "unsupported");
  for (const exclude of operation.exclude) checkPattern(exclude, true, `invalid exclude pattern '${exclude}'`);

  const destination = operation.to.slice("@artifact/".length);
  const destinationPath = inside(destination, "destination");
  const source: SourceTree = { alias, root, skipped: artifact.skipped };
  const copy: CopyContext = { operation, source, artifact, excludeBase: "." };

  // Builder: a pattern without `*?[]` is a direct path, copied as `cp` copies what it names.
  if (!/[*?[\]]/.test(pattern)) {
    const from = inside(pattern, "source");
    const entry = await entryAt(source, from);
    if (!entry) throw new CopyError(`source '${from}' does not exist`);
    copy.excludeBase = from;
    if (entry === "dir") {
      // Spec: "`@source/dir/` copies as subdirectory" (with or without the slash; `@source/` copies the root's contents).
      await copyDirectory(copy, from, join(destinationPath, path.posix.basename(from)));
      return;
    }
    if (isExcluded(copy, from)) return;
    // Spec: "Trailing slash in destination (`@artifact/dest/`) indicates copying into a directory";
    // builder: so does a destination that is already a directory, else it is the file's new name.
    const intoDirectory = operation.to.endsWith("/") || (await isDirectoryIn(artifact.dir, destinationPath));
    await copyOneFile(copy, from, intoDirectory ? join(destinationPath, path.posix.basename(from)) : destinationPath);
    return;
  }

  // Builder: Go's fs.Glob, one path segment per pattern segment, so `**` matches as `*` does: a
  // matched folder is copied whole, which is what makes `dir/**` recursive.
  const segments = pattern.split("/");
  if (pattern.startsWith("/") || segments.includes("..")) throw new CopyError(`invalid glob pattern '${pattern}': outside the source`);
  for (const segment of segments) checkPattern(segment, false, `invalid glob pattern '${pattern}'`);
  copy.excludeBase = literalPrefix(segments);
  const found = await glob(source, segments);
  for (const link of found.symlinks) if (!isExcluded(copy, link)) await recordSymlink(source, link);
  const matches = found.matches.filter((match) => match !== "." && match !== "..");
  if (matches.length === 0) throw new CopyError(`no files match pattern '${pattern}' in source '${alias}'`);
  const kept = matches.filter((match) => !isExcluded(copy, match));
  if (kept.length === 0) throw new CopyError(`all files matching pattern '${pattern}' in source '${alias}' were excluded`);
  // Builder (calculateGlobDestination): `dir/**` strips `dir/` from every match, any other glob
  // keeps the match's whole path below the destination. (The spec's example has
  // `@source/configs/*.yaml` → `@artifact/apps/` make apps/file1.yaml; the builder makes
  // apps/configs/file1.yaml, and the builder is what runs.)
  const stripped = pattern.endsWith("/**") ? pattern.slice(0, -3) : undefined;
  const contentsOf = pattern === "**" ? "." : stripped;
  if (contentsOf !== undefined) recordDir(artifact, destinationPath, { alias, path: normalize(contentsOf) });
  for (const match of kept) {
    const relative = stripped !== undefined && match.startsWith(`${stripped}/`) ? match.slice(stripped.length + 1) : match;
    const target = join(destinationPath, relative);
    if ((await entryAt(source, match)) === "dir") await copyDirectory(copy, match, target);
    else await copyOneFile(copy, match, target);
  }
}

interface SourceTree {
  alias: string;
  root: string;
  skipped: SkippedSymlink[];
}

interface CopyContext {
  operation: CopyOperation;
  source: SourceTree;
  artifact: MaterializedArtifact;
  /** The copy source itself, or the literal prefix of its glob (see isExcluded). */
  excludeBase: string;
}

/** Copies a source folder's tree to an artifact folder, as `cp -r` (builder: copyDirWithRoots). */
async function copyDirectory(copy: CopyContext, from: string, to: string): Promise<void> {
  await makeDirectory(copy.artifact.dir, to);
  recordDir(copy.artifact, to, { alias: copy.source.alias, path: from });
  for (const entry of await listDirectory(copy.source, from)) {
    const child = join(from, entry.name);
    // Builder: an excluded folder is skipped whole, an excluded file alone.
    if (isExcluded(copy, child)) continue;
    if (entry.type === "symlink") await recordSymlink(copy.source, child);
    else if (entry.type === "dir") await copyDirectory(copy, child, join(to, entry.name));
    else await copyOneFile(copy, child, join(to, entry.name));
  }
}

async function copyOneFile(copy: CopyContext, from: string, to: string): Promise<void> {
  const { artifact, source, operation } = copy;
  if (to === ".") throw new CopyError(`cannot copy file '${from}' over the artifact's root`);
  await makeDirectory(artifact.dir, path.posix.dirname(to));
  const target = path.join(artifact.dir, to);
  const existing = await stat(target).catch(() => undefined);
  if (existing?.isDirectory()) throw new CopyError(`cannot overwrite directory '${to}' with file '${from}'`);
  const sourceFile = path.join(source.root, from);
  // Spec, Copy Strategies: Merge merges YAML into a file an earlier operation copied; with no such
  // file it copies (builder: shouldMergeFile).
  if (operation.strategy === "Merge" && existing) {
    const merged = mergeValues(await loadYaml(target, to), await loadYaml(sourceFile, from));
    await writeFile(target, stringify(merged, { sortMapEntries: true }));
  } else {
    await copyFile(sourceFile, target);
  }
  artifact.files.set(to, { alias: source.alias, path: from });
}

/** Builder (merge.go loadYAML): every document of the file merged into one map. */
async function loadYaml(file: string, name: string): Promise<Record<string, unknown>> {
  let merged: Record<string, unknown> = {};
  for (const document of parseAllDocuments(await readFile(file, "utf8"))) {
    if (document.errors.length > 0)
      throw new CopyError(`cannot read YAML document of '${name}': ${describeYamlError(document.errors[0]!.message)}`);
    const converted = documentValue(document);
    if ("problem" in converted) throw new CopyError(`cannot read YAML document of '${name}': ${converted.problem}`);
    const { value } = converted;
    if (value === null || value === undefined) continue;
    if (!isRecord(value)) throw new CopyError(`cannot unmarshal YAML document of '${name}': not a map`);
    merged = mergeValues(merged, value);
  }
  return merged;
}

/**
 * Spec: "the merge strategy will replace _arrays_ entirely, the behavior is identical to how Helm
 * merges `values.yaml` files": maps merge key by key, anything else is replaced.
 */
export function mergeValues(base: Record<string, unknown>, overlay: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overlay)) {
    const current = out[key];
    out[key] = isRecord(value) && isRecord(current) ? mergeValues(current, value) : value;
  }
  return out;
}

/**
 * Spec: "Any file matched by `from` that also matches an exclude pattern will be ignored."
 * Patterns are doublestar globs, matched against the path inside the source and against the path
 * below the copy source (or its glob's literal prefix), as source-watcher matches them since
 * fluxcd/source-watcher#334 ("The exclude is relative to the from path", #306). A pattern without a
 * `/` (`*.md`) also matches the file's name at any depth (builder: shouldExclude).
 */
function isExcluded(copy: CopyContext, sourcePath: string): boolean {
  const { exclude } = copy.operation;
  if (exclude.length === 0) return false;
  const candidates = [sourcePath];
  const base = copy.excludeBase;
  if (sourcePath === base) candidates.push(".");
  else if (sourcePath.startsWith(`${base}/`)) candidates.push(sourcePath.slice(base.length + 1));
  const name = path.posix.basename(sourcePath);
  return exclude.some(
    (pattern) =>
      candidates.some((candidate) => matchDoublestar(pattern, candidate)) || (!pattern.includes("/") && matchDoublestar(pattern, name)),
  );
}

/**
 * Go's fs.Glob over the source tree: matches in segment order, each folder's names sorted. Symlinks
 * are not in the source's artifact, so they never match; those a segment names are returned apart.
 */
async function glob(source: SourceTree, segments: readonly string[]): Promise<{ matches: string[]; symlinks: string[] }> {
  let current = ["."];
  const symlinks: string[] = [];
  for (const segment of segments) {
    const next: string[] = [];
    for (const dir of current) {
      if (!/[*?[\]\\]/.test(segment)) {
        const candidate = join(dir, segment);
        if (segment === "" || segment === ".") next.push(dir);
        else if (await entryAt(source, candidate)) next.push(candidate);
        continue;
      }
      if ((await entryAt(source, dir)) !== "dir") continue;
      const matcher = segmentMatcher(segment, false);
      for (const entry of await listDirectory(source, dir)) {
        if (!matcher.test(entry.name)) continue;
        if (entry.type === "symlink") symlinks.push(join(dir, entry.name));
        else next.push(join(dir, entry.name));
      }
    }
    current = next;
  }
  return { matches: current, symlinks };
}

const SKIPPED_BY_SOURCE_CONTROLLER = {
  // fluxcd/pkg sourceignore: ExcludeVCS, ExcludeCI and ExcludeExtra, the patterns every
  // GitRepository artifact is made without. The `dir/` ones match folders only; all match at any depth.
  dirs: new Set([".git", ".github", ".circleci"]),
  any: new Set([
    ".gitignore",
    ".gitmodules",
    ".gitattributes",
    ".travis.yml",
    ".gitlab-ci.yml",
    "appveyor.yml",
    ".drone.yml",
    "cloudbuild.yaml",
    "codeship-services.yml",
    "codeship-steps.yml",
    ".goreleaser.yml",
    ".goreleaser.brew.yml",
    ".sops.yaml",
    ".flux.yaml",
    ".golangci.yaml",
  ]),
};

type EntryType = "file" | "dir";

/**
 * What a source-relative path is in the source's artifact: a file, a folder, or nothing (missing,
 * left out by source-controller, or reached through a symlink, which is recorded).
 */
async function entryAt(source: SourceTree, relative: string): Promise<EntryType | undefined> {
  if (relative === ".") return "dir";
  let type: EntryType = "dir";
  let current = ".";
  for (const name of relative.split("/")) {
    if (type !== "dir") return undefined;
    current = join(current, name);
    const info = await lstat(path.join(source.root, current)).catch(() => undefined);
    if (!info) return undefined;
    if (info.isSymbolicLink()) {
      await recordSymlink(source, current);
      return undefined;
    }
    type = info.isDirectory() ? "dir" : "file";
    if (leftOut(name, type) || !(info.isDirectory() || info.isFile())) return undefined;
  }
  return type;
}

/**
 * A source folder's entries as its artifact holds them, sorted as Go's ReadDir sorts (bytewise);
 * symlinks are listed as such, for the caller to record unless it excludes them.
 */
async function listDirectory(source: SourceTree, dir: string): Promise<{ name: string; type: EntryType | "symlink" }[]> {
  const entries = await readdir(path.join(source.root, dir), { withFileTypes: true }).catch(() => []);
  const kept: { name: string; type: EntryType | "symlink" }[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (entry.isSymbolicLink()) kept.push({ name: entry.name, type: "symlink" });
    else if (entry.isDirectory() || entry.isFile()) {
      const type: EntryType = entry.isDirectory() ? "dir" : "file";
      if (!leftOut(entry.name, type)) kept.push({ name: entry.name, type });
    }
  }
  return kept;
}

function leftOut(name: string, type: EntryType): boolean {
  return SKIPPED_BY_SOURCE_CONTROLLER.any.has(name) || (type === "dir" && SKIPPED_BY_SOURCE_CONTROLLER.dirs.has(name));
}

async function recordSymlink(source: SourceTree, relative: string): Promise<void> {
  if (source.skipped.some((entry) => entry.alias === source.alias && entry.path === relative)) return;
  const target = await readlink(path.join(source.root, relative)).catch(() => "");
  const resolved = path.resolve(path.dirname(path.join(source.root, relative)), target);
  const fromRoot = path.relative(source.root, resolved);
  const outside = path.isAbsolute(target) || fromRoot === ".." || fromRoot.startsWith(`..${path.sep}`) || path.isAbsolute(fromRoot);
  source.skipped.push({ alias: source.alias, path: relative, target, outside });
}

async function isDirectoryIn(root: string, relative: string): Promise<boolean> {
  return (await stat(path.join(root, relative)).catch(() => undefined))?.isDirectory() === true;
}

async function makeDirectory(root: string, relative: string): Promise<void> {
  try {
    await mkdir(path.join(root, relative), { recursive: true });
  } catch (error) {
    throw new CopyError(`failed to create destination directory '${relative}': ${(error as Error).message}`);
  }
}

function recordDir(artifact: MaterializedArtifact, target: string, from: CopiedFrom): void {
  if (!artifact.dirs.has(target)) artifact.dirs.set(target, from);
}

/** A relative path, cleaned as Go's filepath.Clean cleans it, that must stay below its root. */
function inside(relative: string, what: string): string {
  const cleaned = normalize(relative);
  if (relative.startsWith("/") || cleaned === ".." || cleaned.startsWith("../"))
    throw new CopyError(`${what} path '${relative}' is outside the ${what === "source" ? "source" : "artifact"}`);
  return cleaned;
}

function normalize(relative: string): string {
  const cleaned = path.posix.normalize(relative === "" ? "." : relative).replace(/\/+$/, "");
  return cleaned === "" ? "." : cleaned.replace(/^\.\//, "");
}

function join(...parts: string[]): string {
  return normalize(path.posix.join(...parts));
}

/** The segments before the first one with a glob character. */
function literalPrefix(segments: readonly string[]): string {
  const literal: string[] = [];
  for (const segment of segments) {
    if (/[*?[\]\\]/.test(segment)) break;
    literal.push(segment);
  }
  return normalize(literal.join("/"));
}

function commonFolder(paths: readonly string[]): string {
  const split = paths.map((value) => (value === "." ? [] : value.split("/")));
  const first = split[0] ?? [];
  let length = 0;
  while (length < first.length && split.every((parts) => parts[length] === first[length])) length++;
  return normalize(first.slice(0, length).join("/"));
}

function checkPattern(pattern: string, doublestar: boolean, message: string): void {
  try {
    for (const alternative of doublestar ? expandBraces(pattern) : [pattern]) {
      for (const segment of alternative.split("/")) segmentMatcher(segment, doublestar);
    }
  } catch {
    throw new CopyError(message);
  }
}

/**
 * bmatcuk/doublestar's Match, which source-watcher uses for `exclude`: a `**` segment matches any
 * number of path segments (none included), `{a,b}` alternatives, and per segment Go's path.Match
 * syntax (plus `[!…]`).
 */
export function matchDoublestar(pattern: string, candidate: string): boolean {
  const names = candidate === "." ? [] : candidate.split("/");
  return expandBraces(pattern).some((alternative) => matchSegments(alternative.split("/"), names));
}

function matchSegments(patterns: readonly string[], names: readonly string[]): boolean {
  if (patterns.length === 0) return names.length === 0;
  const [head, ...rest] = patterns as [string, ...string[]];
  if (head === "**") return matchSegments(rest, names) || (names.length > 0 && matchSegments(patterns, names.slice(1)));
  return names.length > 0 && segmentMatcher(head, true).test(names[0]!) && matchSegments(rest, names.slice(1));
}

function expandBraces(pattern: string): string[] {
  let depth = 0;
  let open = -1;
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern[index];
    if (char === "\\") index++;
    else if (char === "{" && depth++ === 0) open = index;
    else if (char === "}" && depth > 0 && --depth === 0) {
      const inner = pattern.slice(open + 1, index);
      const options: string[] = [];
      let start = 0;
      let level = 0;
      for (let at = 0; at < inner.length; at++) {
        const c = inner[at];
        if (c === "\\") at++;
        else if (c === "{") level++;
        else if (c === "}") level--;
        else if (c === "," && level === 0) {
          options.push(inner.slice(start, at));
          start = at + 1;
        }
      }
      options.push(inner.slice(start));
      const prefix = pattern.slice(0, open);
      const suffixes = expandBraces(pattern.slice(index + 1));
      return options.flatMap((option) => expandBraces(option).flatMap((expanded) => suffixes.map((suffix) => prefix + expanded + suffix)));
    }
  }
  if (depth > 0) throw new Error(`unclosed brace in ${pattern}`);
  return [pattern];
}

/**
 * One path segment of Go's path.Match syntax as a RegExp: `*` any run of characters, `?` one,
 * `[…]` a class (`[^…]`, and `[!…]` for doublestar), `\` escapes. Throws on a malformed pattern.
 */
function segmentMatcher(segment: string, doublestar: boolean): RegExp {
  let source = "";
  let index = 0;
  const literal = (char: string) => `\\u{${char.codePointAt(0)!.toString(16)}}`;
  const next = (): string => {
    const char = String.fromCodePoint(segment.codePointAt(index)!);
    index += char.length;
    return char;
  };
  while (index < segment.length) {
    const char = next();
    if (char === "*") source += "[^/]*";
    else if (char === "?") source += "[^/]";
    else if (char === "\\") {
      if (index >= segment.length) throw new Error("trailing backslash");
      source += literal(next());
    } else if (char === "[") {
      let negate = false;
      if (segment[index] === "^" || (doublestar && segment[index] === "!")) {
        negate = true;
        index++;
      }
      let ranges = "";
      let count = 0;
      for (;;) {
        if (index >= segment.length) throw new Error("unclosed class");
        if (segment[index] === "]" && count > 0) {
          index++;
          break;
        }
        const low = classChar();
        let high = low;
        if (segment[index] === "-") {
          index++;
          high = classChar();
        }
        if (low.codePointAt(0)! <= high.codePointAt(0)!) ranges += `${literal(low)}-${literal(high)}`;
        count++;
      }
      source += negate ? `[^/${ranges}]` : ranges === "" ? "(?!)" : `[${ranges}]`;
    } else source += literal(char);
  }
  return new RegExp(`^${source}$`, "u");

  function classChar(): string {
    if (index >= segment.length) throw new Error("unclosed class");
    const char = next();
    if (char === "-" || char === "]") throw new Error("bad class");
    if (char === "\\") {
      if (index >= segment.length) throw new Error("trailing backslash");
      return next();
    }
    return char;
  }
}
