// What helm-controller does with a chart's CRDs (its crds/ folder) in a cluster: on install
// spec.install.crds (default Create), on upgrade spec.upgrade.crds (default Skip). Create makes
// the CRDs that do not exist and leaves the others as they are; CreateReplace also replaces them;
// Skip does neither. gitops-ci's render is a fresh install (the install policy decides whether the
// CRDs are rendered at all); the live diff knows whether the release exists, and so which policy
// applies to each chart CRD it compares.
import { isRecord } from "../yaml-file.ts";

export type CrdPolicy = "Skip" | "Create" | "CreateReplace";

/** Whether helm-controller has installed the release: the live HelmRelease's status.history (v2), or lastReleaseRevision (v2beta). */
export function isReleased(liveHelmRelease: Record<string, unknown> | undefined): boolean {
  const status = liveHelmRelease && isRecord(liveHelmRelease["status"]) ? liveHelmRelease["status"] : undefined;
  if (!status) return false;
  if (Array.isArray(status["history"]) && status["history"].length > 0) return true;
  return typeof status["lastReleaseRevision"] === "number" && status["lastReleaseRevision"] > 0;
}

/** The CRD policy of the next reconcile: the upgrade's when the release exists, the install's otherwise. */
export function crdPolicy(helmRelease: Record<string, unknown>, released: boolean): CrdPolicy {
  const spec = isRecord(helmRelease["spec"]) ? helmRelease["spec"] : {};
  const action = released ? spec["upgrade"] : spec["install"];
  const value = isRecord(action) ? action["crds"] : undefined;
  if (value === "Skip" || value === "Create" || value === "CreateReplace") return value;
  return released ? "Skip" : "Create";
}

/**
 * Why a chart CRD is not compared with its live state, or undefined when it is: helm-controller
 * leaves it as it is under Skip, and under Create when it exists already.
 */
export function crdSkipReason(policy: CrdPolicy, released: boolean, exists: boolean): string | undefined {
  const field = released ? "spec.upgrade.crds" : "spec.install.crds";
  if (policy === "Skip")
    return `a CRD of the chart: helm-controller does not apply chart CRDs on ${released ? "upgrade" : "install"} (${field}: Skip${released ? ", the upgrade default" : ""})`;
  if (policy === "Create" && exists)
    return `a CRD of the chart that exists already: helm-controller only creates missing CRDs on ${released ? "upgrade" : "install"} (${field}: Create${released ? "" : ", the install default"})`;
  return undefined;
}
