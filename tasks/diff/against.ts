// `gitops-ci diff --against REV`: what this change does to what Flux applies, with no cluster. The
// merge base of REV is checked out beside the working tree; both are discovered and rendered the
// same way (through the render cache), only the Kustomizations the changed files can reach are
// rendered again, and the two renders are compared per cluster, Kustomization and HelmRelease.
// Exit codes as `flux diff`: 0 no change, 1 changes, 2 could not compare (a render failed on a side).
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { affectedOverlays } from "../../core/changes/affected-overlays.ts";
import { changedFiles } from "../../core/changes/changed-files.ts";
import { overlayInputsByPath } from "../../core/changes/overlay-inputs.ts";
import type { TaskContext } from "../../core/context.ts";
import {
  compareRenders,
  gitDiffProblem,
  type ClusterBlastRadius,
  type GitDiffProblem,
  type GitDiffReport,
  type GitObjectChange,
  type NotRendered,
  type OverlayPair,
} from "../../core/diff/git-diff.ts";
import { ExitCode, UserError } from "../../core/errors.ts";
import { readCiLinks } from "../../core/gitlab/ci-environment.ts";
import { discoverFleet, type FleetDiscovery } from "../../core/fleet/discover.ts";
import type { Overlay } from "../../core/model/fleet.ts";
import { isRecord } from "../../core/yaml-file.ts";
import { formatGitDiffHtml } from "../../core/report/git-diff-html.ts";
import { formatGitDiffMarkdown } from "../../core/report/git-diff-markdown.ts";
import { formatGitDiffForTerminal } from "../../core/report/git-diff-terminal.ts";
import type { RenderedOverlay } from "../../core/model/rendered-overlay.ts";
import { renderFleet } from "../render/index.ts";
import { defaultKubernetesVersion } from "../../core/toolchain.ts";
import { checkoutBase, type BaseWorktree } from "./base-worktree.ts";
import { writeFindingReports } from "../../core/report/write-reports.ts";

export interface DiffAgainstOptions {
  dir: string;
  /** The revision to compare with: its merge base with HEAD is rendered. */
  against: string;
  configFile?: string;
  outDir?: string;
  json: boolean;
  /** Show chart-bump noise (helm.sh/chart, app.kubernetes.io/version, checksum/*) field by field. */
  showNoise?: boolean;
}

/** What `diff --against --out DIR` writes. */
export const GIT_DIFF_FILES = { json: "git-diff.json", markdown: "git-diff.md", html: "git-diff.html" } as const;

export type { GitDiffReport };

export interface DiffAgainstResult {
  report: GitDiffReport;
  exitCode: ExitCode;
}

export async function diffAgainst(context: TaskContext, options: DiffAgainstOptions): Promise<DiffAgainstResult> {
  const started = performance.now();
  const root = path.resolve(context.cwd, options.dir);
  const changed = await changedFiles(context, root, options.against, "--against");
  const discoverOptions = options.configFile ? { configFile: options.configFile } : {};
  // The merge base is checked out while the working tree is discovered and its inputs are read.
  const checkout = checkoutBase(context, root, changed.base);
  // Its failure is reported where it is awaited, not as an unhandled rejection in between.
  checkout.catch(() => undefined);
  let worktree: BaseWorktree | undefined;
  let report: GitDiffReport;
  try {
    const [head, headInputs] = await (async () => {
      const discovery = await discoverFleet(context, root, discoverOptions);
      return [discovery, await overlayInputsByPath(discovery.fleet, context.concurrency * 4)] as const;
    })();
    worktree = await checkout;
    const problems: GitDiffProblem[] = [];
    let base: FleetDiscovery | undefined;
    try {
      base = await discoverFleet(context, worktree.root, discoverOptions);
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      problems.push(
        gitDiffProblem("git-diff/no-base", {
          message: `the merge base ${changed.base.slice(0, 12)} has no fleet to compare with: ${error.message}`,
        }),
      );
    }
    const configFile = head.config?.file;
    const reach = new Set<string>();
    for (const { overlay } of affectedOverlays(head.fleet, headInputs, changed.files, {
      dependents: false,
      ...(configFile ? { configFile } : {}),
    }))
      reach.add(keyOf(overlay));
    // The base's inputs need no second walk: an overlay with the same path that reads a changed
    // file at the base reaches it here too, through the same unchanged kustomizations or through
    // the first changed one, which it reads. What exists or lives elsewhere on one side only goes.
    const headPaths = new Map(head.fleet.overlays.map((overlay) => [keyOf(overlay), overlay.path]));
    const basePaths = new Map(base?.fleet.overlays.map((overlay) => [keyOf(overlay), overlay.path]) ?? []);
    for (const key of new Set([...headPaths.keys(), ...basePaths.keys()])) if (headPaths.get(key) !== basePaths.get(key)) reach.add(key);
    // Discovery of a Flux layout built every Kustomization already: all of them are compared.
    const selected = (overlay: Overlay) => overlay.build !== undefined || reach.has(keyOf(overlay));
    const defaultVersion = await defaultKubernetesVersion();
    // Each side with its own config's Kubernetes version: a change of it shows in the charts it moves.
    const kubernetesVersions = {
      head: head.config?.kubernetesVersion ?? defaultVersion,
      base: base?.config?.kubernetesVersion ?? defaultVersion,
    };
    // Two roots, two engine runs: side by side.
    const [headRendered, baseRendered] = await Promise.all([
      renderFleet(context, head.fleet, selected, { kubeVersion: kubernetesVersions.head }),
      base ? renderFleet(context, base.fleet, selected, { kubeVersion: kubernetesVersions.base }) : [],
    ]);

    const pairs = base ? pairRenders(head, headRendered, base, baseRendered) : [];
    const naming = head.config?.kustomizationNaming;
    const compared = compareRenders(pairs, { ...(naming ? { naming } : {}), changedFiles: changed.files, kubernetesVersions });
    report = {
      tool: "gitops-ci",
      command: "diff --against",
      root,
      against: { rev: options.against, base: changed.base, mergeBase: changed.mergeBase, changedFiles: changed.files.length },
      collapseNoise: options.showNoise !== true,
      rendered: {
        head: headRendered.length,
        base: baseRendered.length,
        ofHead: head.fleet.overlays.length,
        ofBase: base?.fleet.overlays.length ?? 0,
      },
      clusters: blastRadius(
        head.fleet.environments.map((env) => env.name),
        compared.changes,
      ),
      risks: compared.risks,
      changes: compared.changes,
      problems: [...problems, ...compared.problems],
    };
  } finally {
    // Removed even when it was made after a failure here (the checkout then ends first).
    await (worktree ?? (await checkout.catch(() => undefined)))?.remove();
  }

  const counts = report.clusters.map((c) => `${c.cluster} +${c.created} ~${c.changed} -${c.deleted}`).join(", ");
  context.output.err(
    `diff --against ${options.against} (merge base ${changed.base.slice(0, 12)}): ${changed.files.length} files changed; rendered ${report.rendered.head} of ${report.rendered.ofHead} Kustomizations here and ${report.rendered.base} of ${report.rendered.ofBase} at the base; ${counts || "no clusters"} in ${Math.round(performance.now() - started)} ms`,
  );
  if (options.outDir) {
    const outDir = path.resolve(context.cwd, options.outDir);
    const pageUrl = artifactUrl(context, path.join(outDir, GIT_DIFF_FILES.html));
    if (pageUrl) report.pageUrl = pageUrl;
    await writeGitDiffReport(context, outDir, report);
  }
  context.output.out(options.json ? JSON.stringify(withoutViews(report), null, 2) : formatGitDiffForTerminal(report));
  return { report, exitCode: gitDiffExitCode(report) };
}

export function gitDiffExitCode(report: Pick<GitDiffReport, "problems" | "changes" | "risks">): ExitCode {
  if (report.problems.length > 0) return ExitCode.couldNotRun;
  if (report.changes.length > 0 || report.risks.length > 0) return ExitCode.findings;
  return ExitCode.ok;
}

/**
 * git-diff.json (no YAML views), git-diff.md (the merge request note's section), git-diff.html, and
 * the problems as JUnit and Code Quality reports; all redacted.
 */
export async function writeGitDiffReport(context: TaskContext, outDir: string, report: GitDiffReport): Promise<void> {
  await mkdir(outDir, { recursive: true });
  const redact = (text: string) => context.redactor.redact(text);
  await writeFile(path.join(outDir, GIT_DIFF_FILES.json), redact(`${JSON.stringify(withoutViews(report), null, 2)}\n`));
  await writeFile(path.join(outDir, GIT_DIFF_FILES.markdown), redact(formatGitDiffMarkdown(report)));
  await writeFile(path.join(outDir, GIT_DIFF_FILES.html), formatGitDiffHtml(report, redact));
  await writeFindingReports(outDir, { summary: [], findings: report.problems, checks: ["git-diff"] }, context.redactor);
}

/** `<CI_JOB_URL>/artifacts/file/<path>` of a file this job keeps, so the note can link the page. */
function artifactUrl(context: TaskContext, file: string): string | undefined {
  const { jobUrl } = readCiLinks(context.env);
  const projectDir = context.env["CI_PROJECT_DIR"];
  if (!jobUrl || !projectDir) return undefined;
  const relative = path.relative(projectDir, file);
  if (relative.startsWith("..") || path.isAbsolute(relative)) return undefined;
  return `${jobUrl}/artifacts/file/${relative.split(path.sep).map(encodeURIComponent).join("/")}`;
}

function withoutViews(report: GitDiffReport): GitDiffReport {
  return { ...report, changes: report.changes.map(({ yaml: _yaml, ...rest }) => rest) };
}

function keyOf(overlay: Pick<Overlay, "environment" | "layer">): string {
  return `${overlay.environment}\u0000${overlay.layer}`;
}

/**
 * Every Kustomization rendered on either side, with its counterpart. One that exists on a side but
 * was not built there (suspended, another source), or whose side failed a render that could hide
 * it, is marked so: its objects are never shown as created or deleted wholesale.
 */
function pairRenders(
  head: FleetDiscovery,
  headRendered: readonly RenderedOverlay[],
  base: FleetDiscovery,
  baseRendered: readonly RenderedOverlay[],
): OverlayPair[] {
  const headByKey = new Map(headRendered.map((rendered) => [keyOf(rendered.overlay), rendered]));
  const baseByKey = new Map(baseRendered.map((rendered) => [keyOf(rendered.overlay), rendered]));
  const pairs: OverlayPair[] = [];
  for (const key of new Set([...baseByKey.keys(), ...headByKey.keys()])) {
    const headSide = headByKey.get(key);
    const baseSide = baseByKey.get(key);
    const overlay = (headSide ?? baseSide)!.overlay;
    const pair: OverlayPair = {
      cluster: overlay.environment,
      layer: overlay.layer,
      ...(baseSide ? { base: baseSide } : {}),
      ...(headSide ? { head: headSide } : {}),
    };
    if (!headSide) {
      const why = notRenderedOn(head, headRendered, overlay);
      if (why) pair.headNotRendered = why;
    }
    if (!baseSide) {
      const why = notRenderedOn(base, baseRendered, overlay);
      if (why) pair.baseNotRendered = why;
    }
    pairs.push(pair);
  }
  return pairs;
}

function notRenderedOn(side: FleetDiscovery, rendered: readonly RenderedOverlay[], overlay: Overlay): NotRendered | undefined {
  const known = side.kustomizations?.find(
    (item) => item.cluster === overlay.environment && item.name === overlay.flux?.name && item.namespace === overlay.flux.namespace,
  );
  if (known && !known.result) {
    const spec = isRecord(known.object["spec"]) ? known.object["spec"] : {};
    return spec["suspend"] === true
      ? { reason: "spec.suspend: true", suspended: true }
      : { reason: "not built: its source is not checked here", suspended: false };
  }
  const failed = rendered.find((other) => other.overlay.environment === overlay.environment && !other.ok);
  if (failed) return { reason: `${failed.overlay.layer} does not render there, which may hide it`, suspended: false };
  return undefined;
}

function blastRadius(clusters: readonly string[], changes: readonly GitObjectChange[]): ClusterBlastRadius[] {
  const names = [...new Set([...clusters, ...changes.map((change) => change.cluster)])];
  return names.map((cluster) => {
    const own = changes.filter((change) => change.cluster === cluster);
    const deleted = own.filter((change) => change.action === "delete");
    return {
      cluster,
      created: own.filter((change) => change.action === "create").length,
      changed: own.filter((change) => change.action === "update").length,
      deleted: deleted.length,
      pruned: deleted.filter((change) => change.deletion === "pruned").length,
      orphaned: deleted.filter((change) => change.deletion === "orphaned").length,
    };
  });
}
