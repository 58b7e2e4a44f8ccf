// What a diff against the cluster finds, one entry per object, so that every reporter (terminal,
// Markdown note, JSON, drift issue) is a small function of the same list.
import type { Finding, ResourceRef } from "./findings.ts";

/**
 * - create: not in the cluster; Flux will create it
 * - update: in the cluster and different; `diff` says how
 * - unchanged: in the cluster and the same in every field that matters
 * - prune: in the cluster with this Kustomization's owner labels, no longer rendered; Flux deletes it
 * - skip: Flux leaves it alone (`reason` says why)
 * - wait: cannot be dry-run yet: its Namespace or CRD comes from a layer of the same change (`waitingOn`)
 */
export type ObjectAction = "create" | "update" | "unchanged" | "prune" | "skip" | "wait";

export interface ObjectChange {
  environment: string;
  layer: string;
  ref: ResourceRef & { apiVersion: string };
  action: ObjectAction;
  /** For update: a unified diff of the fields that matter, Secret values masked. */
  diff?: string;
  /** For wait: the layer whose Namespace or CRD the object needs. */
  waitingOn?: string;
  /** For skip and wait: why, in a few words. */
  reason?: string;
  /** Repository-relative file the object is written in, when known. */
  file?: string;
}

/**
 * Something that kept the diff from being complete (the whole run exits 2): a finding of a `diff/*`
 * check, always an error and always naming its environment, so it reaches every report a check
 * finding reaches (JUnit, Code Quality, the note).
 */
export type DiffProblem = Finding & { severity: "error"; check: DiffCheck; environment: string };

/**
 * The checks a live diff reports: the cluster could not be reached, a layer did not render, API
 * discovery or listing a layer's owned objects failed, an object's kind or namespace is missing, or
 * its dry-run failed.
 */
export type DiffCheck =
  | "diff/cluster"
  | "diff/not-rendered"
  | "diff/discovery"
  | "diff/owned-objects"
  | "diff/unknown-kind"
  | "diff/missing-namespace"
  | "diff/dry-run";

export function diffProblem(check: DiffCheck, fields: Omit<DiffProblem, "severity" | "check">): DiffProblem {
  return { severity: "error", check, ...fields };
}

export interface EnvironmentDiff {
  environment: string;
  /** kubeconfig context and server the environment was compared with. */
  context?: string;
  server?: string;
  /** Layers in reconcile order. */
  layers: string[];
  changes: ObjectChange[];
  problems: DiffProblem[];
}

export const CHANGE_ACTIONS: readonly ObjectAction[] = ["create", "update", "prune", "wait"];

export function isChange(change: Pick<ObjectChange, "action">): boolean {
  return CHANGE_ACTIONS.includes(change.action);
}

export function countActions(changes: readonly ObjectChange[]): Record<ObjectAction, number> {
  const counts: Record<ObjectAction, number> = { create: 0, update: 0, unchanged: 0, prune: 0, skip: 0, wait: 0 };
  for (const change of changes) counts[change.action] += 1;
  return counts;
}

export function describeObject(ref: ResourceRef & { apiVersion?: string }): string {
  return `${ref.kind}/${ref.namespace ? `${ref.namespace}/` : ""}${ref.name}`;
}
