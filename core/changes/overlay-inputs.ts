// The files a `kustomize build` of an overlay reads, found without running kustomize: the
// overlay's kustomization and everything it names, recursively. `check --changed-since` compares
// them with the changed files to pick the overlays worth rendering again.
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { mapWithConcurrency } from "../concurrency.ts";
import type { Finding } from "../model/findings.ts";
import type { Fleet, Overlay } from "../model/fleet.ts";
import { isDirectory } from "../repo-files.ts";
import { isRecord, parseYaml } from "../yaml-file.ts";
import { KUSTOMIZATION_FILES } from "../kustomization-file.ts";

/** The names kustomize accepts for a kustomization, in its order of preference. */

export interface OverlayInputs {
  /** Repository-relative files the build reads (named ones are kept even when missing). */
  files: Set<string>;
  /**
   * Repository-relative folders whose contents are inputs: a YAML file added, changed or removed
   * anywhere below one of them counts (see `readsFile`).
   */
  dirs: Set<string>;
  /** Kustomizations that could not be read: the overlay's inputs are unknown, so it is affected. */
  problems: Finding[];
}

/**
 * What the walks of one fleet read, read once: environments' overlays share their bases, so a
 * fleet of hundreds of overlays reads and parses each base kustomization once, not once per overlay.
 */
export class KustomizationReads {
  readonly #names = new Map<string, Promise<string | undefined>>();
  readonly #texts = new Map<string, Promise<{ text: string } | { error: unknown }>>();
  readonly #parsed = new Map<string, ReturnType<typeof parseYaml>>();
  readonly #kinds = new Map<string, Promise<"directory" | "file" | "missing">>();

  /** What is at a path: every overlay of an environment names the same base resources. */
  kindOf(target: string): Promise<"directory" | "file" | "missing"> {
    let kind = this.#kinds.get(target);
    if (!kind) {
      kind = stat(target).then(
        (info) => (info.isDirectory() ? "directory" : "file"),
        () => "missing" as const,
      );
      this.#kinds.set(target, kind);
    }
    return kind;
  }

  kustomizationFile(dir: string): Promise<string | undefined> {
    let name = this.#names.get(dir);
    if (!name) this.#names.set(dir, (name = findKustomizationFile(dir)));
    return name;
  }

  read(file: string): Promise<{ text: string } | { error: unknown }> {
    let text = this.#texts.get(file);
    if (!text)
      this.#texts.set(
        file,
        (text = readFile(file, "utf8").then(
          (value) => ({ text: value }),
          (error: unknown) => ({ error }),
        )),
      );
    return text;
  }

  parse(file: string, text: string, relativeFile: string): ReturnType<typeof parseYaml> {
    let parsed = this.#parsed.get(file);
    if (!parsed) this.#parsed.set(file, (parsed = parseYaml(text, relativeFile)));
    return parsed;
  }
}

/** Walks the kustomizations of one overlay (`overlayPath` is repository-relative). */
export async function overlayInputs(root: string, overlayPath: string, reads = new KustomizationReads()): Promise<OverlayInputs> {
  const inputs: OverlayInputs = { files: new Set(), dirs: new Set(), problems: [] };
  const walker = new InputWalker(root, inputs, reads);
  const overlayDir = path.resolve(root, overlayPath);
  if (!(await isDirectory(overlayDir))) {
    inputs.dirs.add(walker.relative(overlayDir));
    inputs.problems.push({
      severity: "warning",
      check: "changes/unreadable-kustomization",
      file: walker.relative(overlayDir),
      message: `overlay folder ${walker.relative(overlayDir)} does not exist; the overlay is checked in full`,
    });
    return inputs;
  }
  await walker.directory(overlayDir);
  return inputs;
}

/** Inputs of every overlay of a fleet, keyed by overlay path (environments may share a path). */
export async function overlayInputsByPath(fleet: Fleet, concurrency = 8): Promise<Map<string, OverlayInputs>> {
  const paths = [...new Set(fleet.overlays.map((overlay) => overlay.path))];
  const reads = new KustomizationReads();
  const results = await mapWithConcurrency(paths, concurrency, (overlayPath) => overlayInputs(fleet.root, overlayPath, reads));
  return new Map(paths.map((overlayPath, index) => [overlayPath, results[index]!]));
}

/**
 * Whether a changed repository-relative file is an input: named by a kustomization, or a file
 * kustomize or Flux could pick up (YAML, a kustomization) below one of the input folders.
 */
export function readsFile(inputs: OverlayInputs, file: string): boolean {
  if (inputs.files.has(file)) return true;
  if (!couldBeManifest(file)) return false;
  for (let dir = path.posix.dirname(file); ; dir = path.posix.dirname(dir)) {
    if (inputs.dirs.has(dir)) return true;
    if (dir === "." || dir === "/" || dir === "..") return false;
    if (dir.endsWith("/..")) return false;
  }
}

/** The overlays of the fleet whose build reads a repository-relative file. */
export function overlaysReadingFile(fleet: Fleet, inputsByPath: ReadonlyMap<string, OverlayInputs>, file: string): Overlay[] {
  return fleet.overlays.filter((overlay) => {
    const inputs = inputsByPath.get(overlay.path);
    return inputs !== undefined && readsFile(inputs, file);
  });
}

function couldBeManifest(file: string): boolean {
  return /\.(ya?ml|json)$/i.test(file) || path.posix.basename(file) === "Kustomization";
}

class InputWalker {
  readonly #root: string;
  readonly #inputs: OverlayInputs;
  readonly #visited = new Set<string>();
  readonly #reads: KustomizationReads;

  constructor(root: string, inputs: OverlayInputs, reads: KustomizationReads) {
    this.#root = root;
    this.#inputs = inputs;
    this.#reads = reads;
  }

  /** Repository-relative, `/`-separated; `..` segments when a path leaves the repository root. */
  relative(absolute: string): string {
    const relative = path.relative(this.#root, absolute).split(path.sep).join("/");
    return relative === "" ? "." : relative;
  }

  /** A folder used as a resource, base, component or the overlay itself. */
  async directory(dir: string): Promise<void> {
    if (this.#visited.has(dir)) return;
    this.#visited.add(dir);
    this.#inputs.dirs.add(this.relative(dir));
    const name = await this.#reads.kustomizationFile(dir);
    if (name) await this.kustomization(dir, name);
    else await this.generated(dir);
  }

  /**
   * A folder without a kustomization: kustomize-controller generates one listing every YAML file
   * below it, and every sub-folder that has its own kustomization as a whole.
   */
  async generated(dir: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      this.problem(dir, `cannot read folder ${this.relative(dir)}: ${messageOf(error)}`);
      return;
    }
    for (const entry of entries) {
      const child = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name.startsWith(".")) continue;
        if (await this.#reads.kustomizationFile(child)) await this.directory(child);
        else {
          this.#inputs.dirs.add(this.relative(child));
          await this.generated(child);
        }
      } else if (/\.ya?ml$/.test(entry.name)) {
        this.#inputs.files.add(this.relative(child));
      }
    }
  }

  async kustomization(dir: string, name: string): Promise<void> {
    const file = path.join(dir, name);
    const relativeFile = this.relative(file);
    this.#inputs.files.add(relativeFile);
    const read = await this.#reads.read(file);
    if ("error" in read) {
      this.problem(file, `cannot read ${relativeFile}: ${messageOf(read.error)}`);
      return;
    }
    // Parsed once per fleet walk; the walk only reads the document.
    const parsed = this.#reads.parse(file, read.text, relativeFile);
    const syntax = parsed.findings[0];
    if (syntax) {
      this.problem(file, `${relativeFile} is not valid YAML: ${syntax.message}`, syntax.line);
      return;
    }
    const document = parsed.documents[0]?.value ?? {};
    if (!isRecord(document) || parsed.documents.length > 1) {
      this.problem(file, `${relativeFile} is not a kustomization (expected one YAML mapping)`);
      return;
    }
    await this.references(dir, document);
  }

  /** Every field of a kustomization (or Component) that names a file or folder. */
  async references(dir: string, k: Record<string, unknown>): Promise<void> {
    for (const entry of [...strings(k["resources"]), ...strings(k["bases"]), ...strings(k["components"])]) {
      await this.resource(dir, entry);
    }
    for (const patch of records(k["patches"])) this.file(dir, patch["path"]);
    for (const patch of records(k["patchesJson6902"])) this.file(dir, patch["path"]);
    for (const patch of strings(k["patchesStrategicMerge"])) if (!isInline(patch)) this.file(dir, patch);
    for (const generator of [...records(k["configMapGenerator"]), ...records(k["secretGenerator"])]) {
      for (const source of strings(generator["files"]))
        this.file(dir, source.includes("=") ? source.slice(source.indexOf("=") + 1) : source);
      for (const env of strings(generator["envs"])) this.file(dir, env);
      this.file(dir, generator["env"]);
    }
    for (const entry of [...strings(k["crds"]), ...strings(k["configurations"])]) this.file(dir, entry);
    if (isRecord(k["openapi"])) this.file(dir, k["openapi"]["path"]);
    for (const replacement of records(k["replacements"])) this.file(dir, replacement["path"]);
    // Transformer, generator and validator entries are files, kustomization folders or inline YAML.
    for (const entry of [...strings(k["transformers"]), ...strings(k["generators"]), ...strings(k["validators"])]) {
      if (!isInline(entry)) await this.resource(dir, entry);
    }
    await this.helm(dir, k);
  }

  /** helmCharts read values files and the charts kept under helmGlobals.chartHome. */
  async helm(dir: string, k: Record<string, unknown>): Promise<void> {
    const charts = [...records(k["helmCharts"]), ...records(k["helmChartInflationGenerator"])];
    for (const chart of charts) {
      this.file(dir, chart["valuesFile"]);
      for (const values of strings(chart["additionalValuesFiles"])) this.file(dir, values);
    }
    if (charts.length === 0) return;
    const globals = isRecord(k["helmGlobals"]) ? k["helmGlobals"] : {};
    const chartHome = typeof globals["chartHome"] === "string" ? globals["chartHome"] : "charts";
    if (isRemote(chartHome)) return;
    const home = path.resolve(dir, chartHome);
    this.#inputs.dirs.add(this.relative(home));
    // Charts are more than YAML (templates/_helpers.tpl): every file under the chart home counts.
    for (const file of await filesBelow(home)) this.#inputs.files.add(this.relative(file));
  }

  /** A resource may be a file, a folder with a kustomization, or a remote URL (ignored). */
  async resource(dir: string, entry: string): Promise<void> {
    if (isRemote(entry)) return;
    const target = path.resolve(dir, entry);
    const kind = await this.#reads.kindOf(target);
    if (kind === "directory") {
      await this.directory(target);
      return;
    }
    // Missing entries count both ways: creating the file, or a folder with a kustomization, is a change.
    this.#inputs.files.add(this.relative(target));
    if (kind === "missing") this.#inputs.dirs.add(this.relative(target));
  }

  file(dir: string, entry: unknown): void {
    if (typeof entry !== "string" || entry.trim() === "" || isRemote(entry)) return;
    this.#inputs.files.add(this.relative(path.resolve(dir, entry.trim())));
  }

  problem(absolute: string, message: string, line?: number): void {
    this.#inputs.problems.push({
      severity: "warning",
      check: "changes/unreadable-kustomization",
      file: this.relative(absolute),
      ...(line ? { line } : {}),
      message: `${message}; the overlay is checked in full`,
    });
  }
}

async function findKustomizationFile(dir: string): Promise<string | undefined> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return undefined;
  }
  return KUSTOMIZATION_FILES.find((name) => names.includes(name));
}

/** kustomize's remote forms: URLs, scp-like git addresses and `github.com/org/repo//path`. */
function isRemote(entry: string): boolean {
  return (
    /^[a-z][a-z0-9+.-]*:\/\//i.test(entry) ||
    /^git(@|::)/.test(entry) ||
    /^(github\.com|gitlab\.com|bitbucket\.org)[/:]/.test(entry) ||
    /\?(ref|version|submodules|timeout)=/.test(entry)
  );
}

/** Inline patches and transformer configs are YAML in the string itself, not a path. */
function isInline(entry: string): boolean {
  return entry.includes("\n") || /^\s*[{[]/.test(entry) || /:\s/.test(entry);
}

function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

function records(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

async function filesBelow(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true, recursive: true });
    return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
  } catch {
    return [];
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
