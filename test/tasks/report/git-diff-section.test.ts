// The merge request note carries `diff --against` in its own section, apart from the live diff.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Redactor } from "../../../core/redaction.ts";
import { writeReports } from "../../../core/report/write-reports.ts";
import { diffAgainst } from "../../../tasks/diff/against.ts";
import { report } from "../../../tasks/report/index.ts";
import { captureContext } from "../../helpers/context.ts";
import { makeTempDir } from "../../helpers/temp-repo.ts";
import { branch, commitAll, gitRepoFromExample } from "../../core/changes/git-steps.ts";
import { summary as sampleSummary } from "../../core/report/sample-report.ts";

describe("the note's Git diff section", () => {
  it("says what the merge request changes in Git, apart from what the cluster would change", async () => {
    const { root } = await gitRepoFromExample("examples/layout-a");
    branch(root);
    const file = path.join(root, "gitops/flux/apps/overlays/prod/gitlab-hosts-patch.yaml");
    await writeFile(file, (await readFile(file, "utf8")).replace("name: gitlab.example.com", "name: code.example.com"));
    commitAll(root);

    const dir = await makeTempDir("report-git-diff-");
    const gitDiffOut = path.join(dir, "gitops-ci-git-diff");
    const ci = { CI_JOB_URL: "https://gitlab.example.com/platform/fleet/-/jobs/99", CI_PROJECT_DIR: dir };
    const diffed = await diffAgainst(captureContext(root, ci).context, { dir: root, against: "main", json: false, outDir: gitDiffOut });
    expect(diffed.exitCode).toBe(1);
    await writeReports(path.join(dir, "check"), { summary: sampleSummary, findings: [] }, new Redactor());

    const gitOnly = await report(captureContext(dir).context, { from: ["check", "gitops-ci-git-diff"], dryRun: "note.md" });
    expect(gitOnly.exitCode).toBe(0);
    const note = gitOnly.bodies.join("\n");
    expect(note).toContain("### 🔀 What this merge request changes in Git");
    expect(note).toContain("`HelmRelease gitlab/gitlab-prod` changed");
    expect(note).toContain('~ spec.values.global.hosts.gitlab.name: "gitlab.example.com" → "code.example.com"');
    expect(note).toMatch(/\| prod \| 0 \| 1 \| 0 \|/);
    expect(note).not.toContain("What the cluster would change");
    // The page, as the Git diff job keeps it.
    expect(note).toContain(
      "[Side-by-side and unified views](https://gitlab.example.com/platform/fleet/-/jobs/99/artifacts/file/gitops-ci-git-diff/git-diff.html)",
    );

    // With a live diff too, each says which it is.
    await writeFile(
      path.join(dir, "check", "diff.json"),
      JSON.stringify({
        tool: "gitops-ci",
        command: "diff",
        environments: [
          {
            environment: "prod",
            layers: ["apps"],
            problems: [],
            changes: [
              {
                environment: "prod",
                layer: "apps",
                action: "update",
                ref: { apiVersion: "helm.toolkit.fluxcd.io/v2", kind: "HelmRelease", namespace: "gitlab", name: "gitlab-prod" },
                diff: "-a\n+b",
              },
            ],
          },
        ],
      }),
    );
    const both = await report(captureContext(dir).context, { from: ["check", "gitops-ci-git-diff"], dryRun: "note.md" });
    const combined = both.bodies.join("\n");
    expect(combined).toContain("### 🔀 What this merge request changes in Git");
    expect(combined).toContain("### What the cluster would change");
    expect(combined.indexOf("What this merge request changes in Git")).toBeLessThan(combined.indexOf("What the cluster would change"));
  });
});
