// helm-controller's CRD policies as the live diff applies them to a chart's CRDs.
import { describe, expect, it } from "vitest";
import { crdPolicy, crdSkipReason, isReleased } from "../../../core/diff/chart-crds.ts";

const helmRelease = (spec: Record<string, unknown> = {}) => ({
  apiVersion: "helm.toolkit.fluxcd.io/v2",
  kind: "HelmRelease",
  metadata: { name: "operator", namespace: "apps" },
  spec,
});

describe("chart CRD policy", () => {
  it("is the install's (default Create) before the release exists, the upgrade's (default Skip) after", () => {
    expect(crdPolicy(helmRelease(), false)).toBe("Create");
    expect(crdPolicy(helmRelease(), true)).toBe("Skip");
    expect(crdPolicy(helmRelease({ install: { crds: "Skip" }, upgrade: { crds: "CreateReplace" } }), false)).toBe("Skip");
    expect(crdPolicy(helmRelease({ install: { crds: "Skip" }, upgrade: { crds: "CreateReplace" } }), true)).toBe("CreateReplace");
    expect(crdPolicy(helmRelease({ upgrade: { crds: "Create" } }), true)).toBe("Create");
  });

  it("knows an installed release by its live status.history (or v2beta's lastReleaseRevision)", () => {
    expect(isReleased(undefined)).toBe(false);
    expect(isReleased({ ...helmRelease(), status: {} })).toBe(false);
    expect(isReleased({ ...helmRelease(), status: { history: [] } })).toBe(false);
    expect(isReleased({ ...helmRelease(), status: { history: [{ chartName: "operator", version: 1 }] } })).toBe(true);
    expect(isReleased({ ...helmRelease(), status: { lastReleaseRevision: 3 } })).toBe(true);
  });

  it("compares a chart CRD only where helm-controller would apply it", () => {
    // Upgrade, default Skip: never applied, whether it exists or not.
    expect(crdSkipReason("Skip", true, true)).toMatch(/spec\.upgrade\.crds: Skip, the upgrade default/);
    expect(crdSkipReason("Skip", true, false)).toMatch(/on upgrade/);
    // Create: only a missing CRD is created.
    expect(crdSkipReason("Create", true, true)).toMatch(/only creates missing CRDs on upgrade/);
    expect(crdSkipReason("Create", true, false)).toBeUndefined();
    expect(crdSkipReason("Create", false, true)).toMatch(/spec\.install\.crds: Create, the install default/);
    expect(crdSkipReason("Create", false, false)).toBeUndefined();
    // CreateReplace: created or replaced, so compared.
    expect(crdSkipReason("CreateReplace", true, true)).toBeUndefined();
  });
});
