// `gitops-ci render`: every overlay of the fleet, in parallel, kept per environment and layer.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { TaskContext } from "../../core/context.ts";
import { ExitCode } from "../../core/errors.ts";
import { hasErrors, type Finding } from "../../core/model/findings.ts";
import { discoverFleet } from "../../core/fleet/discover.ts";
import type { Fleet, Overlay, OverlayBuild } from "../../core/model/fleet.ts";
import { runEngine } from "../../core/flux/engine.ts";
import { registerSecretValues } from "../../core/secret-values.ts";
import type { Redactor } from "../../core/redaction.ts";
import { defaultKubernetesVersion } from "../../core/toolchain.ts";
import { formatManifestsYaml } from "../../core/yaml-artifacts.ts";
import { formatFindingsForTerminal } from "../../core/report/terminal.ts";
import { renderHelmReleases } from "./render-helm-releases.ts";
import type { RenderedOverlay } from "../../core/model/rendered-overlay.ts";
import { impliedKustomization, renderedFromBuild } from "./render-overlay.ts";

export interface RenderOptions {
  dir: string;
  configFile?: string;
  outDir?: string;
  /** Only these overlays (by path); all when absent. */
  only?: (overlay: Overlay) => boolean;
  /** .Capabilities.KubeVersion of HelmReleases; default: the config's kubernetesVersion, else the pinned one (as check). */
  kubernetesVersion?: string;
}

export interface RenderResult {
  fleet: Fleet;
  rendered: RenderedOverlay[];
  findings: Finding[];
  exitCode: ExitCode;
}

export async function render(context: TaskContext, options: RenderOptions): Promise<RenderResult> {
  const root = path.resolve(context.cwd, options.dir);
  const discovery = await context.progress.phase("Discovering the fleet", () =>
    discoverFleet(context, root, options.configFile ? { configFile: options.configFile } : {}),
  );
  const kubeVersion =
    options.kubernetesVersion?.replace(/^v/, "") ?? discovery.config?.kubernetesVersion ?? (await defaultKubernetesVersion());
  const rendered = await context.progress.phase("Rendering", () => renderFleet(context, discovery.fleet, options.only, { kubeVersion }));
  if (options.outDir) await writeRenderedArtifacts(path.resolve(context.cwd, options.outDir), rendered, context.redactor);
  const findings = [...discovery.findings, ...rendered.flatMap((r) => r.findings)];
  for (const result of rendered) {
    const { environment, layer, path: overlayPath } = result.overlay;
    context.output.err(
      `${result.ok ? "rendered" : "FAILED  "} ${environment}/${layer} (${overlayPath}): ${result.manifests.length} objects in ${Math.round(result.durationMs)} ms`,
    );
  }
  if (findings.length > 0) context.output.out(formatFindingsForTerminal(findings));
  return { fleet: discovery.fleet, rendered, findings, exitCode: hasErrors(findings) ? ExitCode.findings : ExitCode.ok };
}

/**
 * Every overlay's render. Flux layouts were built during discovery; the others (folder layouts,
 * config layers) are built now, each as the Flux Kustomization its cluster's bootstrap creates.
 */
export async function renderFleet(
  context: TaskContext,
  fleet: Fleet,
  only?: (overlay: Overlay) => boolean,
  options: { kubeVersion?: string } = {},
): Promise<RenderedOverlay[]> {
  const overlays = only ? fleet.overlays.filter(only) : fleet.overlays;
  const unbuilt = overlays.filter((overlay) => !overlay.build);
  const results = await runEngine(
    context,
    fleet.root,
    unbuilt.map((overlay, index) => ({
      id: String(index),
      kustomization: impliedKustomization(overlay),
      resolveSubstituteFrom: false,
      origins: true,
    })),
  );
  const builds = new Map<Overlay, OverlayBuild>(unbuilt.map((overlay, index) => [overlay, { result: results[index]!, unresolved: [] }]));
  context.progress.expect("overlays rendered", overlays.length);
  const built = await Promise.all(
    overlays.map(async (overlay) => {
      const result = await renderedFromBuild(fleet.root, overlay, overlay.build ?? builds.get(overlay)!);
      context.progress.advance("overlays rendered");
      return result;
    }),
  );
  const rendered = await renderHelmReleases(context, fleet, built, {
    ...context.charts,
    ...(options.kubeVersion ? { kubeVersion: options.kubeVersion } : {}),
  });
  for (const result of rendered) registerSecretValues(result.manifests, context.redactor);
  return rendered;
}

/** rendered/<env>/<order>-<layer>.yaml, Secret values masked node by node: artifacts are readable by the whole project. */
export async function writeRenderedArtifacts(outDir: string, rendered: readonly RenderedOverlay[], redactor: Redactor): Promise<void> {
  for (const result of rendered) {
    if (!result.ok) continue;
    const dir = path.join(outDir, "rendered", result.overlay.environment);
    await mkdir(dir, { recursive: true });
    const text = formatManifestsYaml(result.manifests, redactor);
    // A layer of a Flux layout may be namespace/name.
    await writeFile(
      path.join(dir, `${String(result.overlay.order).padStart(2, "0")}-${result.overlay.layer.replaceAll("/", "_")}.yaml`),
      text,
    );
  }
}
