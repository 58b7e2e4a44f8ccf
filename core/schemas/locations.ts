// Where kubeconform finds schemas, all on local disk: core Kubernetes schemas generated at setup,
// CRD schemas shipped with gitops-ci, CRDs rendered from the repository, and the user's own.
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
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

export interface SchemaLocationInput {
  toolsDir: string;
  repoRoot: string;
  /** Folders of schemas generated during this run from CRDs the repository renders. */
  generatedCrdDirs: readonly string[];
  /** From gitops-ci.yaml: folders (CRDs-catalog layout) or kubeconform templates, repository-relative. */
  configured: readonly string[];
}

/** Repository CRDs come before the shipped ones: the repository's own CRD version wins. */
export function schemaLocations(input: SchemaLocationInput): string[] {
  return [
    path.join(coreSchemaDir(input.toolsDir), CORE_SCHEMA_TEMPLATE),
    ...input.generatedCrdDirs.map((dir) => path.join(dir, CRD_SCHEMA_TEMPLATE)),
    ...input.configured.map((location) => {
      const absolute = path.resolve(input.repoRoot, location);
      return location.includes("{{") ? absolute : path.join(absolute, CRD_SCHEMA_TEMPLATE);
    }),
    path.join(SHIPPED_CRD_SCHEMAS, CRD_SCHEMA_TEMPLATE),
  ];
}

/** Whether the Kubernetes API serves this kind itself: a core schema exists for it. */
export function createBuiltInKindCheck(toolsDir: string, kubernetesVersion: string): (apiVersion: string, kind: string) => boolean {
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
