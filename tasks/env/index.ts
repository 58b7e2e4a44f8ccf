// `gitops-ci env add <name> --from <env>`: the usual "add an environment" workflow. Copies
// the source environment's overlay in every layer, sets the nameSuffix (and renames what carries
// the old environment's name), marks every address, host name, e-mail address, URL and secret file
// it copied with `# gitops-ci: set for <name> (copied from <env>)`, and lists them. `gitops-ci
// check` reports each marker left (standards/unfilled-env-value) until someone sets the value.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseDocument } from "yaml";
import type { TaskContext } from "../../core/context.ts";
import { ExitCode, UserError } from "../../core/errors.ts";
import { discoverFleet, type FleetDiscovery } from "../../core/fleet/discover.ts";
import type { Overlay } from "../../core/model/fleet.ts";
import { copyOverlay, type RenamedValue } from "./environment-copy.ts";
import { findMarkers, type MarkedValue } from "../../core/promote/markers.ts";
import { isDirectory, pathExists } from "../../core/repo-files.ts";
import { formatTable } from "../../core/report/terminal.ts";
import { serialize } from "../../core/promote/yaml-workspace.ts";
import { readOverlayFiles, writeOverlayFiles } from "../../core/promote/overlay-files.ts";

export interface EnvAddOptions {
  dir: string;
  configFile?: string;
  /** The new environment. */
  name: string;
  /** The environment to copy. */
  from: string;
  json: boolean;
}

export interface EnvAddResult {
  exitCode: ExitCode;
  environment: string;
  from: string;
  overlays: { layer: string; path: string }[];
  /** Repository-relative files written (the config file included when it lists environments). */
  files: string[];
  /** Values to set before the environment is ready, with file and line. */
  values: MarkedValue[];
  renamed: RenamedValue[];
}

const ENVIRONMENT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export async function envAdd(context: TaskContext, options: EnvAddOptions): Promise<EnvAddResult> {
  const root = path.resolve(context.cwd, options.dir);
  const discovery = await discoverFleet(context, root, options.configFile ? { configFile: options.configFile } : {});
  const { fleet } = discovery;
  const known = fleet.environments.map((environment) => environment.name);
  if (!ENVIRONMENT_NAME.test(options.name)) {
    throw new UserError(`"${options.name}" is not a usable environment name`, {
      hint: "lowercase letters, digits and dashes: it becomes a folder and the nameSuffix -<name>",
    });
  }
  if (known.includes(options.name))
    throw new UserError(`environment ${options.name} already exists`, { hint: `environments: ${known.join(", ")}` });
  if (!known.includes(options.from))
    throw new UserError(`--from ${options.from} is not an environment of this repository`, { hint: `one of: ${known.join(", ")}` });

  const sources = fleet.overlays.filter((overlay) => overlay.environment === options.from);
  const plans = sources.map((overlay) => ({ overlay, path: newOverlayPath(discovery, overlay, options.name) }));
  for (const plan of plans) {
    if (await isDirectory(path.join(root, plan.path)))
      throw new UserError(`${plan.path} already exists`, { hint: "remove it, or pick another name" });
  }

  const files: string[] = [];
  const renamed: RenamedValue[] = [];
  const unparsed: string[] = [];
  for (const plan of plans) {
    const copy = copyOverlay(await readOverlayFiles(root, plan.overlay.path, options.from), options.name);
    files.push(...(await writeOverlayFiles(root, plan.path, copy.files)));
    renamed.push(...copy.renamed.map((entry) => ({ ...entry, file: path.posix.join(plan.path, entry.file) })));
    unparsed.push(...copy.unparsed.map((file) => path.posix.join(plan.path, file)));
  }
  const configFile = await addToConfig(root, discovery, options.name);
  if (configFile) files.push(configFile);

  const values: MarkedValue[] = [];
  for (const file of files) values.push(...findMarkers(await readFile(path.join(root, file), "utf8"), file));
  const result: EnvAddResult = {
    exitCode: ExitCode.ok,
    environment: options.name,
    from: options.from,
    overlays: plans.map((plan) => ({ layer: plan.overlay.layer, path: plan.path })),
    files,
    values,
    renamed,
  };
  for (const file of unparsed) context.output.err(`warning: ${file} is not valid YAML: copied unchanged, nothing in it is marked`);

  if (options.json) {
    context.output.out(JSON.stringify(result, null, 2));
    return result;
  }
  const lines = [
    `Created environment ${options.name} from ${options.from}:`,
    ...plans.map((plan) => `  ${plan.overlay.layer}: ${plan.path}`),
    ...(configFile ? [`  ${configFile}: ${options.name} added to environments`] : []),
  ];
  if (renamed.length > 0) {
    lines.push("", `Renamed ${renamed.length} value${renamed.length === 1 ? "" : "s"} that carry the environment's name:`);
    lines.push(...unique(renamed.map((entry) => `  ${entry.from} -> ${entry.to}`)));
  }
  if (values.length > 0) {
    lines.push(
      "",
      `${values.length} value${values.length === 1 ? "" : "s"} to set for ${options.name}, each marked "# gitops-ci: set for ${options.name} (copied from ${options.from})":`,
      formatTable(
        ["FILE:LINE", "KIND", "VALUE"],
        values.map((value) => [
          `${value.file}:${value.line}`,
          value.kind,
          value.kind === "secret" ? "(whole file: re-create and encrypt it)" : value.value,
        ]),
      ),
      "",
      `Set each value, then remove its marker; \`gitops-ci check\` reports every marker left as standards/unfilled-env-value.`,
    );
  }
  const platform = `infrastructure/02-platforms/k8s-${options.from}`;
  if (await pathExists(path.join(root, platform))) {
    lines.push(`Then create infrastructure/02-platforms/k8s-${options.name} (Terraform) from ${platform}, pointing at the new overlays.`);
  }
  context.output.out(lines.join("\n"));
  return result;
}

/** Where the new environment's overlay of a layer goes, following the layout the fleet uses. */
function newOverlayPath(discovery: FleetDiscovery, overlay: Overlay, name: string): string {
  const { fleet, config } = discovery;
  if (fleet.source === "config") {
    const layer = config?.layers?.find((candidate) => candidate.name === overlay.layer);
    const template = layer?.overlays ?? (layer?.path ? `${layer.path}/overlays/{env}` : undefined);
    if (template) return template.replaceAll("{env}", name);
  }
  if (fleet.source === "layout-a" || fleet.source === "config") {
    const layer = fleet.layers.find((candidate) => candidate.name === overlay.layer);
    if (layer?.path) return `${layer.path}/overlays/${name}`;
  }
  if (fleet.source === "layout-b") return `clusters/${name}/${overlay.layer}`;
  throw new UserError(
    `env add cannot place a new environment in a fleet found from ${fleet.source === "flux-clusters" ? "the clusters Flux bootstraps" : fleet.source}`,
    {
      hint: "copy the cluster's Flux Kustomizations and overlays by hand, or declare the layers (with overlays: <path with {env}>) in gitops-ci.yaml",
    },
  );
}

/** A config that lists its environments gets the new one, in the list's own style. */
async function addToConfig(root: string, discovery: FleetDiscovery, name: string): Promise<string | undefined> {
  const config = discovery.config;
  if (!config?.environments) return undefined;
  const text = await readFile(path.join(root, config.file), "utf8");
  const document = parseDocument(text);
  const environments = document.get("environments", true) as { items?: unknown[] } | undefined;
  if (!environments || !Array.isArray(environments.items)) return undefined;
  environments.items.push(document.createNode(name));
  await writeFile(path.join(root, config.file), serialize([document], text));
  return config.file;
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
