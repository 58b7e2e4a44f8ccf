// `gitops-ci diff`: what Flux would do to each environment's cluster if this checkout were merged:
// objects it creates, changes (with a diff of the fields that matter), prunes, skips, or that wait
// on a Namespace or CRD from an earlier layer. Exit codes as `flux diff`: 0 none, 1 changes, 2 could not run.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { TaskContext } from "../../core/context.ts";
import type { KustomizationNaming } from "../../core/diff/flux.ts";
import { diffProblem, isChange, type EnvironmentDiff } from "../../core/model/object-changes.ts";
import { ExitCode, UserError } from "../../core/errors.ts";
import { discoverFleet } from "../../core/fleet/discover.ts";
import type { Fleet } from "../../core/model/fleet.ts";
import { proxyPasswords } from "../../core/http/proxy.ts";
import { createKubernetesClient } from "../../core/kubernetes/client.ts";
import { loadClusterConnection } from "../../core/kubernetes/kubeconfig.ts";
import { formatDiffMarkdown } from "../../core/report/diff-markdown.ts";
import { formatDiffForTerminal } from "../../core/report/diff-terminal.ts";
import { formatFindingsForTerminal } from "../../core/report/terminal.ts";
import { writeFindingReports } from "../../core/report/write-reports.ts";
import { renderFleet } from "../render/index.ts";
import { defaultKubernetesVersion } from "../../core/toolchain.ts";
import { diffEnvironment } from "./diff-environment.ts";

export interface DiffOptions {
  dir: string;
  configFile?: string;
  /** Only this environment; default: all. */
  environment?: string;
  /** kubeconfig context to use instead of the environment's kubeContext (needs one environment). */
  kubeContext?: string;
  outDir?: string;
  json: boolean;
  /** Requests in flight per cluster (default 16). */
  apiConcurrency?: number;
  /** Per request (default 30 s). */
  requestTimeoutMs?: number;
}

export interface DiffReport {
  tool: "gitops-ci";
  command: "diff" | "drift";
  root: string;
  environments: EnvironmentDiff[];
}

export interface DiffResult {
  report: DiffReport;
  exitCode: ExitCode;
}

export async function diff(context: TaskContext, options: DiffOptions): Promise<DiffResult> {
  const report = await diffFleet(context, options, "diff");
  if (options.outDir) await writeDiffReport(context, path.resolve(context.cwd, options.outDir), report, "diff");
  context.output.out(options.json ? JSON.stringify(report, null, 2) : formatDiffForTerminal(report.environments));
  return { report, exitCode: diffExitCode(report) };
}

/** 2 when any environment could not be compared completely, else 1 when anything changes, else 0. */
export function diffExitCode(report: Pick<DiffReport, "environments">): ExitCode {
  if (report.environments.some((env) => env.problems.length > 0)) return ExitCode.couldNotRun;
  if (report.environments.some((env) => env.changes.some(isChange))) return ExitCode.findings;
  return ExitCode.ok;
}

/** Renders the selected environments and compares each with its cluster (environments in parallel). */
export async function diffFleet(
  context: TaskContext,
  options: Omit<DiffOptions, "json" | "outDir">,
  command: DiffReport["command"],
): Promise<DiffReport> {
  const root = path.resolve(context.cwd, options.dir);
  const discovery = await context.progress.phase("Discovering the fleet", () =>
    discoverFleet(context, root, options.configFile ? { configFile: options.configFile } : {}),
  );
  const { fleet, config } = discovery;
  const fleetErrors = discovery.findings.filter((finding) => finding.severity === "error");
  if (fleetErrors.length > 0)
    context.output.err(
      `warning: the fleet has problems that \`gitops-ci check\` reports; the diff covers the overlays found:\n${formatFindingsForTerminal(fleetErrors)}`,
    );
  const environments = selectEnvironments(fleet, options);
  // HelmReleases see the Kubernetes version check validates against (the config's, else the pinned one).
  const kubeVersion = config?.kubernetesVersion ?? (await defaultKubernetesVersion());
  const rendered = await context.progress.phase("Rendering", () =>
    renderFleet(context, fleet, (overlay) => environments.some((env) => env.name === overlay.environment), { kubeVersion }),
  );
  const naming: KustomizationNaming | undefined = config?.kustomizationNaming;
  const openClient = context.kubernetes ?? createKubernetesClient;

  const results = await Promise.all(
    environments.map(async (environment): Promise<EnvironmentDiff> => {
      const overlays = rendered
        .filter((result) => result.overlay.environment === environment.name)
        .sort((a, b) => a.overlay.order - b.overlay.order);
      const kubeContext = options.kubeContext ?? environment.kubeContext;
      let connection;
      try {
        connection = await loadClusterConnection({
          env: context.env,
          runner: context.runner,
          ...(kubeContext ? { context: kubeContext } : {}),
        });
      } catch (error) {
        if (!(error instanceof UserError)) throw error;
        return {
          environment: environment.name,
          layers: overlays.map((o) => o.overlay.layer),
          changes: [],
          problems: [
            diffProblem("diff/cluster", {
              environment: environment.name,
              message: error.message,
              ...(error.hint ? { hint: error.hint } : {}),
            }),
          ],
        };
      }
      for (const password of proxyPasswords(connection.proxyUrl)) context.redactor.add(password);
      const client = openClient(connection, {
        ...(options.apiConcurrency ? { concurrency: options.apiConcurrency } : {}),
        ...(options.requestTimeoutMs ? { timeoutMs: options.requestTimeoutMs } : {}),
      });
      const started = performance.now();
      try {
        const result = await diffEnvironment({
          environment: environment.name,
          rendered: overlays,
          client,
          redactor: context.redactor,
          ...(naming ? { naming } : {}),
          providedBy: config?.crdsProvidedBy ?? {},
          concurrency: options.apiConcurrency ?? 16,
        });
        context.output.err(
          `${command} ${environment.name}: ${result.changes.length} objects against ${client.contextName} (${client.server}) in ${Math.round(performance.now() - started)} ms`,
        );
        return result;
      } finally {
        client.close();
      }
    }),
  );
  return { tool: "gitops-ci", command, root, environments: results };
}

function selectEnvironments(fleet: Fleet, options: Pick<DiffOptions, "environment" | "kubeContext">): Fleet["environments"] {
  const known = fleet.environments.map((env) => env.name);
  const selected = options.environment ? fleet.environments.filter((env) => env.name === options.environment) : fleet.environments;
  if (options.environment && selected.length === 0) {
    throw new UserError(`unknown environment "${options.environment}"`, { hint: `environments of this fleet: ${known.join(", ")}` });
  }
  if (options.kubeContext && selected.length > 1) {
    throw new UserError("--context names one cluster, but this fleet has several environments", {
      hint: `add --env (one of ${known.join(", ")}), or set environments[].kubeContext in gitops-ci.yaml`,
    });
  }
  return selected;
}

/**
 * `<command>.json` and `<command>.md` (the merge request note section), and the problems as JUnit
 * and Code Quality reports; every string redacted.
 */
export async function writeDiffReport(context: TaskContext, outDir: string, report: DiffReport, name: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, `${name}.json`), context.redactor.redact(`${JSON.stringify(report, null, 2)}\n`));
  const markdown = formatDiffMarkdown(
    report.environments.flatMap((env) => env.changes),
    {
      problems: report.environments.flatMap((env) => env.problems),
      title: report.command === "drift" ? "gitops-ci drift" : "gitops-ci diff",
    },
  );
  await writeFile(path.join(outDir, `${name}.md`), context.redactor.redact(markdown));
  await writeFindingReports(
    outDir,
    { summary: [], findings: report.environments.flatMap((env) => env.problems), checks: ["diff"] },
    context.redactor,
  );
}
