// `gitops-ci plan`: environments × layers × overlay paths, in reconcile order.
import path from "node:path";
import type { TaskContext } from "../../core/context.ts";
import { ExitCode } from "../../core/errors.ts";
import { hasErrors, type Finding } from "../../core/model/findings.ts";
import { discoverFleet } from "../../core/fleet/discover.ts";
import type { Fleet } from "../../core/model/fleet.ts";
import { formatFindingsForTerminal, formatTable } from "../../core/report/terminal.ts";

export interface PlanOptions {
  dir: string;
  configFile?: string;
  json: boolean;
}

export interface PlanResult {
  fleet: Fleet;
  findings: Finding[];
  exitCode: ExitCode;
}

export async function plan(context: TaskContext, options: PlanOptions): Promise<PlanResult> {
  const root = path.resolve(context.cwd, options.dir);
  const { fleet, findings } = await context.progress.phase("Discovering the fleet", () =>
    discoverFleet(context, root, options.configFile ? { configFile: options.configFile } : {}),
  );
  if (options.json) {
    context.output.out(JSON.stringify(planAsJson(fleet, findings), null, 2));
  } else {
    context.output.out(formatPlan(fleet));
    if (findings.length > 0) context.output.out(`\n${formatFindingsForTerminal(findings)}`);
  }
  return { fleet, findings, exitCode: hasErrors(findings) ? ExitCode.findings : ExitCode.ok };
}

export function formatPlan(fleet: Fleet): string {
  const source = fleet.sourceFile ? `${fleet.source} (${fleet.sourceFile})` : fleet.source;
  const rows = fleet.overlays.map((overlay) => [
    overlay.environment,
    String(overlay.order),
    overlay.layer,
    overlay.path,
    overlay.dependsOn.join(", ") || "-",
  ]);
  return [
    `Fleet ${fleet.root}`,
    `  source:       ${source}`,
    `  environments: ${fleet.environments.map((env) => env.name).join(", ")}`,
    `  layer order:  ${fleet.layers.map((layer) => layer.name).join(" -> ")}`,
    "",
    formatTable(["ENVIRONMENT", "#", "LAYER", "OVERLAY", "DEPENDS ON"], rows),
  ].join("\n");
}

export function planAsJson(fleet: Fleet, findings: readonly Finding[]): object {
  return {
    root: fleet.root,
    source: fleet.source,
    ...(fleet.sourceFile ? { sourceFile: fleet.sourceFile } : {}),
    environments: fleet.environments,
    layers: fleet.layers,
    overlays: fleet.overlays,
    findings,
  };
}
