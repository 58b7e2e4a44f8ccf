// One overlay's render: the objects Flux's own packages built for its Kustomization (see
// core/flux/engine.ts), each with the repository file it came from, and every problem as a finding.
import type { Finding } from "../../core/model/findings.ts";
import type { RenderedOverlay } from "../../core/model/rendered-overlay.ts";
import type { Overlay, OverlayBuild } from "../../core/model/fleet.ts";
import type { EngineResult } from "../../core/flux/engine.ts";
import { resourceRefOf, type Manifest } from "../../core/manifests.ts";
import { describeKustomizeError } from "./kustomize-errors.ts";
import { plural } from "../../core/report/markdown-text.ts";

/**
 * The Flux Kustomization of an overlay the repository writes none for (the folder layouts, config
 * layers): what its cluster's Terraform or script creates, named by the layer.
 */
export function impliedKustomization(overlay: Overlay): Record<string, unknown> {
  if (overlay.flux?.object) return overlay.flux.object;
  return {
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    metadata: { name: overlay.flux?.name ?? overlay.layer, namespace: overlay.flux?.namespace ?? "flux-system" },
    spec: {
      interval: "10m",
      path: `./${overlay.path}`,
      prune: true,
      sourceRef: { kind: "GitRepository", name: "flux-system" },
      ...(overlay.flux?.targetNamespace ? { targetNamespace: overlay.flux.targetNamespace } : {}),
    },
  };
}

export async function renderedFromBuild(root: string, overlay: Overlay, build: OverlayBuild): Promise<RenderedOverlay> {
  const { result } = build;
  const scope = { environment: overlay.environment, layer: overlay.layer };
  // Discovery reports a path that does not exist (fleet/missing-path, where it is named).
  if (result.errorKind === "path-not-found") return { overlay, ok: false, manifests: [], findings: [], durationMs: result.durationMs };
  if (result.error !== undefined) {
    const finding = await findingForError(root, overlay, result);
    return { overlay, ok: false, manifests: [], findings: [{ ...finding, ...scope }], durationMs: result.durationMs };
  }
  const manifests: Manifest[] = result.objects.map((object, index) => {
    const file = result.origins?.[index];
    return { ref: resourceRefOf(object), object, ...(file ? { origin: { file } } : {}) };
  });
  const findings: Finding[] = [];
  const where = { file: overlay.definedIn?.file ?? overlay.path, ...(overlay.definedIn?.line ? { line: overlay.definedIn.line } : {}) };
  if (manifests.length === 0) {
    findings.push({
      severity: "error",
      check: "render/empty-overlay",
      ...where,
      message: `${overlay.path} renders no resources`,
      hint: "an empty Kustomization makes Flux prune everything it created; list the resources in its kustomization",
    });
  }
  if (build.unresolved.length > 0 && (result.unsetVariables?.length ?? 0) > 0) {
    // Not a problem of the repository: the check is only less complete (values stay ${NAME}).
    findings.push({
      severity: "info",
      check: "flux/substitute-from-unknown",
      ...where,
      message: `postBuild.substituteFrom ${build.unresolved.join(", ")}: the values are not known here (not rendered by this cluster, or encrypted), so ${plural(result.unsetVariables?.length ?? 0, "variable")} stayed as \${NAME}${variableList(result.unsetVariables)}`,
      hint: "a SOPS-encrypted Secret is read when the job has its key (SOPS_AGE_KEY); an object created outside Git cannot be known",
    });
  } else if (build.unresolved.length === 0 && result.unsetVariables && result.unsetVariables.length > 0) {
    findings.push({
      severity: "warning",
      check: "flux/unset-variable",
      ...where,
      message: `postBuild: ${plural(result.unsetVariables.length, "variable")} without a value or default${variableList(result.unsetVariables)}: kustomize-controller substitutes them with ""`,
      hint: "set them in postBuild.substitute or a substituteFrom source, give a default (${NAME:=value}), or escape a literal as $${NAME}",
    });
  }
  return { overlay, ok: true, manifests, findings: findings.map((finding) => ({ ...finding, ...scope })), durationMs: result.durationMs };
}

async function findingForError(root: string, overlay: Overlay, result: EngineResult): Promise<Finding> {
  const message = result.error ?? "";
  const where = { file: overlay.definedIn?.file ?? overlay.path, ...(overlay.definedIn?.line ? { line: overlay.definedIn.line } : {}) };
  switch (result.errorKind) {
    case "remote-resource":
      return {
        severity: "warning",
        check: "render/remote-resource",
        ...where,
        message: `${overlay.path} uses a remote resource, which is not fetched, so its objects were not checked: ${message}`,
        hint: "vendor the remote base into the repository (or pin it as a Flux source) to have it checked",
      };
    case "outside-root":
      return {
        severity: "error",
        check: "render/outside-repository",
        ...(await locate(root, overlay, message)),
        message: `${overlay.path} reads a file outside the repository, which kustomize-controller refuses: ${message}`,
        hint: "every resource, patch, component and generator file must be inside the repository (no absolute paths, no ../ above the root, no symlinks out)",
      };
    case "substitution":
      return { severity: "error", check: "flux/post-build", ...where, message };
    case "file-too-large":
      return {
        severity: "error",
        check: "render/file-too-large",
        file: result.inputs.files[0] ?? where.file,
        message: `${overlay.path}: ${message}`,
        hint: "no manifest, values or generator file is this large: keep generated or binary data out of the overlay (an OCI artifact, Git LFS outside the build)",
      };
    case "timeout":
      return {
        severity: "error",
        check: "render/timeout",
        ...where,
        message: `${overlay.environment}/${overlay.layer} (${overlay.path}): ${message}; its objects were not checked`,
        hint: "look for a very large or generated input; GITOPS_CI_BUILD_TIMEOUT (seconds) raises the limit for a fleet that needs it",
      };
    default:
      return describeKustomizeError(message, { root, overlay });
  }
}

async function locate(root: string, overlay: Overlay, message: string): Promise<{ file: string; line?: number }> {
  const finding = await describeKustomizeError(message, { root, overlay });
  return { file: finding.file ?? overlay.path, ...(finding.line ? { line: finding.line } : {}) };
}

function variableList(names: readonly string[] | undefined): string {
  return names && names.length > 0 ? ` (${names.slice(0, 10).join(", ")}${names.length > 10 ? ", …" : ""})` : "";
}
