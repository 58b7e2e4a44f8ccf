// The Flux releases gitops-ci has schemas for (toolchain/flux-schemas.sh writes them at setup:
// one folder per minor release, its newest patch) and every release's controller images, and the
// choice of one of those folders for what a repository pins.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { load } from "js-yaml";
import { UserError } from "../errors.ts";
import { isRecord } from "../yaml-file.ts";
import { compareReleases, formatMinor, formatRelease, newestSatisfying, parseConstraint, parseRelease, type ReleaseVersion } from "./flux-versions.ts";

export interface FluxRelease {
  version: ReleaseVersion;
  /** Controller name (`source-controller`) → image tag (`v1.6.0`) of this release. */
  images: ReadonlyMap<string, string>;
}

export interface FluxSchemaStore {
  /** `<tools>/schemas/flux`. */
  dir: string;
  /** The releases with a schema folder (`<dir>/v2.6.4/crds/`), oldest first: one per minor. */
  schemaReleases: ReleaseVersion[];
  /** Every release flux-operator knows, oldest first. */
  releases: FluxRelease[];
}

export function fluxSchemaDir(toolsDir: string): string {
  return path.join(toolsDir, "schemas", "flux");
}

/** The CRDs-catalog folder of one release's schemas. */
export function fluxReleaseSchemaDir(store: FluxSchemaStore, release: ReleaseVersion): string {
  return path.join(store.dir, formatRelease(release), "crds");
}

const SETUP_HINT = "generate them offline from the Go module proxy with `bash toolchain/flux-schemas.sh` (npm run setup does it)";

export async function loadFluxSchemaStore(toolsDir: string): Promise<FluxSchemaStore> {
  const dir = fluxSchemaDir(toolsDir);
  let entries: string[];
  let releasesText: string;
  try {
    [entries, releasesText] = await Promise.all([readdir(dir), readFile(path.join(dir, "releases.yaml"), "utf8")]);
  } catch (error) {
    throw new UserError(`no Flux schemas in ${dir}`, { hint: SETUP_HINT, cause: error });
  }
  const schemaReleases = entries
    .map((entry) => parseRelease(entry))
    .filter((version): version is ReleaseVersion => version !== undefined)
    .sort(compareReleases);
  if (schemaReleases.length === 0) throw new UserError(`no Flux schemas in ${dir}`, { hint: SETUP_HINT });
  return { dir, schemaReleases, releases: parseReleaseImages(releasesText) };
}

/** releases.yaml: `v2.6.1: {images: [{name: ghcr.io/fluxcd/source-controller, newTag: v1.6.0}, …]}`. */
export function parseReleaseImages(text: string): FluxRelease[] {
  const document = load(text);
  if (!isRecord(document)) return [];
  const releases: FluxRelease[] = [];
  for (const [key, value] of Object.entries(document)) {
    const version = parseRelease(key);
    const images = isRecord(value) && Array.isArray(value["images"]) ? value["images"] : [];
    if (!version) continue;
    const byController = new Map<string, string>();
    for (const image of images) {
      if (isRecord(image) && typeof image["name"] === "string" && typeof image["newTag"] === "string") {
        byController.set(image["name"].split("/").at(-1)!, image["newTag"]);
      }
    }
    releases.push({ version, images: byController });
  }
  return releases.sort((a, b) => compareReleases(a.version, b.version));
}

/** What a repository says about its Flux version. */
export type FluxPin =
  | { kind: "release"; text: string }
  | { kind: "constraint"; text: string }
  | { kind: "images"; images: readonly { controller: string; tag: string }[] };

export interface FluxSchemaChoice {
  /** The release whose schema folder validates. */
  schemas: ReleaseVersion;
  /** The release the pin names or matches, when there is one. */
  release?: ReleaseVersion;
  /** Why the folder is not simply the pinned minor's, for a warning. */
  problem?: string;
}

/** The schema folder for a pin: the same minor release, else the nearest one (with a problem). */
export function chooseFluxSchemas(store: FluxSchemaStore, pin: FluxPin | undefined): FluxSchemaChoice {
  const newest = store.schemaReleases.at(-1)!;
  if (!pin) return { schemas: newest };
  const known = `${formatMinor(store.schemaReleases[0]!)} to ${formatMinor(newest)}`;
  switch (pin.kind) {
    case "release": {
      const release = parseRelease(pin.text);
      if (!release) return { schemas: newest, problem: `"${pin.text}" is not a Flux release version` };
      return forRelease(store, release, known);
    }
    case "constraint": {
      const constraint = parseConstraint(pin.text);
      if (!constraint) return { schemas: newest, problem: `"${pin.text}" is not a semver version or range` };
      const release = newestSatisfying(
        store.releases.map((entry) => entry.version),
        constraint,
      );
      if (!release) {
        const schemas = newestSatisfying(store.schemaReleases, constraint);
        return schemas ? { schemas } : { schemas: newest, problem: `"${pin.text}" matches no Flux release gitops-ci knows (${known})` };
      }
      return forRelease(store, release, known);
    }
    case "images": {
      const matching = store.releases.filter((release) => pin.images.every((image) => release.images.get(image.controller) === image.tag));
      const release = matching.at(-1);
      if (!release) {
        const shown = pin.images.map((image) => `${image.controller}:${image.tag}`).join(", ");
        return { schemas: newest, problem: `the controller images (${shown}) match no Flux release gitops-ci knows (${known})` };
      }
      return forRelease(store, release.version, known);
    }
  }
}

function forRelease(store: FluxSchemaStore, release: ReleaseVersion, known: string): FluxSchemaChoice {
  const sameMinor = store.schemaReleases.find((candidate) => candidate.major === release.major && candidate.minor === release.minor);
  if (sameMinor) return { schemas: sameMinor, release };
  const oldest = store.schemaReleases[0]!;
  const newest = store.schemaReleases.at(-1)!;
  const schemas = compareReleases(release, oldest) < 0 ? oldest : compareReleases(release, newest) > 0 ? newest : nearestBelow(store, release);
  return { schemas, release, problem: `gitops-ci has no schemas for Flux ${formatMinor(release)} (it has ${known})` };
}

function nearestBelow(store: FluxSchemaStore, release: ReleaseVersion): ReleaseVersion {
  return [...store.schemaReleases].reverse().find((candidate) => compareReleases(candidate, release) < 0) ?? store.schemaReleases[0]!;
}
