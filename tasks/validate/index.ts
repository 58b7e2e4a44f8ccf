// Validation of rendered overlays with kubeconform -strict against offline schemas.
import { rm } from "node:fs/promises";
import type { TaskContext } from "../../core/context.ts";
import type { Finding } from "../../core/findings.ts";
import type { Fleet } from "../../core/fleet/model.ts";
import { resolveKubernetesVersion, schemaLocations } from "../../core/schemas/locations.ts";
import { SourceLocator } from "../../core/source-locator.ts";
import type { RenderedOverlay } from "../render/render-overlay.ts";
import { findingsFromKubeconform } from "./findings-from-kubeconform.ts";
import { runKubeconform } from "./kubeconform.ts";
import { writeRepositoryCrdSchemas } from "./repository-crd-schemas.ts";


export interface ValidateOptions {
  kubernetesVersion: string;
  /** Missing schemas are errors instead of warnings. */
  strict: boolean;
  configuredSchemaLocations: readonly string[];
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
  const repositoryCrds = await writeRepositoryCrdSchemas(rendered);
  const locations = schemaLocations({
    toolsDir: context.toolchain.toolsDir,
    repoRoot: fleet.root,
    generatedCrdDirs: repositoryCrds.dir ? [repositoryCrds.dir] : [],
    configured: options.configuredSchemaLocations,
  });
  try {
    return { findings: [...repositoryCrds.findings, ...(await validateWith(context, fleet, rendered, locations, kubernetesVersion, options.strict))], kubernetesVersion };
  } finally {
    if (repositoryCrds.dir) await rm(repositoryCrds.dir, { recursive: true, force: true });
  }
}

async function validateWith(
  context: TaskContext,
  fleet: Fleet,
  rendered: readonly RenderedOverlay[],
  locations: string[],
  kubernetesVersion: string,
  strict: boolean,
): Promise<Finding[]> {
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
    findings.push(...(await findingsFromKubeconform(result, results.get(keyOf(result)) ?? [], { strict, locator, kubernetesVersion })));
  }
  return findings;
}
