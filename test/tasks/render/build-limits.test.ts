// Bounds on a build, so one overlay cannot stall the run: an input over the size limit is a finding
// and is never built; a build over the timeout is stopped and reported by its overlay; the other
// overlays are built either way.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_INPUT_BYTES } from "../../../core/flux/build-limits.ts";
import { render } from "../../../tasks/render/index.ts";
import { captureContext } from "../../helpers/context.ts";
import { overlayPath, smallFleet } from "../../helpers/small-fleet.ts";
import { makeRepo } from "../../helpers/temp-repo.ts";

/** One ConfigMap with `keys` keys of 60 characters: kustomize's time grows faster than its size. */
function bigConfigMap(keys: number): string {
  const lines = ["apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: big", "  namespace: ingress", "data:"];
  for (let index = 0; index < keys; index += 1) lines.push(`  key${index}: ${"x".repeat(60)}`);
  return `${lines.join("\n")}\n`;
}

async function fleetWithBigFile(content: string): Promise<string> {
  const tree = smallFleet(["prod"]);
  const apps = overlayPath("apps", "prod");
  tree[`${apps}/kustomization.yaml`] = "resources:\n  - ../../base\n  - big.yaml\nnameSuffix: -prod\n";
  const root = await makeRepo(tree);
  await writeFile(path.join(root, apps, "big.yaml"), content);
  return root;
}

describe("build limits", () => {
  it("an input over the size limit is render/file-too-large naming the file, and is never built", async () => {
    const content = bigConfigMap(Math.ceil((MAX_INPUT_BYTES + 1024 * 1024) / 70));
    expect(content.length).toBeGreaterThan(MAX_INPUT_BYTES);
    const root = await fleetWithBigFile(content);
    const { context } = captureContext(root);
    const result = await render(context, { dir: root });
    expect(result.exitCode).toBe(1);
    const apps = result.rendered.find((r) => r.overlay.layer === "apps")!;
    expect(apps.ok).toBe(false);
    expect(apps.findings).toEqual([
      expect.objectContaining({
        severity: "error",
        check: "render/file-too-large",
        file: `${overlayPath("apps", "prod")}/big.yaml`,
        message: expect.stringContaining("8.0 MiB"),
      }),
    ]);
    expect(result.rendered.filter((r) => r.overlay.layer !== "apps").every((r) => r.ok)).toBe(true);
  }, 60_000);

  it("a build over the timeout is render/timeout naming the overlay, and the other overlays are built", async () => {
    // About 2 MiB, under the size limit, and far slower than the timeout.
    const root = await fleetWithBigFile(bigConfigMap(30_000));
    const { context } = captureContext(root);
    const result = await render({ ...context, buildTimeoutMs: 4_000 }, { dir: root });
    expect(result.exitCode).toBe(1);
    const apps = result.rendered.find((r) => r.overlay.layer === "apps")!;
    expect(apps.findings).toEqual([
      expect.objectContaining({
        severity: "error",
        check: "render/timeout",
        message: expect.stringContaining("prod/apps (gitops/flux/apps/overlays/prod)"),
      }),
    ]);
    expect(result.rendered.filter((r) => r.overlay.layer !== "apps").map((r) => [r.overlay.layer, r.ok])).toEqual([
      ["controllers", true],
      ["configs", true],
    ]);
  }, 120_000);
});
