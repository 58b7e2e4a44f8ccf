// The optional gitops-ci.yaml: read, checked against a schema, and normalised. Every error names
// the file, the key and the line.
import { readFile } from "node:fs/promises";
import { pathExists } from "./repo-files.ts";
import path from "node:path";
import { Ajv, type ErrorObject } from "ajv";
import { UserError } from "./errors.ts";
import { parseYaml } from "./yaml-file.ts";
import type { Environment } from "./model/fleet.ts";
import type { ClusterEntry } from "./flux/entry-points.ts";

export const CONFIG_FILE_NAMES = ["gitops-ci.yaml", "gitops-ci.yml", ".gitops-ci.yaml"] as const;

export type RuleSetting = "off" | "warning" | "error";

export interface ConfigLayer {
  name: string;
  /** Folder holding base/ and overlays/<env>/. */
  path?: string;
  /** Overlay folder with `{env}` for the environment; default `<path>/overlays/{env}`. */
  overlays?: string;
  dependsOn: string[];
}

export interface GitopsCiConfig {
  /** Repository-relative path of the config file. */
  file: string;
  kubernetesVersion?: string;
  /** Cluster entry points, for repositories whose bootstrap sync is not committed (Terraform, a script). */
  clusters?: ClusterEntry[];
  layers?: ConfigLayer[];
  environments?: Environment[];
  rules: Record<string, RuleSetting>;
  /** API groups or kinds installed outside the repository (e.g. by the cluster's installer). */
  preinstalledCrds: string[];
  /** Helm chart name → API groups whose CRDs it installs (added to the well-known table). */
  crdsProvidedBy: Record<string, string[]>;
  /** Extra kubeconform schema locations (folders or templates), relative to the repository. */
  schemaLocations: string[];
  /** Name and namespace of the Flux Kustomization of each overlay, when the repository has no such objects (diff, drift). */
  kustomizationNaming?: { name: string; namespace: string };
  /** `gitops-ci promote`: promotion order (the default --from), and field patterns to promote or never promote. */
  promote: { order: string[]; paths: string[]; exclude: string[] };
}

const NON_EMPTY = { type: "string", minLength: 1 } as const;

/** A schema object that takes only the keys it lists. */
function closedObject<Properties extends Record<string, unknown>>(properties: Properties) {
  return { type: "object", additionalProperties: false, properties } as const;
}

const configSchema = {
  type: "object",
  additionalProperties: false,
  required: ["apiVersion", "kind"],
  properties: {
    apiVersion: { const: "gitops-ci/v1" },
    kind: { const: "Config" },
    kubernetesVersion: { type: "string", pattern: "^v?\\d+\\.\\d+\\.\\d+$" },
    clusters: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["name", "path"],
        properties: {
          name: { type: "string", minLength: 1 },
          path: { type: "string", minLength: 1 },
          kustomization: closedObject({ name: NON_EMPTY, namespace: NON_EMPTY }),
          source: { type: "string", minLength: 1 },
        },
      },
    },
    layers: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["name"],
        anyOf: [{ required: ["path"] }, { required: ["overlays"] }],
        properties: {
          name: { type: "string", pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" },
          path: { type: "string", minLength: 1 },
          overlays: { type: "string", pattern: "\\{env\\}" },
          dependsOn: { type: "array", items: { type: "string" }, uniqueItems: true },
        },
      },
    },
    environments: {
      type: "array",
      items: {
        oneOf: [
          { type: "string", minLength: 1 },
          {
            type: "object",
            additionalProperties: false,
            required: ["name"],
            properties: { name: { type: "string", minLength: 1 }, kubeContext: { type: "string" } },
          },
        ],
      },
    },
    rules: {
      type: "object",
      additionalProperties: { enum: ["off", "warning", "error"] },
    },
    crds: {
      type: "object",
      additionalProperties: false,
      properties: {
        preinstalled: { type: "array", items: { type: "string" } },
        providedBy: { type: "object", additionalProperties: { type: "array", items: { type: "string" } } },
      },
    },
    schemas: {
      type: "object",
      additionalProperties: false,
      properties: { locations: { type: "array", items: { type: "string" } } },
    },
    flux: closedObject({ kustomizationName: NON_EMPTY, kustomizationNamespace: NON_EMPTY }),
    promote: {
      type: "object",
      additionalProperties: false,
      properties: {
        order: { type: "array", items: { type: "string", minLength: 1 }, uniqueItems: true },
        paths: { type: "array", items: { type: "string", minLength: 1 } },
        exclude: { type: "array", items: { type: "string", minLength: 1 } },
      },
    },
  },
} as const;

// strictRequired is off: anyOf branches name keys that the parent declares, which is valid JSON Schema.
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
const validateConfig = ajv.compile(configSchema);

/** Finds the config file of a repository, if it has one. */
export async function findConfigFile(root: string): Promise<string | undefined> {
  for (const name of CONFIG_FILE_NAMES) if (await pathExists(path.join(root, name))) return name;
  return undefined;
}

export async function loadConfig(root: string, file: string): Promise<GitopsCiConfig> {
  let text: string;
  try {
    text = await readFile(path.resolve(root, file), "utf8");
  } catch (error) {
    throw new UserError(`cannot read the config file: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, {
      file,
      cause: error,
    });
  }
  return parseConfig(text, file);
}

export function parseConfig(text: string, file: string): GitopsCiConfig {
  const parsed = parseYaml(text, file);
  const syntax = parsed.findings[0];
  if (syntax) {
    throw new UserError(`invalid YAML: ${syntax.message}`, { file, ...(syntax.line ? { line: syntax.line } : {}) });
  }
  if (parsed.documents.length !== 1) {
    throw new UserError(`expected exactly one YAML document, found ${parsed.documents.length}`, { file });
  }
  const document = parsed.documents[0]!;
  if (!validateConfig(document.value)) {
    const errors = (validateConfig.errors ?? []).filter((error) => error.keyword !== "anyOf" && error.keyword !== "oneOf");
    const shown = (errors.length > 0 ? errors : (validateConfig.errors ?? [])).slice(0, 10);
    const lines = shown.map((error) => {
      const keyPath = errorPath(error);
      const line = parsed.lineAt(document, keyPath);
      return `${file}${line ? `:${line}` : ""}: ${describeKey(keyPath, error)} ${describeSchemaError(error)}`;
    });
    const firstLine = shown[0] ? parsed.lineAt(document, errorPath(shown[0])) : undefined;
    throw new UserError(`invalid config:\n  ${lines.join("\n  ")}`, {
      file,
      ...(firstLine ? { line: firstLine } : {}),
      hint: "see docs/configuration.md for every key",
    });
  }
  return normalizeConfig(document.value as RawConfig, file);
}

interface RawConfig {
  kubernetesVersion?: string;
  clusters?: { name: string; path: string; kustomization?: { name?: string; namespace?: string }; source?: string }[];
  layers?: { name: string; path?: string; overlays?: string; dependsOn?: string[] }[];
  environments?: (string | { name: string; kubeContext?: string })[];
  rules?: Record<string, RuleSetting>;
  crds?: { preinstalled?: string[]; providedBy?: Record<string, string[]> };
  schemas?: { locations?: string[] };
  flux?: { kustomizationName?: string; kustomizationNamespace?: string };
  promote?: { order?: string[]; paths?: string[]; exclude?: string[] };
}

function normalizeConfig(raw: RawConfig, file: string): GitopsCiConfig {
  const layers = raw.layers?.map((layer) => ({
    name: layer.name,
    ...(layer.path ? { path: stripDotSlash(layer.path) } : {}),
    ...(layer.overlays ? { overlays: stripDotSlash(layer.overlays) } : {}),
    dependsOn: layer.dependsOn ?? [],
  }));
  const names = new Set<string>();
  for (const layer of layers ?? []) {
    if (names.has(layer.name)) throw new UserError(`layer "${layer.name}" is declared twice`, { file });
    names.add(layer.name);
  }
  return {
    file,
    ...(raw.kubernetesVersion ? { kubernetesVersion: raw.kubernetesVersion.replace(/^v/, "") } : {}),
    ...(raw.clusters ? { clusters: raw.clusters.map((cluster) => clusterEntry(cluster, file)) } : {}),
    ...(layers ? { layers } : {}),
    ...(raw.environments ? { environments: raw.environments.map((env) => (typeof env === "string" ? { name: env } : env)) } : {}),
    rules: raw.rules ?? {},
    preinstalledCrds: raw.crds?.preinstalled ?? [],
    crdsProvidedBy: raw.crds?.providedBy ?? {},
    schemaLocations: raw.schemas?.locations ?? [],
    ...(raw.flux
      ? {
          kustomizationNaming: {
            name: raw.flux.kustomizationName ?? "{layer}",
            namespace: raw.flux.kustomizationNamespace ?? "flux-system",
          },
        }
      : {}),
    promote: { order: raw.promote?.order ?? [], paths: raw.promote?.paths ?? [], exclude: raw.promote?.exclude ?? [] },
  };
}

function pointerToPath(pointer: string): (string | number)[] {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

/** Where an error points: for an unknown key, the key itself rather than its parent. */
function errorPath(error: ErrorObject): (string | number)[] {
  const keyPath = pointerToPath(error.instancePath);
  return error.keyword === "additionalProperties" ? [...keyPath, String(error.params["additionalProperty"])] : keyPath;
}

function describeKey(keyPath: (string | number)[], _error: ErrorObject): string {
  const key = keyPath
    .map((part) => (typeof part === "number" ? `[${part}]` : `.${part}`))
    .join("")
    .replace(/^\./, "");
  return `${key || "(top level)"}:`;
}

function describeSchemaError(error: ErrorObject): string {
  switch (error.keyword) {
    case "additionalProperties":
      return "is not a known key";
    case "required":
      return `is missing the required key "${String(error.params["missingProperty"])}"`;
    case "const":
      return `must be ${JSON.stringify(error.params["allowedValue"])}`;
    case "enum":
      return `must be one of ${(error.params["allowedValues"] as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
    case "pattern":
      return `does not match ${String(error.params["pattern"])}`;
    default:
      return error.message ?? "is invalid";
  }
}

function stripDotSlash(value: string): string {
  return value.replace(/^\.\//, "").replace(/\/+$/, "");
}

/** A declared entry point becomes the sync Kustomization its bootstrap would create. */
function clusterEntry(cluster: NonNullable<RawConfig["clusters"]>[number], file: string): ClusterEntry {
  const name = cluster.kustomization?.name ?? "flux-system";
  const namespace = cluster.kustomization?.namespace ?? "flux-system";
  const source = cluster.source ?? name;
  return {
    cluster: cluster.name,
    kustomization: {
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      metadata: { name, namespace },
      spec: { interval: "10m", path: cluster.path, prune: true, sourceRef: { kind: "GitRepository", name: source } },
    },
    location: { file },
    source: { kind: "GitRepository", name: source, namespace },
  };
}
