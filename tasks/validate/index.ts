// Validation of rendered overlays with kubeconform -strict against offline schemas: the core
// schemas of the Kubernetes version, and for Flux's own kinds the schemas of the Flux release
// each environment pins.
import { rm } from "node:fs/promises";
import type { TaskContext } from "../../core/context.ts";
import { fluxComponentOf } from "../../core/crd-providers.ts";
import type { Finding } from "../../core/model/findings.ts";
import type { Fleet } from "../../core/model/fleet.ts";
import { fluxReleaseSchemaDir, loadFluxSchemaStore } from "../../core/schemas/flux-releases.ts";
import { formatMinor, formatRelease } from "../../core/schemas/flux-versions.ts";
import { loadKubernetesApi, resolveKubernetesVersion, schemaLocations } from "../../core/schemas/locations.ts";
import { SourceLocator } from "../../core/source-locator.ts";
import type { RenderedOverlay } from "../../core/model/rendered-overlay.ts";
import { findingsFromKubeconform } from "./findings-from-kubeconform.ts";
import { describeFluxSelection, detectFluxVersions, type FluxSelection } from "./flux-pins.ts";
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
  /** The Flux release whose schemas validated each environment. */
  flux: Map<string, FluxSelection>;
}

export async function validateRendered(
  context: TaskContext,
  fleet: Fleet,
  rendered: readonly RenderedOverlay[],
  options: ValidateOptions,
): Promise<ValidationResult> {
  const toolsDir = context.toolchain.toolsDir;
  const kubernetesVersion = await resolveKubernetesVersion(toolsDir, options.kubernetesVersion);
  const fluxStore = await loadFluxSchemaStore(toolsDir);
  const flux = await detectFluxVersions(fleet, rendered, fluxStore);
  const environments = [...new Set(rendered.map((result) => result.overlay.environment))];
  const described = new Map<string, string[]>();
  for (const environment of environments) {
    const description = describeFluxSelection(flux.byEnvironment.get(environment)!);
    described.set(description, [...(described.get(description) ?? []), environment]);
  }
  if (described.size > 0)
    context.output.err(`Flux schemas: ${[...described].map(([description, names]) => `${names.join(", ")}: ${description}`).join("; ")}`);
  const kubernetesApi = loadKubernetesApi(toolsDir, kubernetesVersion);
  const repositoryCrds = await writeRepositoryCrdSchemas(rendered);
  const locator = new SourceLocator(fleet.root);
  const findings: Finding[] = [...repositoryCrds.findings, ...flux.findings];
  try {
    // One kubeconform run per Flux release in use (usually one for the whole fleet).
    const byRelease = new Map<string, { selection: FluxSelection; overlays: RenderedOverlay[] }>();
    for (const result of rendered.filter((r) => r.ok)) {
      const selection = flux.byEnvironment.get(result.overlay.environment)!;
      const key = formatRelease(selection.schemas);
      const group = byRelease.get(key) ?? { selection, overlays: [] };
      group.overlays.push(result);
      byRelease.set(key, group);
    }
    for (const { selection, overlays } of byRelease.values()) {
      const fluxName = `Flux ${formatMinor(selection.schemas)}`;
      const locations = await schemaLocations({
        toolsDir,
        repoRoot: fleet.root,
        kubernetesVersion,
        generatedCrdDirs: repositoryCrds.dir ? [{ dir: repositoryCrds.dir, origin: repositoryCrds.origin }] : [],
        configured: options.configuredSchemaLocations,
        flux: {
          dir: fluxReleaseSchemaDir(fluxStore, selection.schemas),
          origin: (group, kind) => `${fluxComponentOf(group, kind) ?? group} from ${fluxName}`,
        },
      });
      const keyOf = (result: RenderedOverlay) => `${result.overlay.environment}/${result.overlay.layer}`;
      context.progress.expect("overlays validated", overlays.length);
      const results = await runKubeconform(
        context,
        overlays.map((result) => ({ key: keyOf(result), manifests: result.manifests })),
        { kubernetesVersion, schemaLocations: locations.map((location) => location.template), strict: true },
      );
      context.progress.advance("overlays validated", overlays.length);
      for (const result of overlays) {
        findings.push(
          ...(await findingsFromKubeconform(result, results.get(keyOf(result)) ?? [], {
            strict: options.strict,
            locator,
            kubernetesVersion,
            locations,
            isKubernetesGroup: (group) => kubernetesApi?.groups.has(group) ?? false,
            flux: {
              name: fluxName,
              pinned: selection.source && !selection.problem ? describeFluxSelection(selection) : undefined,
              standIn: selection.source
                ? `the nearest release gitops-ci has to ${selection.source.says}`
                : "the newest Flux release gitops-ci knows",
            },
          })),
        );
      }
    }
    return { findings, kubernetesVersion, flux: flux.byEnvironment };
  } finally {
    if (repositoryCrds.dir) await rm(repositoryCrds.dir, { recursive: true, force: true });
  }
}
