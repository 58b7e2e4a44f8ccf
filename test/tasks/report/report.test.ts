import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../../../cli/main.ts";
import type { Finding } from "../../../core/model/findings.ts";
import { findReportNotes } from "../../../core/gitlab/merge-request-note.ts";
import { Redactor } from "../../../core/redaction.ts";
import type { ObjectChange } from "../../../core/report/merge-request-note.ts";
import type { CheckReportInput } from "../../../core/report/summary.ts";
import { writeReports } from "../../../core/report/write-reports.ts";
import { report } from "../../../tasks/report/index.ts";
import { captureContext } from "../../helpers/context.ts";
import { FakeGitLab, type FakeProject } from "../../helpers/fake-gitlab.ts";
import { gitLabClientWith, startGitLab } from "../../helpers/gitlab.ts";
import { makeTempDir } from "../../helpers/temp-repo.ts";
import { fakeClock } from "../../core/gitlab/fake-clock.ts";
import { summary as sampleSummary, findings as sampleFindings } from "../../core/report/sample-report.ts";

const TOKEN = "glpat-report-bot-0123456789";

let gitlab: FakeGitLab;
let project: FakeProject;
let dir: string;

beforeEach(async () => {
  ({ gitlab, project } = await startGitLab({
    projectId: 42,
    mergeRequest: 7,
    tokens: { [TOKEN]: { username: "project_42_bot" }, "glpat-read-only-0123456789": { username: "reader", scopes: ["read_api"] } },
  }));
  dir = await makeTempDir("report-task-");
});

function ciEnv(job = 5678, extra: Record<string, string> = {}): Record<string, string> {
  return {
    CI_API_V4_URL: gitlab.apiUrl,
    CI_PROJECT_ID: "42",
    CI_MERGE_REQUEST_IID: "7",
    CI_PIPELINE_URL: `${gitlab.url}/platform/fleet/-/pipelines/1234`,
    CI_JOB_URL: `${gitlab.url}/platform/fleet/-/jobs/${job}`,
    CI_PROJECT_DIR: dir,
    GITOPS_CI_GITLAB_TOKEN: TOKEN,
    ...extra,
  };
}

/** What a check job leaves in its artifacts: report.json (and the other reports) in one folder. */
async function checkArtifacts(name: string, input: CheckReportInput, changes?: ObjectChange[]): Promise<string> {
  const out = path.join(dir, name);
  await writeReports(out, input, new Redactor());
  if (changes) {
    // As `gitops-ci diff --out DIR` writes it.
    const environments = [...new Set(changes.map((change) => change.environment))].map((environment) => ({
      environment,
      layers: ["controllers", "configs", "apps"],
      changes: changes.filter((change) => change.environment === environment),
      problems: [],
    }));
    await writeFile(path.join(out, "diff.json"), JSON.stringify({ tool: "gitops-ci", command: "diff", root: dir, environments }));
  }
  return name;
}

async function twoJobs(extraFindings: Finding[] = [], changes?: ObjectChange[]): Promise<string[]> {
  const prod = await checkArtifacts("check-prod", {
    summary: sampleSummary.filter((row) => row.environment === "prod"),
    findings: [...sampleFindings.filter((finding) => finding.environment !== "staging"), ...extraFindings],
    layerOrder: ["controllers", "configs", "apps"],
  });
  const staging = await checkArtifacts(
    "check-staging",
    {
      summary: sampleSummary.filter((row) => row.environment === "staging"),
      findings: sampleFindings.filter((finding) => finding.environment !== "prod"),
      layerOrder: ["controllers", "configs", "apps"],
    },
    changes,
  );
  return [prod, staging];
}

const ours = () => findReportNotes(gitlab.notesOf(project, 7), "default");

describe("gitops-ci report", () => {
  it("merges the jobs' reports into one note and posts it, linking the full report artifact", async () => {
    const from = await twoJobs(
      [],
      [
        {
          layer: "apps",
          environment: "prod",
          ref: { apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "legacy" },
          action: "prune",
        },
      ],
    );
    const { context, stdout } = captureContext(dir, ciEnv());
    const result = await report(context, { from });
    expect(result.exitCode).toBe(0);

    const [note] = ours();
    expect(gitlab.notesOf(project, 7)).toHaveLength(1);
    expect(note!.run).toEqual({ pipelineId: 1234, jobId: 5678 });
    const body = note!.body;
    expect(body.split("\n").slice(0, 3)).toEqual([
      "<!-- gitops-ci:report:default part 1/1 -->",
      "<!-- gitops-ci:run pipeline=1234 job=5678 -->",
      "### ❌ gitops-ci: 5 errors, 1 not rendered, 1 warning in 4 overlays · 1 to prune",
    ]);
    for (const row of ["| controllers | prod |", "| controllers | staging |", "| apps | prod |", "| apps | staging |"])
      expect(body).toContain(row);
    expect(body).toContain("- 🗑️ **prune** `apps/prod`: Deployment shop/legacy");
    const artifact = `${gitlab.url}/platform/fleet/-/jobs/5678/artifacts/file/gitops-ci-report/merge-request-note.md`;
    expect(body).toContain(`[Full report](${artifact})`);
    expect(await readFile(path.join(dir, "gitops-ci-report", "merge-request-note.md"), "utf8")).toBe(body.split("\n").slice(2).join("\n"));
    expect(JSON.parse(await readFile(path.join(dir, "gitops-ci-report", "report.json"), "utf8"))).toMatchObject({
      totals: { overlays: 4 },
    });
    expect(stdout()).toContain(
      `Posted the report to merge request !7: part 1 created (${gitlab.url}/platform/fleet/-/merge_requests/7#note_${note!.id}).`,
    );
  });

  it("a retried job updates the note in place", async () => {
    const from = await twoJobs();
    await report(captureContext(dir, ciEnv(5678)).context, { from });
    const [first] = ours();
    const retried = captureContext(dir, ciEnv(5679));
    await report(retried.context, { from });
    expect(ours()).toEqual([expect.objectContaining({ id: first!.id, run: { pipelineId: 1234, jobId: 5679 } })]);
    expect(retried.stdout()).toContain("part 1 updated");
  });

  it("two report jobs racing end with exactly one note set", async () => {
    const from = await twoJobs();
    gitlab.holdUntil(2, { method: "POST" });
    const results = await Promise.all([
      report(captureContext(dir, ciEnv(5678)).context, { from }),
      report(captureContext(dir, ciEnv(5679)).context, { from }),
    ]);
    expect(results.map((result) => result.posted?.outcome).sort()).toEqual(["posted", "superseded"]);
    // At least one create each; the earlier job deletes the note it created.
    expect(gitlab.requests.filter((request) => request.method === "POST").length).toBeGreaterThanOrEqual(2);
    expect(gitlab.notesOf(project, 7)).toHaveLength(1);
    expect(ours()[0]!.run.jobId).toBe(5679);
  });

  it("splits a report over 1,000,000 characters into continuation notes, each within the limit", async () => {
    const many: Finding[] = Array.from({ length: 2_600 }, (_, index) => ({
      severity: "error",
      check: "validate/schema",
      layer: index % 2 ? "apps" : "controllers",
      environment: "prod",
      file: `gitops/flux/apps/base/f${index}.yaml`,
      line: 3,
      message: `finding-${index}: ${"spec.field is invalid ".repeat(30)}`,
    }));
    const from = await twoJobs(many);
    const { context } = captureContext(dir, ciEnv());
    const result = await report(context, { from });
    const notes = ours();
    expect(notes.length).toBeGreaterThanOrEqual(2);
    expect(result.bodies).toHaveLength(notes.length);
    const artifact = `${gitlab.url}/platform/fleet/-/jobs/5678/artifacts/file/gitops-ci-report/merge-request-note.md`;
    for (const [index, note] of notes.entries()) {
      expect([...note.body].length).toBeLessThanOrEqual(1_000_000);
      expect(note.body).toContain(`part ${index + 1} of ${notes.length}**`);
      expect(note.body).toContain(`[the full report](${artifact})`);
    }
    const all = notes.map((note) => note.body).join("\n");
    for (let index = 0; index < many.length; index += 1) expect(all).toContain(`finding-${index}: spec`);
    // Every POST was accepted: GitLab would have answered 400 to a note over its limit.
    expect(gitlab.requests.filter((request) => request.method === "POST").map((request) => request.status)).toEqual(notes.map(() => 201));
  });

  it("--dry-run writes the note to a file and sends nothing, without any CI variable", async () => {
    const from = await twoJobs();
    const { context, stdout } = captureContext(dir, {});
    const result = await report(context, { from, dryRun: "out/note.md" });
    expect(result.exitCode).toBe(0);
    expect(gitlab.requests).toEqual([]);
    const written = await readFile(path.join(dir, "out", "note.md"), "utf8");
    expect(written).toBe(result.bodies[0]);
    expect(written.startsWith("<!-- gitops-ci:report:default part 1/1 -->\n### ❌ gitops-ci")).toBe(true);
    expect(stdout()).toMatch(/^Dry run: wrote the merge request note \([\d,]+ characters\) to out\/note\.md; nothing was posted\.\n$/);
  });

  it("rides out 429 and 500 answers, waiting as GitLab asks", async () => {
    const from = await twoJobs();
    gitlab.failNext(1, { status: 429, retryAfter: "4" }, { method: "POST" });
    gitlab.failNext(2, { status: 500 }, { method: "GET" });
    const clock = fakeClock();
    const { context, stderr } = captureContext(dir, ciEnv());
    await report({ ...context, gitlab: gitLabClientWith({ clock, random: () => 0 }) }, { from });
    expect(ours()).toHaveLength(1);
    expect(clock.sleeps).toEqual([500, 1_000, 4_000]);
    expect(stderr()).toContain(
      "GitLab: POST /projects/42/merge_requests/7/notes answered 429 (429 Retry later); retrying in 4.0 s (attempt 2)",
    );
  });

  it("never sends a secret: not the token, not a known secret in findings or diffs, not a Secret's diff", async () => {
    const ageKey = "AGE-SECRET-KEY-1QQQCANARYCANARYCANARYCANARYCANARYCANARY7";
    const secretValue = "s3cr3t-db-password-canary";
    const planted: Finding[] = [
      { severity: "error", check: "secrets/plaintext", layer: "apps", environment: "prod", message: `the age key ${ageKey} is committed` },
    ];
    const changes: ObjectChange[] = [
      {
        layer: "apps",
        environment: "prod",
        ref: { apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "leaky" },
        action: "update",
        diff: `+  key: ${ageKey}\n`,
      },
      {
        layer: "apps",
        environment: "prod",
        ref: { apiVersion: "v1", kind: "Secret", namespace: "shop", name: "db" },
        action: "update",
        diff: `+  password: ${secretValue}\n+  b64: ${Buffer.from(secretValue).toString("base64")}\n`,
      },
    ];
    // Artifacts written without the key registered: as if the check job never saw it.
    const from = await twoJobs(planted, changes);
    const { context } = captureContext(dir, ciEnv(5678, { SOPS_AGE_KEY: `# created: 2025-01-01\n${ageKey}\n` }));
    expect((await report(context, { from })).exitCode).toBe(0);
    const sent = gitlab.sentText();
    expect(sent).toContain("[REDACTED]");
    for (const secret of [ageKey, secretValue, Buffer.from(secretValue).toString("base64"), TOKEN]) expect(sent).not.toContain(secret);
    const artifact = await readFile(path.join(dir, "gitops-ci-report", "merge-request-note.md"), "utf8");
    expect(artifact).not.toContain(ageKey);
    expect(artifact).not.toContain(secretValue);
  });

  it("names a missing or unreadable input folder", async () => {
    const { context } = captureContext(dir, ciEnv());
    await expect(report(context, { from: ["nope"] })).rejects.toThrow("--from nope: no such folder");
    await mkdir(path.join(dir, "empty"));
    await expect(report(context, { from: ["empty"] })).rejects.toThrow("empty holds none of report.json, diff.json and git-diff.json");
    await writeFile(
      path.join(dir, "empty", "report.json"),
      '{"tool":"gitops-ci","schemaVersion":1,"summary":[{"layer":"apps"}],"findings":[]}',
    );
    await expect(report(context, { from: ["empty"] })).rejects.toThrow(/report\.json: summary\[0\] has no string "environment"/);
  });
});

describe("gitops-ci report on the command line", () => {
  async function cli(args: string[], env: Record<string, string>) {
    let stdout = "";
    let stderr = "";
    const code = await runCli(args, {
      cwd: dir,
      env,
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      cpus: 2,
    });
    return { code, stdout, stderr };
  }

  it("exits 0 when posted", async () => {
    const from = await twoJobs();
    const { code, stdout } = await cli(["report", ...from.flatMap((folder) => ["--from", folder])], ciEnv());
    expect(code).toBe(0);
    expect(stdout).toContain("Posted the report to merge request !7");
  });

  it("exits 2 with what to do when GitLab refuses the token", async () => {
    const from = await twoJobs();
    const { code, stderr } = await cli(
      ["report", "--from", from[0]!],
      ciEnv(5678, { GITOPS_CI_GITLAB_TOKEN: "glpat-read-only-0123456789" }),
    );
    expect(code).toBe(2);
    expect(stderr).toContain("error: the access token lacks the api scope: HTTP 403 on POST /projects/42/merge_requests/7/notes");
    expect(stderr).toContain("hint: a read_api token can read notes but not write them");
    expect(stderr).not.toContain("glpat-read-only-0123456789");
  });

  it("exits 2 naming the missing CI variables", async () => {
    const from = await twoJobs();
    const { code, stderr } = await cli(["report", "--from", from[0]!], { CI_API_V4_URL: gitlab.apiUrl });
    expect(code).toBe(2);
    expect(stderr).toContain(
      "error: cannot post the merge request note: missing CI_PROJECT_ID, CI_MERGE_REQUEST_IID, GITOPS_CI_GITLAB_TOKEN",
    );
    expect(gitlab.requests).toEqual([]);
  });
});
