// `gitops-ci check`: the main job. Every check that exists over every overlay of the plan, one
// summary per layer × environment, and machine-readable results for the report job.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { TaskContext } from "../../core/context.ts";
import { ExitCode } from "../../core/errors.ts";
import { countBySeverity, hasErrors, type Finding } from "../../core/findings.ts";
import { discoverFleet } from "../../core/fleet/discover.ts";
import type { Fleet } from "../../core/fleet/model.ts";
import { formatFindingsForTerminal, formatTable } from "../../core/report/terminal.ts";
import { createBuiltInKindCheck } from "../../core/schemas/locations.ts";
import { renderFleet, writeRenderedArtifacts } from "../render/index.ts";
import { DEFAULT_KUBERNETES_VERSION, validateRendered } from "../validate/index.ts";
import { checkLayerContracts } from "../validate/layer-contracts.ts";
import { checkRepositoryStandards } from "../validate/repository-standards.ts";
import { applyRules } from "../../core/rules.ts";

export interface CheckOptions {
  dir: string;
  configFile?: string;
  outDir?: string;
  json: boolean;
  /** Overrides the config's kubernetesVersion. */
  kubernetesVersion?: string;
  /** Missing schemas are errors, not warnings. */
  strict?: boolean;
}

export interface OverlaySummary {
  environment: string;
  layer: string;
  path: string;
  order: number;
  rendered: boolean;
  objects: number;
  errors: number;
  warnings: number;
}

export interface CheckReport {
  tool: "gitops-ci";
  root: string;
  source: Fleet["source"];
  layerOrder: string[];
  summary: OverlaySummary[];
  findings: Finding[];
}

export interface CheckResult {
  report: CheckReport;
  exitCode: ExitCode;
}

export async function check(context: TaskContext, options: CheckOptions): Promise<CheckResult> {
  const root = path.resolve(context.cwd, options.dir);
  const discovery = await discoverFleet(root, options.configFile ? { configFile: options.configFile } : {});
  const { fleet } = discovery;
  context.output.err(`Layer order: ${fleet.layers.map((layer) => layer.name).join(" -> ")} (${fleet.source})`);

  const rendered = await renderFleet(context, fleet);
  const config = discovery.config;
  const validation = await validateRendered(context, fleet, rendered, {
    kubernetesVersion: options.kubernetesVersion ?? config?.kubernetesVersion ?? DEFAULT_KUBERNETES_VERSION,
    strict: options.strict ?? false,
    configuredSchemaLocations: config?.schemaLocations ?? [],
    generatedCrdDirs: [],
  });
  const contracts = checkLayerContracts(fleet, rendered, {
    isBuiltIn: createBuiltInKindCheck(context.toolchain.toolsDir, validation.kubernetesVersion),
    preinstalled: config?.preinstalledCrds ?? [],
    providedBy: config?.crdsProvidedBy ?? {},
  });
  const standards = await checkRepositoryStandards(fleet, rendered);
  const findings = applyRules(
    [...discovery.findings, ...rendered.flatMap((result) => result.findings), ...validation.findings, ...contracts, ...standards],
    config?.rules ?? {},
  );

  const summary = fleet.overlays
    .map<OverlaySummary>((overlay) => {
      const result = rendered.find((r) => r.overlay === overlay);
      const own = findings.filter((f) => f.environment === overlay.environment && f.layer === overlay.layer);
      const counts = countBySeverity(own);
      return {
        environment: overlay.environment,
        layer: overlay.layer,
        path: overlay.path,
        order: overlay.order,
        rendered: result?.ok ?? false,
        objects: result?.manifests.length ?? 0,
        errors: counts.error,
        warnings: counts.warning,
      };
    })
    .sort((a, b) => layerRank(fleet, a.layer) - layerRank(fleet, b.layer) || a.environment.localeCompare(b.environment));

  const report: CheckReport = {
    tool: "gitops-ci",
    root,
    source: fleet.source,
    layerOrder: fleet.layers.map((layer) => layer.name),
    summary,
    findings,
  };

  if (options.outDir) {
    const outDir = path.resolve(context.cwd, options.outDir);
    await mkdir(outDir, { recursive: true });
    await writeRenderedArtifacts(outDir, rendered, context.redactor);
    // Serialised through the redactor: the report is an artifact anyone in the project can open.
    await writeFile(path.join(outDir, "report.json"), context.redactor.redact(`${JSON.stringify(report, null, 2)}\n`));
  }

  if (options.json) {
    context.output.out(JSON.stringify(report, null, 2));
  } else {
    context.output.out(formatSummary(report));
    if (findings.length > 0) context.output.out(`\n${formatFindingsForTerminal(findings)}`);
  }
  return { report, exitCode: hasErrors(findings) ? ExitCode.findings : ExitCode.ok };
}

export function formatSummary(report: CheckReport): string {
  const rows = report.summary.map((row) => [
    row.layer,
    row.environment,
    row.path,
    row.rendered ? String(row.objects) : "-",
    String(row.errors),
    String(row.warnings),
    row.errors > 0 ? "FAIL" : row.warnings > 0 ? "warn" : "ok",
  ]);
  const totals = countBySeverity(report.findings);
  return [
    formatTable(["LAYER", "ENV", "OVERLAY", "OBJECTS", "ERRORS", "WARNINGS", "STATUS"], rows),
    "",
    `${report.summary.length} overlays, ${totals.error} errors, ${totals.warning} warnings`,
  ].join("\n");
}

function layerRank(fleet: Fleet, layer: string): number {
  return fleet.layers.findIndex((candidate) => candidate.name === layer);
}
