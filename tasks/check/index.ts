// `gitops-ci check`: the main job. Every check that exists over every overlay of the plan, one
// summary per layer × environment, and machine-readable results for the report job.
import path from "node:path";
import type { TaskContext } from "../../core/context.ts";
import { describeError, ExitCode, UserError } from "../../core/errors.ts";
import { countBySeverity, hasErrors, type Finding } from "../../core/model/findings.ts";
import { discoverFleet } from "../../core/fleet/discover.ts";
import type { Fleet, Overlay } from "../../core/model/fleet.ts";
import { changedSelection } from "../../core/changes/changed-selection.ts";
import type { OverlayInputs } from "../../core/changes/overlay-inputs.ts";
import type { CheckReportInput, CheckSummaryRow } from "../../core/report/summary.ts";
import { formatFindingsForTerminal } from "../../core/report/terminal.ts";
import { findingsAfterSummary, formatCheckSummary } from "./terminal-summary.ts";
import { writeReports } from "../../core/report/write-reports.ts";
import { createBuiltInKindCheck } from "../../core/schemas/locations.ts";
import { renderFleet, writeRenderedArtifacts } from "../render/index.ts";
import { validateRendered } from "../validate/index.ts";
import { defaultKubernetesVersion } from "../../core/toolchain.ts";
import { checkLayerContracts } from "../validate/layer-contracts.ts";
import { checkRepositoryStandards } from "../validate/repository-standards.ts";
import { checkUnfilledEnvValues } from "../validate/unfilled-env-values.ts";
import { checkSecrets } from "../secrets/index.ts";
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
  /** Check only the overlays whose inputs changed since this git revision, and their dependents. */
  changedSince?: string;
  /** Check only these overlays, as `ENV/LAYER` (one CI job per overlay); combines with changedSince. */
  only?: readonly string[];
}

/** A summary row, plus whether --changed-since left the overlay out. */
export interface OverlaySummary extends CheckSummaryRow {
  checked: boolean;
}

/** Families of checks `check` runs on every overlay (a finding's check id starts with one). */
const CHECK_FAMILIES = ["fleet", "render", "helm", "yaml", "validate", "contracts", "standards", "secrets", "internal"] as const;

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

/** The reconcile order in one line while it fits; per cluster as a count when it does not. */
function describeOrder(fleet: Fleet): string {
  if (fleet.layers.length <= 8) return `Layer order: ${fleet.layers.map((layer) => layer.name).join(" -> ")} (${fleet.source})`;
  const counts = fleet.environments.map(
    (env) => `${env.name} ${fleet.overlays.filter((overlay) => overlay.environment === env.name).length}`,
  );
  return `Kustomizations in dependsOn order, per cluster: ${counts.join(", ")} (${fleet.source})`;
}

export async function check(context: TaskContext, options: CheckOptions): Promise<CheckResult> {
  const root = path.resolve(context.cwd, options.dir);
  const { progress } = context;
  const discovery = await progress.phase("Discovering the fleet", () =>
    discoverFleet(context, root, options.configFile ? { configFile: options.configFile } : {}),
  );
  const { fleet } = discovery;
  context.output.err(describeOrder(fleet));

  const config = discovery.config;
  const changedSelection = options.changedSince
    ? await selectChangedOverlays(context, fleet, options.changedSince, config?.file)
    : undefined;
  const changed = changedSelection?.overlays ?? new Set(fleet.overlays);
  const only = options.only?.length ? selectOnlyOverlays(fleet, options.only) : undefined;
  const selected = only ? new Set([...changed].filter((overlay) => only.has(overlay))) : changed;
  // Layers a selected overlay depends on are rendered too: the layer contracts need their CRDs and Namespaces.
  const needed = new Set([...selected].flatMap((overlay) => [overlay, ...ancestorOverlays(fleet, overlay)]));
  const kubernetesVersion = options.kubernetesVersion ?? config?.kubernetesVersion ?? (await defaultKubernetesVersion());
  // Charts see the same Kubernetes version as .Capabilities.KubeVersion as validation uses.
  const allRendered = await progress.phase("Rendering", () =>
    renderFleet(context, fleet, (overlay) => needed.has(overlay), { kubeVersion: kubernetesVersion }),
  );
  const rendered = allRendered.filter((result) => selected.has(result.overlay));
  // A check that fails to finish (a tool that cannot run, our own bug) is a finding: the others still report.
  const failures: Finding[] = [];
  const guarded = <T>(stage: string, fallback: T, run: () => Promise<T> | T): Promise<T> => runGuarded(stage, fallback, run, failures);
  const validation = await progress.phase("Validating", () =>
    guarded("validate", { findings: [] as Finding[], kubernetesVersion, flux: new Map() }, () =>
      validateRendered(context, fleet, rendered, {
        kubernetesVersion,
        strict: options.strict ?? false,
        configuredSchemaLocations: config?.schemaLocations ?? [],
      }),
    ),
  );
  const { contracts, standards } = await progress.phase("Layer contracts and repository standards", async () => {
    const contracts = await guarded("layer contracts", [] as Finding[], () =>
      checkLayerContracts(fleet, allRendered, {
        isBuiltIn: createBuiltInKindCheck(context.toolchain.toolsDir, validation.kubernetesVersion),
        preinstalled: config?.preinstalledCrds ?? [],
        providedBy: config?.crdsProvidedBy ?? {},
      }),
    );
    // Overlay inputs decide which overlays a YAML syntax error belongs to: --changed-since has them already.
    const standardsOptions = {
      concurrency: context.concurrency * 4,
      ...(changedSelection ? { overlayInputs: changedSelection.inputs } : {}),
    };
    const standards = await guarded("repository standards", [] as Finding[], async () => [
      ...(await checkRepositoryStandards(fleet, allRendered, standardsOptions)),
      ...(await checkUnfilledEnvValues(fleet)),
    ]);
    return { contracts, standards };
  });
  const secrets = await progress.phase("Secrets", () =>
    guarded("secrets", { findings: [] as Finding[], decryption: "skipped-no-key" as const }, () =>
      checkSecrets(context, { root, rendered }),
    ),
  );
  const inChangedScope = (finding: Finding) =>
    finding.environment && finding.layer
      ? [...selected].some((overlay) => overlay.environment === finding.environment && overlay.layer === finding.layer)
      : [...selected].some(
          (overlay) =>
            finding.file === undefined || isWithin(finding.file, overlay.path) || isWithin(overlay.path, finding.file.replace(/\/$/, "")),
        );
  const inScope = (finding: Finding) =>
    (!options.changedSince || inChangedScope(finding)) && (!only || ownedBySelected(fleet, selected, finding));
  const findings = applyRules(
    [
      ...discovery.findings,
      ...rendered.flatMap((result) => result.findings),
      ...validation.findings,
      ...contracts,
      ...standards,
      ...secrets.findings,
    ].filter(inScope),
    config?.rules ?? {},
  );
  findings.push(...failures);

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
        checked: selected.has(overlay),
        rendered: result?.ok ?? false,
        objects: result?.manifests.length ?? 0,
        errors: counts.error,
        warnings: counts.warning,
      };
    })
    .sort((a, b) =>
      fleet.source === "flux-clusters"
        ? // Each cluster's Kustomizations in its own dependsOn order: clusters may differ.
          fleet.environments.findIndex((env) => env.name === a.environment) -
            fleet.environments.findIndex((env) => env.name === b.environment) || a.order - b.order
        : layerRank(fleet, a.layer) - layerRank(fleet, b.layer) || a.environment.localeCompare(b.environment),
    );

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
    await writeRenderedArtifacts(outDir, rendered, context.redactor);
    // report.json, junit.xml, gl-code-quality-report.json, report.md: every string redacted first.
    await writeReports(outDir, reportInput(report), context.redactor);
  }

  if (options.json) {
    context.output.out(JSON.stringify(report, null, 2));
  } else {
    const summaryOptions = {
      color: context.terminal.color,
      sections: context.terminal.sections,
      durations: new Map(rendered.map((result) => [`${result.overlay.environment}/${result.overlay.layer}`, result.durationMs])),
    };
    context.output.out(formatCheckSummary(report, summaryOptions));
    const listed = findingsAfterSummary(report, summaryOptions);
    if (listed.length > 0) context.output.out(`\n${formatFindingsForTerminal(listed)}`);
  }
  return { report, exitCode: failures.length > 0 ? ExitCode.couldNotRun : hasErrors(findings) ? ExitCode.findings : ExitCode.ok };
}

async function runGuarded<T>(stage: string, fallback: T, run: () => Promise<T> | T, failures: Finding[]): Promise<T> {
  try {
    return await run();
  } catch (error) {
    failures.push({
      severity: "error",
      check: "internal/check-failed",
      message: `the ${stage} check could not finish, so its findings are missing: ${describeError(error).split("\n").slice(0, 4).join(" ")}`,
      hint: "the other checks ran and are reported; the job fails (exit 2) until this one runs again",
    });
    return fallback;
  }
}

/** What the reporters see: the overlays this run checked, and every check family it ran. */
export function reportInput(report: CheckReport): CheckReportInput {
  return {
    summary: report.summary.filter((row) => row.checked),
    findings: report.findings,
    checks: CHECK_FAMILIES,
    layerOrder: report.layerOrder,
    source: report.source,
  };
}

async function selectChangedOverlays(
  context: TaskContext,
  fleet: Fleet,
  rev: string,
  configFile: string | undefined,
): Promise<{ overlays: Set<Overlay>; inputs: Map<string, OverlayInputs> }> {
  const { affected, changed, inputs } = await changedSelection(context, fleet, rev, configFile);
  context.output.err(
    `Changed since ${rev}${changed.mergeBase ? ` (merge base ${changed.base.slice(0, 12)})` : ""}: ${changed.files.length} files, ${affected.length} of ${fleet.overlays.length} overlays to check`,
  );
  for (const { overlay, reasons } of affected) {
    const shown = reasons.slice(0, 3).join("; ");
    context.output.err(`  ${overlay.environment}/${overlay.layer}: ${shown}${reasons.length > 3 ? `; +${reasons.length - 3} more` : ""}`);
  }
  return { overlays: new Set(affected.map((entry) => entry.overlay)), inputs };
}

/**
 * With `--only`, the job of the overlay a finding is about reports it: by environment and layer,
 * else by the overlay or layer folder of its file. A finding no overlay of the plan owns (a missing
 * overlay, a file outside the layers) goes to every job, so it cannot fall between them; the
 * report job merges the copies.
 */
export function ownedBySelected(fleet: Fleet, selected: ReadonlySet<Overlay>, finding: Finding): boolean {
  const inside = (file: string, folder: string) => file === folder || file.startsWith(`${folder.replace(/\/$/, "")}/`);
  let owners: Overlay[] = [];
  if (finding.environment || finding.layer) {
    owners = fleet.overlays.filter(
      (overlay) =>
        (!finding.environment || overlay.environment === finding.environment) && (!finding.layer || overlay.layer === finding.layer),
    );
  } else if (finding.file) {
    const file = finding.file;
    owners = fleet.overlays.filter((overlay) => inside(file, overlay.path));
    if (owners.length === 0) {
      const layers = new Set(fleet.layers.filter((layer) => layer.path && inside(file, layer.path)).map((layer) => layer.name));
      owners = fleet.overlays.filter((overlay) => layers.has(overlay.layer));
    }
  }
  return owners.length === 0 || owners.some((overlay) => selected.has(overlay));
}

/** `--only ENV/LAYER`: the named overlays; a name the plan does not have is a usage error. */
export function selectOnlyOverlays(fleet: Fleet, names: readonly string[]): Set<Overlay> {
  const picked = new Set<Overlay>();
  for (const name of names) {
    const [environment, layer, ...rest] = name.split("/");
    const found = fleet.overlays.find((overlay) => overlay.environment === environment && overlay.layer === layer);
    if (!environment || !layer || rest.length > 0 || !found) {
      const known = fleet.overlays.map((overlay) => `${overlay.environment}/${overlay.layer}`).join(", ");
      throw new UserError(`--only "${name}" is not an overlay of the plan`, {
        hint: `use ENV/LAYER, one of: ${known || "(the plan has no overlays)"}`,
      });
    }
    picked.add(found);
  }
  return picked;
}

function ancestorOverlays(fleet: Fleet, overlay: Overlay): Overlay[] {
  const result: Overlay[] = [];
  const pending = [...overlay.dependsOn];
  while (pending.length > 0) {
    const layer = pending.pop()!;
    const found = fleet.overlays.find((candidate) => candidate.environment === overlay.environment && candidate.layer === layer);
    if (!found || result.includes(found)) continue;
    result.push(found);
    pending.push(...found.dependsOn);
  }
  return result;
}

/** `a/b/c` is within `a/b`; `a/bc` is not. */
function isWithin(file: string, dir: string): boolean {
  return file === dir || file.startsWith(`${dir}/`);
}

function layerRank(fleet: Fleet, layer: string): number {
  return fleet.layers.findIndex((candidate) => candidate.name === layer);
}
