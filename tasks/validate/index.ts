// Validation of rendered overlays with kubeconform -strict against offline schemas.
import type { TaskContext } from "../../core/context.ts";
import type { Finding } from "../../core/findings.ts";
import type { Fleet } from "../../core/fleet/model.ts";
import { resolveKubernetesVersion, schemaLocations } from "../../core/schemas/locations.ts";
import { SourceLocator } from "../../core/source-locator.ts";
import type { RenderedOverlay } from "../render/render-overlay.ts";
import { findingsFromKubeconform } from "./findings-from-kubeconform.ts";
import { runKubeconform } from "./kubeconform.ts";

/** The Kubernetes version checked against when neither the config nor the command line names one. */
export const DEFAULT_KUBERNETES_VERSION = "1.35.4";

export interface ValidateOptions {
  kubernetesVersion: string;
  /** Missing schemas are errors instead of warnings. */
  strict: boolean;
  configuredSchemaLocations: readonly string[];
  generatedCrdDirs: readonly string[];
}

export interface ValidationResult {
  findings: Finding[];
  kubernetesVersion: string;
}

export async function validateRendered(
  context: TaskContext,
  fleet: Fleet,
  rendered: readonly RenderedOverlay[],
  options: ValidateOptions,
): Promise<ValidationResult> {
  const kubernetesVersion = await resolveKubernetesVersion(context.toolchain.toolsDir, options.kubernetesVersion);
  const locations = schemaLocations({
    toolsDir: context.toolchain.toolsDir,
    repoRoot: fleet.root,
    generatedCrdDirs: options.generatedCrdDirs,
    configured: options.configuredSchemaLocations,
  });
  const ok = rendered.filter((result) => result.ok);
  const keyOf = (result: RenderedOverlay) => `${result.overlay.environment}/${result.overlay.layer}`;
  const results = await runKubeconform(
    context,
    ok.map((result) => ({ key: keyOf(result), manifests: result.manifests })),
    { kubernetesVersion, schemaLocations: locations, strict: true },
  );
  const locator = new SourceLocator(fleet.root);
  const findings: Finding[] = [];
  for (const result of ok) {
    findings.push(...(await findingsFromKubeconform(result, results.get(keyOf(result)) ?? [], { strict: options.strict, locator })));
  }
  return { findings, kubernetesVersion };
}
