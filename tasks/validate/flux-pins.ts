// Which Flux release each environment runs, so that Flux's custom resources are validated against
// that release's CRDs: a FluxInstance's `spec.distribution.version`, the `# Flux Version:` header
// that `flux bootstrap`/`flux install --export` write into gotk-components.yaml, or the tags of
// the Flux controller images. Looked for in the rendered overlays of the environment first, then
// in the repository's YAML files (a file counts for the environments named in its path, or for
// every environment when its path names none). Nothing pinned: the newest release.
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import type { Finding } from "../../core/model/findings.ts";
import type { Fleet } from "../../core/model/fleet.ts";
import { isYamlFile, listRepoFiles } from "../../core/repo-files.ts";
import { chooseFluxSchemas, type FluxPin, type FluxSchemaChoice, type FluxSchemaStore } from "../../core/schemas/flux-releases.ts";
import { formatMinor } from "../../core/schemas/flux-versions.ts";
import { isRecord, parseYaml, scalarText } from "../../core/yaml-file.ts";
import type { RenderedOverlay } from "../../core/model/rendered-overlay.ts";
import { escapeRegExp } from "../../core/redaction.ts";

export interface FluxSelection extends FluxSchemaChoice {
  /** Where the pin was found; undefined when nothing pins Flux (the newest release is used). */
  source?: { file: string; line?: number; says: string };
}

/** A pin and where it was found. */
interface FoundPin {
  pin: FluxPin;
  file: string;
  line?: number;
  says: string;
  /** Lower wins: rendered in this environment, a file of this environment, a shared file. */
  rank: number;
}

const FLUX_VERSION_HEADER = /^#\s*Flux Version:\s*(\S+)/m;
const FLUX_INSTANCE_KIND = /kind:\s*["']?FluxInstance\b/;
/** Bigger files are not read: nobody writes Flux's pin into them. */
const MAX_FILE_BYTES = 8 * 1024 * 1024;

export async function detectFluxVersions(
  fleet: Fleet,
  rendered: readonly RenderedOverlay[],
  store: FluxSchemaStore,
): Promise<{ byEnvironment: Map<string, FluxSelection>; findings: Finding[] }> {
  const controllers = new Set(store.releases.flatMap((release) => [...release.images.keys()]));
  const environments = fleet.environments.map((environment) => environment.name);
  const checked = environments.filter((environment) => rendered.some((result) => result.overlay.environment === environment));
  const repositoryPins = checked.length > 0 ? await repositoryFluxPins(fleet.root, controllers) : [];
  const byEnvironment = new Map<string, FluxSelection>();
  const findings: Finding[] = [];
  for (const environment of checked) {
    const found: FoundPin[] = [];
    for (const result of rendered.filter((r) => r.ok && r.overlay.environment === environment)) {
      const objects = result.manifests.map((manifest) => ({
        object: manifest.object,
        file: manifest.origin?.file ?? result.overlay.path,
        line: manifest.origin?.line,
      }));
      found.push(...pinsOfObjects(objects, controllers).map((pin) => ({ ...pin, rank: 0 })));
    }
    for (const pin of repositoryPins) {
      const named = environmentsNamedIn(pin.file, environments);
      if (named.length === 0) found.push({ ...pin, rank: 2 });
      else if (named.includes(environment)) found.push({ ...pin, rank: 1 });
    }
    const best = [...found].sort((a, b) => a.rank - b.rank || strength(a.pin) - strength(b.pin))[0];
    const choice = chooseFluxSchemas(store, best?.pin);
    const selection: FluxSelection = {
      ...choice,
      ...(best ? { source: { file: best.file, ...(best.line ? { line: best.line } : {}), says: best.says } } : {}),
    };
    byEnvironment.set(environment, selection);
    if (best && choice.problem) {
      findings.push({
        severity: "warning",
        check: "validate/flux-version",
        environment,
        file: best.file,
        ...(best.line ? { line: best.line } : {}),
        message: `${best.says}: ${choice.problem}; Flux's custom resources are validated against Flux ${formatMinor(choice.schemas)}`,
        hint: "gitops-ci's Flux schemas come from flux-operator's copy of every Flux release (toolchain/flux-schemas.sh)",
      });
    }
  }
  return { byEnvironment, findings };
}

/** How a choice is described: `Flux v2.6.x (clusters/prod/flux-system/gotk-components.yaml: Flux Version v2.6.1)`. */
export function describeFluxSelection(selection: FluxSelection): string {
  const pinned = selection.source
    ? `${selection.source.file}: ${selection.source.says}`
    : "newest: nothing in the repository pins a Flux version";
  return `Flux ${formatMinor(selection.schemas)} (${pinned})`;
}

/** FluxInstance first, the bootstrap header next, images last: the most deliberate statement wins. */
function strength(pin: FluxPin): number {
  return pin.kind === "constraint" ? 0 : pin.kind === "release" ? 1 : 2;
}

function environmentsNamedIn(file: string, environments: readonly string[]): string[] {
  const segments = new Set(file.split("/").slice(0, -1));
  return environments.filter((environment) => segments.has(environment));
}

async function repositoryFluxPins(root: string, controllers: ReadonlySet<string>): Promise<Omit<FoundPin, "rank">[]> {
  const files = (await listRepoFiles(root)).filter(isYamlFile);
  const mentionsImage = new RegExp(`fluxcd/(?:[\\w.-]+/)*(?:${[...controllers].map(escapeRegExp).join("|")}):`);
  const pins: Omit<FoundPin, "rank">[] = [];
  for (const file of files) {
    const text = await readSmallFile(path.join(root, file));
    if (text === undefined) continue;
    const header = FLUX_VERSION_HEADER.exec(text);
    if (header) {
      const line = text.slice(0, header.index).split("\n").length;
      pins.push({ pin: { kind: "release", text: header[1]! }, file, line, says: `Flux Version ${header[1]}` });
    }
    // The header already says what the images would; only a FluxInstance can say more.
    if (!FLUX_INSTANCE_KIND.test(text) && (header || !mentionsImage.test(text))) continue;
    const parsed = parseYaml(text, file);
    const objects = parsed.documents
      .filter((document) => isRecord(document.value))
      .map((document) => ({ object: document.value as Record<string, unknown>, file, line: document.line }));
    pins.push(...pinsOfObjects(objects, controllers).filter((pin) => !header || pin.pin.kind !== "images"));
  }
  return pins;
}

async function readSmallFile(absolute: string): Promise<string | undefined> {
  try {
    if ((await stat(absolute)).size > MAX_FILE_BYTES) return undefined;
    return await readFile(absolute, "utf8");
  } catch {
    return undefined;
  }
}

/** The FluxInstance versions and Flux controller images among these objects. */
function pinsOfObjects(
  objects: readonly { object: Record<string, unknown>; file: string; line: number | undefined }[],
  controllers: ReadonlySet<string>,
): Omit<FoundPin, "rank">[] {
  const pins: Omit<FoundPin, "rank">[] = [];
  const imagesByFile = new Map<string, { line: number | undefined; images: { controller: string; tag: string }[] }>();
  for (const { object, file, line } of objects) {
    const apiVersion = scalarText(object["apiVersion"]);
    if (object["kind"] === "FluxInstance" && apiVersion.startsWith("fluxcd.controlplane.io/")) {
      const spec = isRecord(object["spec"]) ? object["spec"] : {};
      const distribution = isRecord(spec["distribution"]) ? spec["distribution"] : {};
      const version = distribution["version"];
      if (typeof version === "string" && version.trim() !== "") {
        pins.push({
          pin: { kind: "constraint", text: version.trim() },
          file,
          ...(line ? { line } : {}),
          says: `FluxInstance distribution.version "${version.trim()}"`,
        });
      }
      continue;
    }
    if (object["kind"] !== "Deployment") continue;
    for (const image of containerImages(object)) {
      const parsed = fluxControllerImage(image, controllers);
      if (!parsed) continue;
      const entry = imagesByFile.get(file) ?? { line, images: [] };
      if (!entry.images.some((known) => known.controller === parsed.controller)) entry.images.push(parsed);
      imagesByFile.set(file, entry);
    }
  }
  for (const [file, { line, images }] of imagesByFile) {
    const shown = images.map((image) => `${image.controller}:${image.tag}`).join(", ");
    pins.push({ pin: { kind: "images", images }, file, ...(line ? { line } : {}), says: `controller images ${shown}` });
  }
  return pins;
}

function containerImages(deployment: Record<string, unknown>): string[] {
  const spec = isRecord(deployment["spec"]) ? deployment["spec"] : {};
  const template = isRecord(spec["template"]) ? spec["template"] : {};
  const podSpec = isRecord(template["spec"]) ? template["spec"] : {};
  const containers = Array.isArray(podSpec["containers"]) ? podSpec["containers"] : [];
  return containers.filter(isRecord).flatMap((container) => (typeof container["image"] === "string" ? [container["image"]] : []));
}

/** `ghcr.io/fluxcd/source-controller:v1.6.0` (any registry or mirror whose path names fluxcd) → controller and tag. */
export function fluxControllerImage(image: string, controllers: ReadonlySet<string>): { controller: string; tag: string } | undefined {
  const withoutDigest = image.split("@")[0]!;
  const slash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.lastIndexOf(":");
  if (slash < 0 || colon < slash) return undefined;
  const name = withoutDigest.slice(0, colon);
  const controller = name.slice(slash + 1);
  if (!controllers.has(controller) || !name.includes("fluxcd")) return undefined;
  return { controller, tag: withoutDigest.slice(colon + 1) };
}
