// What a promotion changes in the target environment, as a reviewer reads it: the target's
// overlays rendered before and after the edit, and a unified diff of the YAML. Secret values are
// masked before anything is compared, so no diff can show one.
import { stringify } from "yaml";
import type { TaskContext } from "../../core/context.ts";
import { unifiedDiff } from "../../core/diff/unified-diff.ts";
import type { Finding } from "../../core/model/findings.ts";
import type { Fleet, Overlay } from "../../core/model/fleet.ts";
import { objectKey, type Manifest } from "../../core/manifests.ts";
import { maskSecretValues } from "../../core/secret-values.ts";
import { renderFleet } from "../render/index.ts";

export interface RenderedOverlayText {
  overlay: Overlay;
  ok: boolean;
  /** Every object, sorted by group, kind, namespace and name, Secret values masked. */
  text: string;
  findings: Finding[];
}

export async function renderOverlaysAsText(
  context: TaskContext,
  fleet: Fleet,
  overlays: readonly Overlay[],
): Promise<RenderedOverlayText[]> {
  const rendered = await renderFleet(context, fleet, (overlay) => overlays.includes(overlay));
  return rendered.map((result) => ({
    overlay: result.overlay,
    ok: result.ok,
    text: manifestsText(result.manifests),
    findings: result.findings,
  }));
}

export function manifestsText(manifests: readonly Manifest[]): string {
  return [...manifests]
    .sort((a, b) => objectKey(a.ref).localeCompare(objectKey(b.ref)))
    .map((manifest) => stringify(maskSecretValues(manifest), { lineWidth: 0 }))
    .join("---\n");
}

export interface OverlayDiff {
  environment: string;
  layer: string;
  /** Unified diff; "" when the rendered objects did not change. */
  diff: string;
}

export function diffRendered(before: readonly RenderedOverlayText[], after: readonly RenderedOverlayText[]): OverlayDiff[] {
  return after.map((next) => {
    const previous = before.find((candidate) => candidate.overlay.path === next.overlay.path);
    const label = `${next.overlay.environment}/${next.overlay.layer}`;
    return {
      environment: next.overlay.environment,
      layer: next.overlay.layer,
      diff: unifiedDiff(previous?.text ?? "", next.text, { oldLabel: `a/${label}`, newLabel: `b/${label}` }),
    };
  });
}
