// `gitops-ci render`: every overlay of the fleet, in parallel, kept per environment and layer.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { stringify } from "yaml";
import { mapWithConcurrency } from "../../core/concurrency.ts";
import type { TaskContext } from "../../core/context.ts";
import { ExitCode } from "../../core/errors.ts";
import { hasErrors, type Finding } from "../../core/findings.ts";
import { discoverFleet } from "../../core/fleet/discover.ts";
import type { Fleet, Overlay } from "../../core/fleet/model.ts";
import { applyPostBuild, VariableSources } from "../../core/flux/post-build.ts";
import { maskSecretValues, registerSecretValues } from "../../core/secret-values.ts";
import type { Redactor } from "../../core/redaction.ts";
import { formatFindingsForTerminal } from "../../core/report/terminal.ts";
import { renderOverlay, type RenderedOverlay } from "./render-overlay.ts";

export type { RenderedOverlay } from "./render-overlay.ts";

export interface RenderOptions {
  dir: string;
  configFile?: string;
  outDir?: string;
  /** Only these overlays (by path); all when absent. */
  only?: (overlay: Overlay) => boolean;
}

export interface RenderResult {
  fleet: Fleet;
  rendered: RenderedOverlay[];
  findings: Finding[];
  exitCode: ExitCode;
}

export async function render(context: TaskContext, options: RenderOptions): Promise<RenderResult> {
  const root = path.resolve(context.cwd, options.dir);
  const discovery = await discoverFleet(root, options.configFile ? { configFile: options.configFile } : {});
  const rendered = await renderFleet(context, discovery.fleet, options.only);
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

/** Renders overlays with at most `context.concurrency` kustomize processes at once. */
export async function renderFleet(context: TaskContext, fleet: Fleet, only?: (overlay: Overlay) => boolean): Promise<RenderedOverlay[]> {
  const overlays = only ? fleet.overlays.filter(only) : fleet.overlays;
  const variables = new VariableSources(fleet.root);
  const rendered = await mapWithConcurrency(overlays, context.concurrency, async (overlay) => {
    const result = await renderOverlay(context, fleet.root, overlay);
    if (!result.ok || !overlay.flux?.postBuild) return result;
    const postBuild = await applyPostBuild(overlay.flux, result.manifests, variables);
    postBuild.secretValues.forEach((value) => context.redactor.add(value));
    const scope = { environment: overlay.environment, layer: overlay.layer };
    return { ...result, manifests: postBuild.manifests, findings: [...result.findings, ...postBuild.findings.map((f) => ({ ...f, ...scope }))] };
  });
  for (const result of rendered) registerSecretValues(result.manifests, context.redactor);
  return rendered;
}

/** rendered/<env>/<order>-<layer>.yaml, Secret values masked: artifacts are readable by the whole project. */
export async function writeRenderedArtifacts(outDir: string, rendered: readonly RenderedOverlay[], redactor: Redactor): Promise<void> {
  for (const result of rendered) {
    if (!result.ok) continue;
    const dir = path.join(outDir, "rendered", result.overlay.environment);
    await mkdir(dir, { recursive: true });
    const text = result.manifests.map((manifest) => stringify(maskSecretValues(manifest), { lineWidth: 0 })).join("---\n");
    await writeFile(path.join(dir, `${String(result.overlay.order).padStart(2, "0")}-${result.overlay.layer}.yaml`), redactor.redact(text));
  }
}
