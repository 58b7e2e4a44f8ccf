// `gitops-ci schemas`: writes the JSON schemas kubeconform needs to validate with -strict offline:
// CRD schemas in the CRDs-catalog layout and core Kubernetes schemas in kubeconform's default layout.
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { TaskContext } from "../../core/context.ts";
import { ExitCode, UserError } from "../../core/errors.ts";
import { hasErrors, type Finding } from "../../core/model/findings.ts";
import { proxyPasswords } from "../../core/http/proxy.ts";
import { createKubernetesClient } from "../../core/kubernetes/client.ts";
import { loadClusterConnection } from "../../core/kubernetes/kubeconfig.ts";
import { isYamlFile, listRepoFiles, withoutChartFiles } from "../../core/repo-files.ts";
import { formatFindingsForTerminal, formatTable } from "../../core/report/terminal.ts";
import {
  crdToJsonSchemas,
  isCustomResourceDefinition,
  type CrdConversion,
  type CustomResourceSchema,
} from "../../core/schemas/crd-to-json-schema.ts";
import { KUBERNETES_API_INDEX } from "../../core/schemas/locations.ts";
import { apiVersionOf, openApiToJsonSchemas, type OpenApiConversion } from "../../core/schemas/openapi-to-json-schema.ts";
import { parseYaml, isRecord, scalarText } from "../../core/yaml-file.ts";

export interface SchemasOptions {
  /** Output folder: CRD schemas go to `crds/`, core schemas to `kubernetes/`. */
  outDir: string;
  /** YAML files or folders holding CustomResourceDefinitions. */
  crdPaths?: readonly string[];
  /** Output of `gitops-ci render --out`: every CRD object in it. */
  renderedDir?: string;
  /** Every CRD installed in a cluster, through the kubeconfig (KUBECONFIG, optionally a named context). */
  fromCluster?: { kubeContext?: string };
  /** Kubernetes' api/openapi-spec/swagger.json. */
  kubernetesOpenApi?: string;
  /** The Kubernetes version that swagger.json belongs to, e.g. 1.35.4 (its `info.version` says "unversioned"). */
  kubernetesVersion?: string;
}

export interface WrittenSchemas {
  /** `crds` or `kubernetes/v1.35.4-standalone-strict`, relative to the output folder. */
  folder: string;
  /** API group ("" for the core group) → number of schema files written. */
  perGroup: Map<string, number>;
}

export interface SchemasResult {
  written: WrittenSchemas[];
  findings: Finding[];
  exitCode: ExitCode;
}

const CRD_FOLDER = "crds";

export async function schemas(context: TaskContext, options: SchemasOptions): Promise<SchemasResult> {
  const crdPaths = options.crdPaths ?? [];
  if (crdPaths.length === 0 && !options.renderedDir && !options.fromCluster && !options.kubernetesOpenApi) {
    throw new UserError("nothing to generate", { hint: "give --crds FILE_OR_DIR, --from-rendered DIR, --from-cluster or --kubernetes-openapi swagger.json" });
  }
  if (options.kubernetesVersion !== undefined && !options.kubernetesOpenApi) {
    throw new UserError("--kubernetes-version is only used with --kubernetes-openapi", { hint: "add --kubernetes-openapi swagger.json" });
  }
  const kubernetesVersion = options.kubernetesOpenApi ? normalizeKubernetesVersion(options.kubernetesVersion) : undefined;
  const outDir = path.resolve(context.cwd, options.outDir);
  const findings: Finding[] = [];
  const written: WrittenSchemas[] = [];

  if (crdPaths.length > 0 || options.renderedDir || options.fromCluster) {
    const collected = new CrdSchemaSet();
    for (const crdPath of crdPaths) {
      const found = await collectCrdSchemas(context, crdPath, collected, findings);
      if (found === 0) {
        findings.push({ severity: "error", check: "schemas/no-crds", file: displayPath(context, crdPath), message: "no CustomResourceDefinition found" });
      }
    }
    if (options.renderedDir) {
      const found = await collectCrdSchemas(context, options.renderedDir, collected, findings);
      if (found === 0) {
        context.output.err(`no CustomResourceDefinition in the rendered output ${displayPath(context, options.renderedDir)}`);
      }
    }
    if (options.fromCluster) {
      const found = await collectClusterCrdSchemas(context, options.fromCluster.kubeContext, collected, findings);
      if (found === 0) context.output.err("the cluster has no CustomResourceDefinition");
    }
    written.push(await writeCrdSchemas(outDir, collected.schemas()));
  }

  if (options.kubernetesOpenApi && kubernetesVersion) {
    written.push(await writeKubernetesSchemas(context, outDir, options.kubernetesOpenApi, kubernetesVersion, findings));
  }

  context.output.out(formatSummary(context, outDir, written));
  if (findings.length > 0) context.output.out(formatFindingsForTerminal(findings));
  return { written, findings, exitCode: hasErrors(findings) ? ExitCode.findings : ExitCode.ok };
}

/** `1.35.4` or `v1.35.4` → `v1.35.4`, as kubeconform's `{{ .NormalizedKubernetesVersion }}`. */
export function normalizeKubernetesVersion(version: string | undefined): string {
  if (version === undefined) {
    throw new UserError("--kubernetes-openapi needs --kubernetes-version", {
      hint: "swagger.json does not say which version it describes; pass the release it came from, e.g. --kubernetes-version 1.35.4",
    });
  }
  if (version === "master") return version;
  const match = /^v?(\d+\.\d+\.\d+)$/.exec(version.trim());
  if (!match) throw new UserError(`--kubernetes-version must look like 1.35.4, got "${version}"`);
  return `v${match[1]}`;
}

/** `kubernetes/v1.35.4-standalone-strict`: the folder kubeconform's default location template names. */
export function kubernetesSchemaFolder(normalizedVersion: string): string {
  return path.posix.join("kubernetes", `${normalizedVersion}-standalone-strict`);
}

interface SourcedSchema {
  schema: CustomResourceSchema;
  source: string;
  json: string;
}

/** CRD schemas by output file; a second, different definition of the same version wins with a warning. */
class CrdSchemaSet {
  readonly #byFile = new Map<string, SourcedSchema>();

  add(schema: CustomResourceSchema, source: string, findings: Finding[]): void {
    const json = `${JSON.stringify(schema.schema, null, 2)}\n`;
    const previous = this.#byFile.get(schema.fileName);
    if (previous && previous.json !== json) {
      findings.push({
        severity: "warning",
        check: "schemas/conflicting-crds",
        file: source,
        message: `${schema.kind} ${schema.group}/${schema.version} is also defined, differently, in ${previous.source}; the schema from ${source} is used`,
      });
    }
    this.#byFile.set(schema.fileName, { schema, source, json });
  }

  schemas(): SourcedSchema[] {
    return [...this.#byFile.values()].sort((a, b) => a.schema.fileName.localeCompare(b.schema.fileName));
  }
}

/** Lists the CRDs a cluster serves (read-only: list on customresourcedefinitions) and converts them. */
async function collectClusterCrdSchemas(context: TaskContext, kubeContext: string | undefined, collected: CrdSchemaSet, findings: Finding[]): Promise<number> {
  const connection = await loadClusterConnection({ env: context.env, runner: context.runner, ...(kubeContext ? { context: kubeContext } : {}) });
  for (const password of proxyPasswords(connection.proxyUrl)) context.redactor.add(password);
  const client = (context.kubernetes ?? createKubernetesClient)(connection);
  try {
    const resource = await client.resourceFor("apiextensions.k8s.io/v1", "CustomResourceDefinition");
    if (!resource) throw new UserError(`${client.server} serves no apiextensions.k8s.io/v1 CustomResourceDefinition API`);
    const crds = await client.list(resource, {});
    const source = `cluster ${client.contextName}`;
    for (const crd of crds) {
      const metadata = isRecord(crd["metadata"]) ? crd["metadata"] : {};
      const name = `${source}: ${scalarText(metadata["name"], "?")}`;
      // The API returns CRDs without apiVersion/kind on list items of some servers; they are CRDs by construction.
      const object = { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", ...crd };
      try {
        for (const schema of crdToJsonSchemas(object).schemas) collected.add(schema, name, findings);
      } catch (error) {
        findings.push({ severity: "error", check: "schemas/invalid-crd", file: name, message: (error as Error).message });
      }
    }
    return crds.length;
  } finally {
    client.close();
  }
}

/** Reads every YAML document under a file or folder and converts its CRDs; returns how many CRDs it found. */
async function collectCrdSchemas(context: TaskContext, input: string, collected: CrdSchemaSet, findings: Finding[]): Promise<number> {
  const absolute = path.resolve(context.cwd, input);
  const files = await yamlFilesAt(absolute, input);
  let crds = 0;
  for (const file of files) {
    const source = displayPath(context, file);
    const parsed = parseYaml(await readFile(file, "utf8"), source);
    findings.push(...parsed.findings);
    for (const document of parsed.documents) {
      for (const object of objectsOf(document.value)) {
        if (!isCustomResourceDefinition(object)) continue;
        crds += 1;
        let conversion: CrdConversion;
        try {
          conversion = crdToJsonSchemas(object);
        } catch (error) {
          findings.push({ severity: "error", check: "schemas/invalid-crd", file: source, line: document.line, message: (error as Error).message });
          continue;
        }
        for (const schema of conversion.schemas) collected.add(schema, source, findings);
        for (const skipped of conversion.skipped.filter((s) => s.reason !== "not served")) {
          findings.push({
            severity: "warning",
            check: "schemas/no-openapi-schema",
            file: source,
            line: document.line,
            message: `${conversion.name} version ${skipped.version} has ${skipped.reason}: kubeconform will not find a schema for it`,
          });
        }
      }
    }
  }
  return crds;
}

async function yamlFilesAt(absolute: string, given: string): Promise<string[]> {
  let stats;
  try {
    stats = await stat(absolute);
  } catch (error) {
    throw new UserError(`${given} does not exist`, { hint: "give a YAML file or a folder of YAML files holding CustomResourceDefinitions", cause: error });
  }
  if (!stats.isDirectory()) return [absolute];
  const files = withoutChartFiles(await listRepoFiles(absolute));
  return files.filter(isYamlFile).map((file) => path.join(absolute, file));
}

/** A document, or the items of a `kind: List` document (what `kubectl get crd -o yaml` prints). */
function objectsOf(value: unknown): unknown[] {
  if (isRecord(value) && Array.isArray(value["items"]) && typeof value["kind"] === "string" && value["kind"].endsWith("List")) return value["items"];
  return [value];
}

async function writeCrdSchemas(outDir: string, sourced: readonly SourcedSchema[]): Promise<WrittenSchemas> {
  const perGroup = new Map<string, number>();
  for (const { schema, json } of sourced) {
    const target = path.join(outDir, CRD_FOLDER, schema.fileName);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, json);
    perGroup.set(schema.group, (perGroup.get(schema.group) ?? 0) + 1);
  }
  return { folder: CRD_FOLDER, perGroup };
}

async function writeKubernetesSchemas(
  context: TaskContext,
  outDir: string,
  openApiFile: string,
  normalizedVersion: string,
  findings: Finding[],
): Promise<WrittenSchemas> {
  const source = path.resolve(context.cwd, openApiFile);
  let document: unknown;
  try {
    document = JSON.parse(await readFile(source, "utf8"));
  } catch (error) {
    throw new UserError(`cannot read ${openApiFile} as JSON: ${(error as Error).message}`, {
      hint: "pass Kubernetes' api/openapi-spec/swagger.json (see toolchain/kubernetes-schemas.sh)",
      cause: error,
    });
  }
  let conversion: OpenApiConversion;
  try {
    conversion = openApiToJsonSchemas(document);
  } catch (error) {
    throw new UserError(`${openApiFile}: ${(error as Error).message}`, { cause: error });
  }
  for (const problem of conversion.problems) {
    findings.push({ severity: "warning", check: "schemas/openapi-definition", file: displayPath(context, source), message: problem });
  }
  const folder = kubernetesSchemaFolder(normalizedVersion);
  await mkdir(path.join(outDir, folder), { recursive: true });
  const perGroup = new Map<string, number>();
  const groupVersions: Record<string, string[]> = {};
  for (const { gvk, fileName, schema } of conversion.schemas) {
    // Compact: these are for kubeconform only, not for review, and are not committed.
    await writeFile(path.join(outDir, folder, fileName), JSON.stringify(schema));
    perGroup.set(gvk.group, (perGroup.get(gvk.group) ?? 0) + 1);
    (groupVersions[apiVersionOf(gvk)] ??= []).push(gvk.kind);
  }
  // What the release serves, so that checks know Kubernetes' own API groups without a hand list.
  const sorted = Object.fromEntries(Object.keys(groupVersions).sort().map((apiVersion) => [apiVersion, [...new Set(groupVersions[apiVersion])].sort()]));
  await writeFile(path.join(outDir, folder, KUBERNETES_API_INDEX), `${JSON.stringify({ kubernetesVersion: normalizedVersion, groupVersions: sorted }, null, 1)}\n`);
  return { folder, perGroup };
}

function formatSummary(context: TaskContext, outDir: string, written: readonly WrittenSchemas[]): string {
  const rows: string[][] = [];
  let total = 0;
  for (const { folder, perGroup } of written) {
    for (const [group, count] of [...perGroup].sort(([a], [b]) => a.localeCompare(b))) {
      rows.push([folder, group === "" ? "core" : group, String(count)]);
      total += count;
    }
  }
  const where = displayPath(context, outDir);
  if (rows.length === 0) return `no schemas written to ${where}`;
  return `${formatTable(["FOLDER", "GROUP", "SCHEMAS"], rows)}\n${total} schemas written to ${where}`;
}

function displayPath(context: TaskContext, file: string): string {
  const relative = path.relative(context.cwd, path.resolve(context.cwd, file));
  return relative === "" ? "." : relative.startsWith("..") ? path.resolve(context.cwd, file) : relative;
}
