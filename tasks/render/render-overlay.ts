// Renders one overlay the way Flux's kustomize-controller does: `kustomize build` with no load
// restrictor. A thin wrapper kustomization adds origin annotations so every object can be traced
// back to its file; they are stripped again before anything is kept.
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { stringify } from "yaml";
import type { TaskContext } from "../../core/context.ts";
import type { Finding } from "../../core/findings.ts";
import type { Overlay } from "../../core/fleet/model.ts";
import { parseRenderedManifests, type Manifest } from "../../core/manifests.ts";
import { describeKustomizeError } from "./kustomize-errors.ts";
import { findKustomizationFile } from "../../core/kustomization-file.ts";
import { isDirectory } from "../../core/repo-files.ts";

export interface RenderedOverlay {
  overlay: Overlay;
  ok: boolean;
  manifests: Manifest[];
  findings: Finding[];
  durationMs: number;
}

export async function renderOverlay(context: TaskContext, root: string, overlay: Overlay): Promise<RenderedOverlay> {
  const started = performance.now();
  const overlayDir = path.join(root, overlay.path);
  const scope = { environment: overlay.environment, layer: overlay.layer };
  // Discovery reports a path that does not exist (fleet/missing-path, with the file that names it);
  // the overlay just did not render, and the others still do.
  if (!(await isDirectory(overlayDir))) return { overlay, ok: false, manifests: [], findings: [], durationMs: performance.now() - started };
  const wrapper = await mkdtemp(path.join(tmpdir(), "gitops-ci-render-"));
  try {
    const resources = (await findKustomizationFile(overlayDir))
      ? [path.relative(wrapper, overlayDir)]
      : await generatedResources(wrapper, overlayDir);
    await writeFile(
      path.join(wrapper, "kustomization.yaml"),
      stringify({ apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources, buildMetadata: ["originAnnotations"] }),
    );
    const result = await context.runner.run("kustomize", ["build", "--load-restrictor", "LoadRestrictionsNone", wrapper], { cwd: root });
    if (result.exitCode !== 0) {
      const finding = await describeKustomizeError(result.stderr, { root, wrapper, overlay });
      return { overlay, ok: false, manifests: [], findings: [{ ...finding, ...scope }], durationMs: performance.now() - started };
    }
    const { manifests, findings } = parseRenderedManifests(result.stdout, wrapper, root);
    if (manifests.length === 0) {
      findings.push({
        severity: "error",
        check: "render/empty-overlay",
        file: overlay.path,
        message: `overlay ${overlay.path} renders no resources`,
        hint: "an empty overlay makes Flux prune everything this layer created; list the base in resources:",
      });
    }
    return {
      overlay,
      ok: true,
      manifests,
      findings: findings.map((finding) => ({ ...finding, ...scope, file: finding.file ?? overlay.path })),
      durationMs: performance.now() - started,
    };
  } finally {
    await rm(wrapper, { recursive: true, force: true });
  }
}

/**
 * kustomize-controller generates a kustomization when the path has none: every manifest below it,
 * and every sub-folder that has its own kustomization as a whole.
 */
async function generatedResources(wrapper: string, dir: string): Promise<string[]> {
  const resources: string[] = [];
  const walk = async (current: string): Promise<void> => {
    const entries = (await readdir(current, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const child = path.join(current, entry.name);
      if (entry.isDirectory()) {
        if (entry.name.startsWith(".")) continue;
        if (await findKustomizationFile(child)) resources.push(path.relative(wrapper, child));
        else await walk(child);
      } else if (/\.ya?ml$/.test(entry.name)) {
        resources.push(path.relative(wrapper, child));
      }
    }
  };
  await walk(dir);
  return resources;
}
