// Where kubeconform finds schemas, all on local disk: core Kubernetes schemas and the Flux,
// flux-operator and cert-manager CRD schemas generated at setup, CRD schemas shipped with
// gitops-ci, CRDs rendered from the repository, and the user's own; and which of them a kind's
// schema comes from.
import { existsSync, readFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../errors.ts";
import { apiGroupOf, isKubernetesOwnGroup } from "../manifests.ts";
import { PROJECT_ROOT } from "../toolchain.ts";

/** kubeconform's default layout, so folders made by other tools work too. */
export const CORE_SCHEMA_TEMPLATE = "{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json";
/** The CRDs-catalog layout. */
export const CRD_SCHEMA_TEMPLATE = "{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json";

export const SHIPPED_CRD_SCHEMAS = path.join(PROJECT_ROOT, "schemas", "crds");

export function coreSchemaDir(toolsDir: string): string {
  return path.join(toolsDir, "schemas", "kubernetes");
}

/**
 * The Kubernetes version whose schemas are on disk for `requested`: the exact version, else the
 * newest patch of the same minor (the API does not change within a minor release).
 */
export async function resolveKubernetesVersion(toolsDir: string, requested: string): Promise<string> {
  const dir = coreSchemaDir(toolsDir);
  let entries: string[] = [];
  try {
    entries = await readdir(dir);
  } catch {
    // reported below
  }
  const available = entries
    .map((entry) => /^v(\d+)\.(\d+)\.(\d+)-standalone-strict$/.exec(entry))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ version: `${match[1]}.${match[2]}.${match[3]}`, minor: `${match[1]}.${match[2]}`, patch: Number(match[3]) }));
  const wanted = requested.replace(/^v/, "");
  if (available.some((entry) => entry.version === wanted)) return wanted;
  const minor = wanted.split(".").slice(0, 2).join(".");
  const sameMinor = available.filter((entry) => entry.minor === minor).sort((a, b) => b.patch - a.patch)[0];
  if (sameMinor) return sameMinor.version;
  throw new UserError(`no Kubernetes ${wanted} schemas in ${dir}`, {
    hint: `generate them offline from the Go module proxy with \`bash toolchain/kubernetes-schemas.sh ${wanted}\`${
      available.length ? `, or set kubernetesVersion to one of ${available.map((entry) => entry.version).join(", ")}` : " (npm run setup does it for the pinned version)"
    }`,
  });
}

export interface SchemaLocation {
  /** kubeconform's -schema-location: an absolute path template. */
  template: string;
  /** Who made the schemas found there, for messages: "Kubernetes v1.35.4", "cert-manager v1.21.2". */
  origin: (group: string, kind: string) => string;
}

export interface SchemaLocationInput {
  toolsDir: string;
  repoRoot: string;
  kubernetesVersion: string;
  /** Folders of schemas generated during this run from CRDs the repository renders, with their origin. */
  generatedCrdDirs: readonly { dir: string; origin: (group: string, kind: string) => string }[];
  /** From gitops-ci.yaml: folders (CRDs-catalog layout) or kubeconform templates, repository-relative. */
  configured: readonly string[];
  /** The Flux release's schema folder (CRDs-catalog layout) and its origin. */
  flux?: { dir: string; origin: (group: string, kind: string) => string };
}

/**
 * In kubeconform's order (the first location that has a schema wins): core Kubernetes, the
 * repository's own CRDs (the version it installs), the user's folders, the pinned Flux release,
 * the CRD sets made at setup (flux-operator, cert-manager), then the ones shipped in schemas/crds.
 */
export async function schemaLocations(input: SchemaLocationInput): Promise<SchemaLocation[]> {
  return [
    { template: path.join(coreSchemaDir(input.toolsDir), CORE_SCHEMA_TEMPLATE), origin: () => `Kubernetes v${input.kubernetesVersion}` },
    ...input.generatedCrdDirs.map(({ dir, origin }) => ({ template: path.join(dir, CRD_SCHEMA_TEMPLATE), origin })),
    ...input.configured.map((location) => {
      const absolute = path.resolve(input.repoRoot, location);
      return { template: location.includes("{{") ? absolute : path.join(absolute, CRD_SCHEMA_TEMPLATE), origin: () => `schemas.locations entry ${location}` };
    }),
    ...(input.flux ? [{ template: path.join(input.flux.dir, CRD_SCHEMA_TEMPLATE), origin: input.flux.origin }] : []),
    ...(await setupCrdSchemaSets(input.toolsDir)).map(({ dir, name, version }) => ({ template: path.join(dir, CRD_SCHEMA_TEMPLATE), origin: () => `${name} ${version}` })),
    { template: path.join(SHIPPED_CRD_SCHEMAS, CRD_SCHEMA_TEMPLATE), origin: await shippedOrigin() },
  ];
}

/** Folders toolchain/flux-schemas.sh writes besides Flux's: `<tools>/schemas/<name>/<version>/crds`, the newest version of each. */
async function setupCrdSchemaSets(toolsDir: string): Promise<{ dir: string; name: string; version: string }[]> {
  const root = path.join(toolsDir, "schemas");
  const sets: { dir: string; name: string; version: string }[] = [];
  for (const name of (await readdirOrEmpty(root)).sort()) {
    if (name === "kubernetes" || name === "flux") continue;
    const versions = (await readdirOrEmpty(path.join(root, name)))
      .filter((version) => /^v\d/.test(version) && existsSync(path.join(root, name, version, "crds")))
      .sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
    const version = versions.at(-1);
    if (version) sets.push({ dir: path.join(root, name, version, "crds"), name, version });
  }
  return sets;
}

/** schemas/crds/sources.txt (written by schemas/generate.sh): `group module version` per line. */
async function shippedOrigin(): Promise<(group: string, kind: string) => string> {
  const sources = new Map<string, string>();
  let text = "";
  try {
    text = await readFile(path.join(SHIPPED_CRD_SCHEMAS, "sources.txt"), "utf8");
  } catch {
    // an older checkout: the folder alone names them
  }
  for (const line of text.split("\n")) {
    const [group, module, version] = line.replace(/#.*/, "").trim().split(/\s+/);
    if (group && module && version) sources.set(group, `${module.split("/").at(-1)} ${version}`);
  }
  return (group) => {
    const source = sources.get(group);
    return source ? `${source} (schemas/crds)` : "gitops-ci's schemas/crds";
  };
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

/**
 * The location kubeconform takes a kind's schema from: the first whose file exists, as kubeconform
 * looks them up. Undefined when none has it.
 */
export function schemaLocationOf(locations: readonly SchemaLocation[], apiVersion: string, kind: string, kubernetesVersion: string): SchemaLocation | undefined {
  return locations.find((location) => existsSync(fillSchemaTemplate(location.template, apiVersion, kind, kubernetesVersion)));
}

/** kubeconform's template variables (pkg/registry: schemaPath), for -strict. */
export function fillSchemaTemplate(template: string, apiVersion: string, kind: string, kubernetesVersion: string): string {
  const [groupOrVersion = "", version] = apiVersion.split("/");
  const values: Record<string, string> = {
    NormalizedKubernetesVersion: kubernetesVersion === "master" ? "master" : `v${kubernetesVersion.replace(/^v/, "")}`,
    StrictSuffix: "-strict",
    ResourceKind: kind.toLowerCase(),
    ResourceAPIVersion: version ?? groupOrVersion,
    Group: groupOrVersion,
    KindSuffix: kindSuffix(apiVersion),
  };
  return template.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (whole, name: string) => values[name] ?? whole);
}

/** The API of a Kubernetes release, from its OpenAPI document (the index `gitops-ci schemas` writes beside the core schemas). */
export interface KubernetesApi {
  /** Every API group the release serves ("" is the core group). */
  groups: ReadonlySet<string>;
}

/** Undefined for a schema folder made before the index existed: run the setup again. */
export function loadKubernetesApi(toolsDir: string, kubernetesVersion: string): KubernetesApi | undefined {
  const file = path.join(coreSchemaDir(toolsDir), `v${kubernetesVersion}-standalone-strict`, KUBERNETES_API_INDEX);
  let index: unknown;
  try {
    index = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
  const groupVersions = typeof index === "object" && index !== null ? (index as { groupVersions?: unknown }).groupVersions : undefined;
  if (typeof groupVersions !== "object" || groupVersions === null) return undefined;
  return { groups: new Set(Object.keys(groupVersions).map((apiVersion) => apiGroupOf(apiVersion))) };
}

/** Beside the schemas; kubeconform never looks it up (its file names always hold a dash). */
export const KUBERNETES_API_INDEX = "index.json";

/**
 * Whether Kubernetes itself serves this API group, from the pinned release's OpenAPI: a custom
 * resource needs a CRD, any kind of these groups does not (an unserved kind there is
 * validate/unserved-api). Without the index, the group is judged by whether a core schema exists
 * for the kind.
 */
export function createBuiltInKindCheck(toolsDir: string, kubernetesVersion: string): (apiVersion: string, kind: string) => boolean {
  const api = loadKubernetesApi(toolsDir, kubernetesVersion);
  if (api) return (apiVersion) => isKubernetesOwnGroup(apiGroupOf(apiVersion)) || api.groups.has(apiGroupOf(apiVersion));
  const dir = path.join(coreSchemaDir(toolsDir), `v${kubernetesVersion}-standalone-strict`);
  const cache = new Map<string, boolean>();
  return (apiVersion, kind) => {
    const group = apiGroupOf(apiVersion);
    if (!isKubernetesOwnGroup(group) && !group.endsWith(".k8s.io")) return false;
    const key = `${apiVersion}/${kind}`;
    let known = cache.get(key);
    if (known === undefined) {
      known = existsSync(path.join(dir, `${kind.toLowerCase()}${kindSuffix(apiVersion)}.json`));
      cache.set(key, known);
    }
    return known;
  };
}

/** kubeconform's KindSuffix: "-" + first segment of the group + "-" + version. */
export function kindSuffix(apiVersion: string): string {
  const [groupOrVersion = "", version] = apiVersion.split("/");
  const first = groupOrVersion.split(".")[0]!.toLowerCase();
  return version ? `-${first}-${version.toLowerCase()}` : `-${first}`;
}
