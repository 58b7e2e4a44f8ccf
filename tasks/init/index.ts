// `gitops-ci init`: a repository's first hour. Finds the fleet as `plan` does and shows it (clusters,
// Kustomizations in reconcile order, HelmReleases, SOPS rules), writes a gitops-ci.yaml only where
// discovery needs one, prints (or with --write adds) the .gitlab-ci.yml include, and lists the
// CI/CD variables to create. A second run changes nothing.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { isMap, isScalar, isSeq, parseDocument, type Document } from "yaml";
import { findConfigFile } from "../../core/config.ts";
import type { TaskContext } from "../../core/context.ts";
import { ExitCode, UserError } from "../../core/errors.ts";
import type { Finding } from "../../core/model/findings.ts";
import { discoverFleet } from "../../core/fleet/discover.ts";
import type { Fleet } from "../../core/model/fleet.ts";
import { formatFindingsForTerminal, formatTable } from "../../core/report/terminal.ts";
import { listRepoFiles, pathExists } from "../../core/repo-files.ts";
import { parseSopsConfig, SOPS_CONFIG_FILE, type SopsConfig } from "../../core/sops/creation-rules.ts";
import { recipientLabel, allRecipients } from "../../core/sops/recipients.ts";
import { renderFleet } from "../render/index.ts";
import { writeConfigFile, configReason } from "./config-file.ts";
import { ciInclude, type CiInclude } from "./ci-include.ts";
import { ciVariables, formatVariables } from "./ci-variables.ts";
import { scalarText } from "../../core/yaml-file.ts";

export interface InitOptions {
  dir: string;
  configFile?: string;
  /** Add the include to .gitlab-ci.yml (and write gitops-ci.yaml) instead of only printing it. */
  write: boolean;
  /** The component reference, `<fqdn>/<group>/gitops-ci/gitops-ci@<version>`. */
  component?: string;
  /** The task image of the same release. */
  image?: string;
  /** gitops-ci's own version: the default component and image tags. */
  version: string;
}

export interface HelmReleaseInfo {
  cluster: string;
  name: string;
  namespace: string;
  chart: string;
}

export interface InitResult {
  fleet: Fleet;
  findings: Finding[];
  helmReleases: HelmReleaseInfo[];
  sops: SopsConfig[];
  /** Files this run wrote (repository-relative); empty on a second run. */
  written: string[];
  include: CiInclude;
  exitCode: ExitCode;
}

const CI_FILE = ".gitlab-ci.yml";

export async function init(context: TaskContext, options: InitOptions): Promise<InitResult> {
  const root = path.resolve(context.cwd, options.dir);
  const { progress } = context;
  const discoveryOptions = options.configFile ? { configFile: options.configFile } : {};
  let discovery = await progress.phase("Discovering the fleet", () => discoverFleet(context, root, discoveryOptions));
  const written: string[] = [];
  const out = (text: string) => context.output.out(text);

  // gitops-ci.yaml: only where discovery cannot do without it.
  const existingConfig = discovery.config?.file ?? (await findConfigFile(root));
  const reason = existingConfig ? undefined : await configReason(root, discovery.fleet, discovery.findings);
  let configLine: string;
  if (existingConfig) {
    configLine = `${existingConfig}: kept as it is (delete it and run init again for a new one)`;
  } else if (reason) {
    if (options.write) {
      const file = await writeConfigFile(root, discovery.fleet, reason);
      written.push(file);
      // The file written must say what discovery found: the layers come from it from now on.
      const again = await discoverFleet(context, root, discoveryOptions);
      const before = discovery.fleet.overlays.map((overlay) => `${overlay.environment}/${overlay.layer} ${overlay.path}`);
      const after = again.fleet.overlays.map((overlay) => `${overlay.environment}/${overlay.layer} ${overlay.path}`);
      if (again.fleet.source !== "config" || JSON.stringify(before.sort()) !== JSON.stringify(after.sort())) {
        throw new UserError(`${file} was written but does not give the same fleet (source ${again.fleet.source})`, {
          hint: `check ${file} by hand, or delete it`,
        });
      }
      discovery = again;
      configLine = `${file}: written (${reason.summary}); review it and commit it`;
    } else {
      configLine = `gitops-ci.yaml: needed (${reason.summary}); \`gitops-ci init --write\` writes it`;
    }
  } else {
    configLine = `gitops-ci.yaml: not needed (${describeSource(discovery.fleet)} says everything gitops-ci needs)`;
  }
  const { fleet, findings } = discovery;

  const rendered = await progress.phase("Rendering", () => renderFleet(context, fleet));
  const helmReleases = rendered.flatMap((result) =>
    result.manifests
      .filter(
        (manifest) =>
          manifest.object["kind"] === "HelmRelease" && scalarText(manifest.object["apiVersion"]).startsWith("helm.toolkit.fluxcd.io/"),
      )
      .map((manifest) => helmReleaseInfo(result.overlay.environment, manifest.object)),
  );
  const sops = await sopsConfigs(root);
  const include = ciInclude(fleet, discovery.config, {
    version: options.version,
    ...(options.component ? { component: options.component } : {}),
    ...(options.image ? { image: options.image } : {}),
  });

  out(formatFleet(fleet, helmReleases));
  const failed = rendered.filter((result) => !result.ok);
  if (failed.length > 0) {
    out(
      `\n${failed.length} of ${rendered.length} overlays did not render, so their HelmReleases are not listed: ${failed.map((result) => `${result.overlay.environment}/${result.overlay.layer}`).join(", ")} (\`gitops-ci check\` says why)`,
    );
  }
  out(`\n${formatSops(sops)}`);
  out(`\n${configLine}`);

  // .gitlab-ci.yml: the include, printed, or added when asked.
  const ciPath = path.join(root, CI_FILE);
  const ciText = (await pathExists(ciPath)) ? await readFile(ciPath, "utf8") : undefined;
  const existing = ciText === undefined ? undefined : parseCiFile(ciText);
  if (existing && hasGitopsCiInclude(existing)) {
    out(`${CI_FILE}: already includes gitops-ci, kept as it is. The include for what init found:\n\n${indent(include.yaml)}`);
  } else if (options.write) {
    await writeFile(ciPath, existing ? addInclude(existing, include) : newCiFile(include));
    written.push(CI_FILE);
    out(`${CI_FILE}: ${existing ? "include added" : "written"}:\n\n${indent(include.yaml)}`);
  } else {
    out(`${CI_FILE}: add this (\`gitops-ci init --write\` does it):\n\n${indent(include.yaml)}`);
  }
  for (const note of include.notes) out(`  note: ${note}`);

  out(`\n${formatVariables(ciVariables(fleet, include, sops))}`);
  if (findings.length > 0) out(`\n${formatFindingsForTerminal(findings)}`);
  out(written.length > 0 ? `\nWrote ${written.join(", ")}.` : "\nNothing written.");
  return { fleet, findings, helmReleases, sops, written, include, exitCode: ExitCode.ok };
}

function describeSource(fleet: Fleet): string {
  switch (fleet.source) {
    case "flux-clusters":
      return "what each cluster's Flux sync applies";
    case "layout-a":
      return "the gitops/flux/<layer>/{base,overlays/<env>} layout";
    case "layout-b":
      return "the clusters/base/<layer> + clusters/<env>/<layer> layout";
    case "config":
      return "the config";
  }
}

function formatFleet(fleet: Fleet, helmReleases: readonly HelmReleaseInfo[]): string {
  const lines = [
    `Fleet ${fleet.root}`,
    `  found by:  ${describeSource(fleet)}${fleet.sourceFile ? ` (${fleet.sourceFile})` : ""}`,
    `  clusters:  ${fleet.environments.map((env) => env.name).join(", ")}`,
  ];
  for (const environment of fleet.environments) {
    const overlays = fleet.overlays.filter((overlay) => overlay.environment === environment.name);
    const releases = helmReleases.filter((release) => release.cluster === environment.name);
    lines.push(
      "",
      `${environment.name}: ${overlays.length} ${fleet.source === "flux-clusters" ? "Flux Kustomizations" : "layers"} in reconcile order, ${releases.length} HelmReleases`,
    );
    const rows = overlays.map((overlay) => [
      `  ${overlay.order}`,
      overlay.flux ? `${overlay.flux.namespace}/${overlay.flux.name}` : overlay.layer,
      overlay.path,
      overlay.dependsOn.length ? `after ${overlay.dependsOn.join(", ")}` : "",
    ]);
    lines.push(...formatTable(["  #", fleet.source === "flux-clusters" ? "KUSTOMIZATION" : "LAYER", "PATH", "ORDER"], rows).split("\n"));
    if (releases.length > 0) {
      lines.push("  HelmReleases:");
      const releaseRows = releases.map((release) => [`    ${release.namespace}/${release.name}`, release.chart]);
      lines.push(...formatTable(["    NAME", "CHART"], releaseRows).split("\n").slice(1));
    }
  }
  return lines.join("\n");
}

function helmReleaseInfo(cluster: string, object: Record<string, unknown>): HelmReleaseInfo {
  const metadata = (object["metadata"] ?? {}) as Record<string, unknown>;
  const spec = (object["spec"] ?? {}) as Record<string, unknown>;
  const chartSpec = ((spec["chart"] as Record<string, unknown> | undefined)?.["spec"] ?? {}) as Record<string, unknown>;
  const chartRef = spec["chartRef"] as Record<string, unknown> | undefined;
  const sourceRef = (chartSpec["sourceRef"] ?? {}) as Record<string, unknown>;
  const chart = chartRef
    ? `chartRef ${scalarText(chartRef["kind"], "?")}/${scalarText(chartRef["name"], "?")}`
    : `${scalarText(chartSpec["chart"], "?")}${chartSpec["version"] ? ` ${scalarText(chartSpec["version"])}` : ""} from ${scalarText(sourceRef["kind"], "?")}/${scalarText(sourceRef["name"], "?")}`;
  return { cluster, name: scalarText(metadata["name"], "?"), namespace: scalarText(metadata["namespace"], "default"), chart };
}

async function sopsConfigs(root: string): Promise<SopsConfig[]> {
  const files = (await listRepoFiles(root)).filter((file) => path.posix.basename(file) === SOPS_CONFIG_FILE).sort();
  return Promise.all(files.map(async (file) => parseSopsConfig(await readFile(path.join(root, file), "utf8"), file)));
}

function formatSops(configs: readonly SopsConfig[]): string {
  if (configs.length === 0) return "SOPS: no .sops.yaml (no creation rules: nothing needs the age key)";
  const lines = ["SOPS creation rules:"];
  for (const config of configs) {
    if (!config.rules?.length) {
      lines.push(`  ${config.file}: no creation_rules`);
      continue;
    }
    for (const rule of config.rules) {
      const keys = allRecipients(rule.groups).map(recipientLabel);
      lines.push(
        `  ${config.file}:${rule.line}  ${rule.pathRegex ? `path_regex ${rule.pathRegex}` : "every file"} -> ${keys.join(", ") || "no keys"}`,
      );
    }
    if (config.findings.length > 0)
      lines.push(
        ...formatFindingsForTerminal(config.findings)
          .split("\n")
          .map((line) => `  ${line}`),
      );
  }
  return lines.join("\n");
}

/** A .gitlab-ci.yml that YAML cannot read is the user's to fix: init never rewrites it. */
function parseCiFile(text: string): Document {
  const document = parseDocument(text);
  if (document.errors.length > 0) {
    const error = document.errors[0]!;
    throw new UserError(`${CI_FILE}:${error.linePos?.[0].line ?? 1}: ${error.message.split("\n")[0]}`, {
      hint: "fix the file, then run init again",
    });
  }
  return document;
}

function hasGitopsCiInclude(document: Document): boolean {
  const include = document.get("include", true);
  const items = isSeq(include) ? include.items : include === undefined ? [] : [include];
  return items.some((item) => {
    if (isScalar(item)) return /gitops-ci/.test(String(item.value));
    if (!isMap(item)) return false;
    return ["component", "project", "file", "local", "remote"].some((key) => /gitops-ci/.test(JSON.stringify(item.get(key) ?? "")));
  });
}

function addInclude(document: Document, include: CiInclude): string {
  // Only the new entry is formatted: the user's own includes stay as they are.
  const entry = document.createNode(include.entry);
  flowArrays(entry);
  const existing = document.get("include", true);
  if (existing === undefined) document.set("include", document.createNode([]));
  else if (!isSeq(existing)) document.set("include", document.createNode([existing]));
  const seq = document.get("include", true);
  if (isSeq(seq)) seq.add(entry);
  return String(document);
}

/** `environments: [a, b]` on one line, as people write them. */
function flowArrays(node: unknown): void {
  if (isMap(node)) for (const pair of node.items) flowArrays(pair.value);
  if (isSeq(node) && node.items.every((item) => isScalar(item))) node.flow = true;
  else if (isSeq(node)) for (const item of node.items) flowArrays(item);
}

function newCiFile(include: CiInclude): string {
  return [
    "# GitLab CI/CD for this Flux repository (written by `gitops-ci init`).",
    "workflow:",
    "  rules:                                   # merge request pipelines, not duplicate branch pipelines",
    '    - if: $CI_PIPELINE_SOURCE == "merge_request_event"',
    "    - if: $CI_COMMIT_BRANCH && $CI_OPEN_MERGE_REQUESTS",
    "      when: never",
    "    - if: $CI_COMMIT_BRANCH",
    "",
    include.yaml,
  ].join("\n");
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");
}
