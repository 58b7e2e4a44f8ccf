// What Flux would garbage-collect: objects in the cluster that carry a Flux Kustomization's owner
// labels but are no longer rendered by it (nor moved to another overlay of the environment).
import { objectKey, resourceRefOf } from "../manifests.ts";
import { isRecord } from "../yaml-file.ts";
import { pruneDisabled } from "./flux.ts";
import type { ObjectChange } from "../model/object-changes.ts";

export interface PruneInput {
  environment: string;
  layer: string;
  /** Live objects listed with the Kustomization's owner selector. */
  labelled: readonly Record<string, unknown>[];
  /** objectKey() of everything the environment renders, all layers. */
  rendered: ReadonlySet<string>;
}

export function pruneChanges(input: PruneInput): ObjectChange[] {
  const seen = new Set<string>();
  const changes: ObjectChange[] = [];
  for (const object of input.labelled) {
    const ref = resourceRefOf(object);
    const key = objectKey(ref);
    if (seen.has(key) || input.rendered.has(key)) continue;
    seen.add(key);
    const metadata = isRecord(object["metadata"]) ? object["metadata"] : {};
    // Already going away, or made by a controller that copied the labels: not Flux's to delete.
    if (metadata["deletionTimestamp"] !== undefined || hasControllerOwner(metadata)) continue;
    const scope = { environment: input.environment, layer: input.layer, ref };
    changes.push(
      pruneDisabled(object)
        ? { ...scope, action: "skip", reason: "kustomize.toolkit.fluxcd.io/prune: disabled (no longer in Git, kept in the cluster)" }
        : { ...scope, action: "prune" },
    );
  }
  return changes;
}

function hasControllerOwner(metadata: Record<string, unknown>): boolean {
  const owners = metadata["ownerReferences"];
  return Array.isArray(owners) && owners.some((owner) => isRecord(owner) && owner["controller"] === true);
}
