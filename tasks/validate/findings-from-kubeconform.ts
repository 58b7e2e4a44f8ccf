// kubeconform's verdicts as findings, each pointed at the source file and line of the object.
import { isFluxGroup } from "../../core/crd-providers.ts";
import type { Finding } from "../../core/model/findings.ts";
import { apiGroupOf, isKubernetesOwnGroup, type Manifest } from "../../core/manifests.ts";
import { schemaLocationOf, type SchemaLocation } from "../../core/schemas/locations.ts";
import { pointerToFieldPath, type SourceLocator } from "../../core/source-locator.ts";
import type { RenderedOverlay } from "../../core/model/rendered-overlay.ts";
import type { KubeconformResource } from "./kubeconform.ts";

export interface ConversionOptions {
  /** Missing schemas are errors instead of warnings. */
  strict: boolean;
  locator: SourceLocator;
  /** The version whose core schemas kubeconform used, for messages. */
  kubernetesVersion: string;
  /** The schema locations kubeconform was given, in order: which one rejected an object is said. */
  locations: readonly SchemaLocation[];
  /** Whether Kubernetes itself serves this API group (its OpenAPI), besides the dotless ones. */
  isKubernetesGroup: (group: string) => boolean;
  /**
   * The Flux release whose schemas were used. `pinned` says what pins it when the repository pins
   * a release gitops-ci has schemas for; otherwise `standIn` says what the release stands in for.
   */
  flux: { name: string; pinned: string | undefined; standIn: string };
}

export async function findingsFromKubeconform(
  rendered: RenderedOverlay,
  resources: readonly KubeconformResource[],
  options: ConversionOptions,
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const scope = { environment: rendered.overlay.environment, layer: rendered.overlay.layer };
  for (const resource of resources) {
    if (resource.status === "statusValid" || resource.status === "statusEmpty") continue;
    const manifest = findManifest(rendered.manifests, resource);
    const ref = manifest?.ref ?? { apiVersion: resource.version, kind: resource.kind, name: resource.name };
    const file = manifest?.origin?.file ?? rendered.overlay.path;
    const base = { ...scope, resource: ref, file };
    const lineFor = async (pointer?: string) =>
      manifest?.origin ? await options.locator.lineOf(manifest.origin.file, ref, pointer ? pointerToFieldPath(pointer) : []) : undefined;

    if (resource.status === "statusInvalid") {
      const errors = resource.validationErrors?.length ? resource.validationErrors : [{ path: "", msg: resource.msg ?? "invalid" }];
      const group = apiGroupOf(resource.version);
      const location = schemaLocationOf(options.locations, resource.version, resource.kind, options.kubernetesVersion);
      const rejectedBy = location ? ` (rejected by the schema of ${location.origin(group, resource.kind)})` : "";
      for (const error of errors) {
        // Point an unknown field at its own line, not at the object that holds it.
        const extra = /additional properties '([^']+)'/.exec(error.msg)?.[1];
        const line = await lineFor(
          extra && !extra.includes("'") ? `${error.path}/${extra.replace(/~/g, "~0").replace(/\//g, "~1")}` : error.path,
        );
        findings.push({
          ...base,
          severity: "error",
          check: "validate/schema",
          ...(line ? { line } : {}),
          message: `${error.path ? `${error.path}: ${error.msg}` : error.msg}${rejectedBy}`,
        });
      }
      continue;
    }
    const line = await lineFor();
    const noSchema = resource.status === "statusError" && /could not find schema/i.test(resource.msg ?? "");
    const group = apiGroupOf(resource.version);
    if (noSchema && (isKubernetesOwnGroup(group) || options.isKubernetesGroup(group))) {
      // The core schemas cover every kind these groups have: no schema means the API server
      // rejects the object (a removed version, a typo in kind or apiVersion), not a missing CRD.
      findings.push({
        ...base,
        severity: "error",
        check: "validate/unserved-api",
        ...(line ? { line } : {}),
        message: `Kubernetes ${options.kubernetesVersion} serves no ${resource.kind} in ${resource.version || "(no apiVersion)"}`,
        hint: "check kind and apiVersion: `kubectl api-resources` lists what a cluster serves, and Kubernetes' deprecated API migration guide names the replacement of a removed version",
      });
      continue;
    }
    if (noSchema && isFluxGroup(group) && options.flux.pinned) {
      // The pinned release's CRDs have every kind and version it serves: Flux would reject it.
      findings.push({
        ...base,
        severity: "error",
        check: "validate/unserved-api",
        ...(line ? { line } : {}),
        message: `${options.flux.name} serves no ${resource.kind} in ${resource.version}`,
        hint: `validated against ${options.flux.pinned}: use an API version this release serves (Flux's release notes name the replacement of a removed version)`,
      });
      continue;
    }
    if (noSchema && isFluxGroup(group)) {
      findings.push({
        ...base,
        severity: options.strict ? "error" : "warning",
        check: "validate/missing-schema",
        ...(line ? { line } : {}),
        message: `${options.flux.name}, ${options.flux.standIn}, serves no ${resource.kind} in ${resource.version}: not validated`,
        hint: "the cluster may run another Flux release: pin it (gotk-components.yaml's `# Flux Version:` header, or a FluxInstance) to one gitops-ci has schemas for, and this is validated against it",
      });
      continue;
    }
    if (noSchema) {
      findings.push({
        ...base,
        severity: options.strict ? "error" : "warning",
        check: "validate/missing-schema",
        ...(line ? { line } : {}),
        message: `no schema for ${resource.kind} ${resource.version}: not validated`,
        hint: "generate one with `gitops-ci schemas --crds <crd.yaml> --out schemas` and list the folder under schemas.locations in gitops-ci.yaml",
      });
      continue;
    }
    findings.push({
      ...base,
      severity: resource.status === "statusSkipped" ? "info" : "error",
      check: resource.status === "statusSkipped" ? "validate/skipped" : "validate/error",
      ...(line ? { line } : {}),
      message: resource.msg ?? resource.status,
    });
  }
  return findings;
}

function findManifest(manifests: readonly Manifest[], resource: KubeconformResource): Manifest | undefined {
  return manifests.find((m) => m.ref.kind === resource.kind && m.ref.name === resource.name && m.ref.apiVersion === resource.version);
}
