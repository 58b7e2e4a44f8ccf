// A check that cannot finish (a tool that cannot run, a bug of ours) ends the run with exit 2 and a
// clear message, and everything the other checks found is still reported. The fault is injected:
// no real input should make a check throw, which is what the canary tests assert.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { describeError, exitCodeFor } from "../../../core/errors.ts";
import type { ProcessRunner } from "../../../core/process-runner.ts";
import { check } from "../../../tasks/check/index.ts";
import { captureContext } from "../../helpers/context.ts";
import { overlayPath, smallFleet } from "../../helpers/small-fleet.ts";
import { makeRepo, makeTempDir } from "../../helpers/temp-repo.ts";

describe("a check that cannot finish", () => {
  it("is a finding and exit 2, and the render and the other checks are still reported", async () => {
    const tree = smallFleet(["prod"]);
    tree[`${overlayPath("apps", "prod")}/kustomization.yaml`] = "resources:\n  - ../../base\n  - missing.yaml\nnameSuffix: -prod\n";
    const root = await makeRepo(tree);
    const out = await makeTempDir();
    const { context, stdout } = captureContext(root);
    const runner = context.runner;
    const failing: ProcessRunner = {
      run: (tool, args, request) =>
        tool === "kubeconform"
          ? Promise.reject(new TypeError("injected: kubeconform's output could not be read"))
          : runner.run(tool, args, request),
    };
    const { exitCode, report } = await check({ ...context, runner: failing }, { dir: root, json: false, outDir: out });
    expect(exitCode).toBe(2);
    expect(report.findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          severity: "error",
          check: "internal/check-failed",
          message: expect.stringContaining("validate check could not finish"),
        }),
        expect.objectContaining({ check: "render/missing-base", file: `${overlayPath("apps", "prod")}/kustomization.yaml` }),
      ]),
    );
    expect(stdout()).toMatch(/controllers\s+\S*\/prod\s/);
    const written = JSON.parse(await readFile(path.join(out, "report.json"), "utf8")) as { findings: { check: string }[] };
    expect(written.findings.map((finding) => finding.check)).toEqual(
      expect.arrayContaining(["internal/check-failed", "render/missing-base"]),
    );
  });

  it("an error of ours is exit 2 with a clear message and no stack trace unless asked for", () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'spec')");
    expect(exitCodeFor(bug)).toBe(2);
    expect(describeError(bug)).toMatch(
      /^internal error \(a bug in gitops-ci, please report it\): TypeError: Cannot read properties of undefined \(reading 'spec'\)\n {2}hint: run again with GITOPS_CI_DEBUG=1/,
    );
    expect(describeError(bug)).not.toMatch(/\n\s+at /);
    expect(describeError(bug, { stack: true })).toMatch(/\n\s+at /);
  });
});
