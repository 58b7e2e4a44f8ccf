// The repository standards of a base/ + overlays/<env>/ layout, each a check id that gitops-ci.yaml `rules:` can switch off:
//   standards/overlay-uses-base      every overlay builds on its layer's common base
//   standards/name-suffix            nameSuffix is -<env> wherever the repository uses suffixes
//   standards/unlisted-file          a manifest beside a kustomization.yaml that it does not list
//   standards/missing-kustomization  a folder of manifests that no kustomization.yaml covers
// plus yaml/syntax and yaml/duplicate-key for every YAML file in the layers, each reported for
// every overlay whose build reads the file (fleet-wide when none does).
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { overlayInputsByPath, overlaysReadingFile, type OverlayInputs } from "../../core/changes/overlay-inputs.ts";
import type { Finding } from "../../core/model/findings.ts";
import { describeSize, MAX_INPUT_BYTES } from "../../core/flux/build-limits.ts";
import type { Fleet } from "../../core/model/fleet.ts";
import { isYamlFile, listRepoFiles } from "../../core/repo-files.ts";
import { isRecord, parseYaml, type ParsedYaml } from "../../core/yaml-file.ts";
import { KUSTOMIZATION_FILES } from "../../core/kustomization-file.ts";
import type { RenderedOverlay } from "../../core/model/rendered-overlay.ts";

/** Seed convention: template-* files document a secret's shape and are never applied. */
const TEMPLATE_FILE = /(^|\/)template-[^/]*$/;

export interface StandardsOptions {
  /** Each overlay's inputs by overlay path, when already computed (`--changed-since`); else computed if needed. */
  overlayInputs?: ReadonlyMap<string, OverlayInputs>;
  /** Kustomizations read at once when the overlay inputs are computed here. */
  concurrency?: number;
}

export async function checkRepositoryStandards(
  fleet: Fleet,
  rendered: readonly RenderedOverlay[],
  options: StandardsOptions = {},
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const files = await layerFiles(fleet, rendered);
  const parsed = new Map<string, ParsedYaml>();
  const syntax: Finding[] = [];
  for (const file of files.filter(isYamlFile)) {
    let text: string;
    try {
      const { size } = await stat(path.join(fleet.root, file));
      if (size > MAX_INPUT_BYTES) {
        syntax.push({
          severity: "warning",
          check: "yaml/file-too-large",
          file,
          message: `${file} is ${describeSize(size)}, over the ${describeSize(MAX_INPUT_BYTES)} gitops-ci reads: its YAML was not checked`,
          hint: "keep generated or binary data out of the layers' folders",
        });
        continue;
      }
      text = await readFile(path.join(fleet.root, file), "utf8");
    } catch {
      continue;
    }
    const yaml = parseYaml(text, file);
    parsed.set(file, yaml);
    syntax.push(...yaml.findings);
  }
  if (syntax.length > 0)
    findings.push(
      ...attributeToReadingOverlays(fleet, syntax, options.overlayInputs ?? (await overlayInputsByPath(fleet, options.concurrency))),
    );
  findings.push(...checkOverlaysUseBase(fleet, rendered));
  findings.push(...checkNameSuffixes(fleet, parsed));
  findings.push(...checkListedFiles(parsed, generatedRoots(fleet, parsed)));
  return findings;
}

/**
 * A finding about a file alone (a YAML syntax error) belongs to every overlay whose build reads the
 * file: one copy per overlay, so each overlay's row counts it. A file no overlay reads stays fleet-wide.
 */
export function attributeToReadingOverlays(
  fleet: Fleet,
  findings: readonly Finding[],
  inputsByPath: ReadonlyMap<string, OverlayInputs>,
): Finding[] {
  return findings.flatMap((finding) => {
    if (!finding.file || finding.environment !== undefined || finding.layer !== undefined) return [finding];
    const readers = overlaysReadingFile(fleet, inputsByPath, finding.file);
    return readers.length === 0
      ? [finding]
      : readers.map((overlay) => ({ ...finding, environment: overlay.environment, layer: overlay.layer }));
  });
}

/** Files of the layers: their folders where the layout has them, else what the overlays read. */
async function layerFiles(fleet: Fleet, rendered: readonly RenderedOverlay[]): Promise<string[]> {
  const roots = new Set<string>();
  for (const layer of fleet.layers) if (layer.path) roots.add(layer.path);
  for (const overlay of fleet.overlays) if (![...roots].some((root) => isUnder(overlay.path, root))) roots.add(overlay.path);
  for (const result of rendered) {
    for (const manifest of result.manifests) {
      const dir = manifest.origin ? path.posix.dirname(manifest.origin.file) : undefined;
      if (dir && !dir.startsWith("..") && ![...roots].some((root) => isUnder(dir, root))) roots.add(dir);
    }
  }
  const all = new Set<string>();
  for (const root of roots) for (const file of await listRepoFiles(fleet.root, root)) all.add(file);
  return [...all].sort();
}

function checkOverlaysUseBase(fleet: Fleet, rendered: readonly RenderedOverlay[]): Finding[] {
  const findings: Finding[] = [];
  for (const result of rendered) {
    const layer = fleet.layers.find((candidate) => candidate.name === result.overlay.layer);
    if (!result.ok || !layer?.path || result.manifests.length === 0) continue;
    const base = fleet.source === "layout-b" ? layer.path : `${layer.path}/base`;
    if (result.manifests.some((manifest) => manifest.origin && isUnder(manifest.origin.file, base))) continue;
    findings.push({
      severity: "error",
      check: "standards/overlay-uses-base",
      environment: result.overlay.environment,
      layer: result.overlay.layer,
      file: result.overlay.path,
      message: `overlay ${result.overlay.path} renders nothing from the common base ${base}`,
      hint: "environments drift apart when an overlay copies the base instead of building on it",
    });
  }
  return findings;
}

function checkNameSuffixes(fleet: Fleet, parsed: Map<string, ParsedYaml>): Finding[] {
  const suffixes = fleet.overlays.map((overlay) => {
    for (const name of KUSTOMIZATION_FILES) {
      const file = `${overlay.path}/${name}`;
      const yaml = parsed.get(file);
      const document = yaml?.documents[0];
      if (!yaml || !document || !isRecord(document.value)) continue;
      const suffix = document.value["nameSuffix"];
      return { overlay, file, suffix: typeof suffix === "string" ? suffix : undefined, line: yaml.lineAt(document, ["nameSuffix"]) };
    }
    return { overlay, file: undefined, suffix: undefined, line: undefined };
  });
  // The convention applies only where the repository follows it somewhere.
  if (!suffixes.some((entry) => entry.suffix !== undefined)) return [];
  const findings: Finding[] = [];
  for (const { overlay, file, suffix, line } of suffixes) {
    if (!file) continue;
    const expected = `-${overlay.environment}`;
    if (suffix === expected) continue;
    findings.push({
      severity: "error",
      check: "standards/name-suffix",
      environment: overlay.environment,
      layer: overlay.layer,
      file,
      ...(suffix !== undefined && line ? { line } : {}),
      message:
        suffix === undefined
          ? `nameSuffix is missing; other overlays use -<environment> (expected ${expected})`
          : `nameSuffix is ${suffix}, expected ${expected}`,
      hint: "a copied overlay that keeps another environment's suffix creates that environment's names in this cluster",
    });
  }
  return findings;
}

/**
 * Folders a Flux Kustomization builds without a kustomization.yaml: kustomize-controller generates
 * one that lists every manifest below them, so those manifests are applied.
 */
function generatedRoots(fleet: Fleet, parsed: Map<string, ParsedYaml>): string[] {
  return fleet.overlays
    .map((overlay) => overlay.path)
    .filter((dir) => !KUSTOMIZATION_FILES.some((name) => parsed.has(dir === "." ? name : `${dir}/${name}`)));
}

function checkListedFiles(parsed: Map<string, ParsedYaml>, generated: readonly string[] = []): Finding[] {
  const kustomizations = [...parsed.values()].filter((yaml) =>
    (KUSTOMIZATION_FILES as readonly string[]).includes(path.posix.basename(yaml.file)),
  );
  const referenced = new Set<string>();
  for (const yaml of kustomizations) {
    const dir = path.posix.dirname(yaml.file);
    const value = yaml.documents[0]?.value;
    if (!isRecord(value)) continue;
    for (const reference of referencedPaths(value)) referenced.add(path.posix.normalize(path.posix.join(dir, reference)));
  }
  const kustomizeDirs = new Set(kustomizations.map((yaml) => path.posix.dirname(yaml.file)));
  const findings: Finding[] = [];
  const uncoveredDirs = new Map<string, string[]>();
  for (const yaml of parsed.values()) {
    if (kustomizeDirs.has(path.posix.dirname(yaml.file)) && kustomizations.includes(yaml)) continue;
    if (TEMPLATE_FILE.test(yaml.file) || referenced.has(yaml.file)) continue;
    if (!yaml.documents.some((document) => isRecord(document.value) && "apiVersion" in document.value && "kind" in document.value))
      continue;
    const dir = path.posix.dirname(yaml.file);
    if (kustomizeDirs.has(dir)) {
      const kustomization = kustomizations.find((k) => path.posix.dirname(k.file) === dir)!;
      findings.push({
        severity: "warning",
        check: "standards/unlisted-file",
        file: yaml.file,
        message: `${path.posix.basename(yaml.file)} is not listed in ${kustomization.file}: Flux will not apply it`,
        hint: "list it under resources: (or delete it if it is obsolete)",
      });
    } else {
      uncoveredDirs.set(dir, [...(uncoveredDirs.get(dir) ?? []), path.posix.basename(yaml.file)]);
    }
  }
  for (const [dir, names] of uncoveredDirs) {
    if (generated.some((root) => root === "." || dir === root || dir.startsWith(`${root}/`))) continue;
    findings.push({
      severity: "warning",
      check: "standards/missing-kustomization",
      file: `${dir}/`,
      message: `${dir}/ holds manifests (${names.join(", ")}) but no kustomization.yaml lists them`,
      hint: "every directory with manifests needs a kustomization.yaml that lists them explicitly (kustomize builds only what it lists)",
    });
  }
  return findings;
}

/** Every local path a kustomization names (remote URLs and directories included). */
function referencedPaths(kustomization: Record<string, unknown>): string[] {
  const paths: string[] = [];
  const strings = (value: unknown) => (Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : []);
  for (const key of [
    "resources",
    "bases",
    "components",
    "patchesStrategicMerge",
    "crds",
    "configurations",
    "transformers",
    "generators",
    "validators",
  ]) {
    paths.push(...strings(kustomization[key]));
  }
  for (const key of ["patches", "patchesJson6902", "replacements"]) {
    const entries = kustomization[key];
    if (Array.isArray(entries))
      for (const entry of entries) if (isRecord(entry) && typeof entry["path"] === "string") paths.push(entry["path"]);
  }
  for (const key of ["configMapGenerator", "secretGenerator"]) {
    const entries = kustomization[key];
    if (!Array.isArray(entries)) continue;
    for (const entry of entries) {
      if (!isRecord(entry)) continue;
      for (const file of strings(entry["files"])) paths.push(file.includes("=") ? file.slice(file.indexOf("=") + 1) : file);
      paths.push(...strings(entry["envs"]));
      if (typeof entry["env"] === "string") paths.push(entry["env"]);
    }
  }
  const helmCharts = kustomization["helmCharts"];
  if (Array.isArray(helmCharts))
    for (const chart of helmCharts) if (isRecord(chart) && typeof chart["valuesFile"] === "string") paths.push(chart["valuesFile"]);
  const openapi = kustomization["openapi"];
  if (isRecord(openapi) && typeof openapi["path"] === "string") paths.push(openapi["path"]);
  return paths.filter((entry) => !/^[a-z]+:\/\//i.test(entry) && !entry.startsWith("git@"));
}

function isUnder(file: string, dir: string): boolean {
  return file === dir || file.startsWith(`${dir}/`);
}
