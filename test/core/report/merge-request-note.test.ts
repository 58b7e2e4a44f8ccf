import { describe, expect, it } from "vitest";
import type { Finding } from "../../../core/model/findings.ts";
import { buildMergeRequestNote, tallyOverlays, type ObjectChange } from "../../../core/report/merge-request-note.ts";
import { sampleReport } from "./sample-report.ts";

const secretFinding: Finding = {
  severity: "error",
  check: "secrets/plaintext",
  layer: "apps",
  environment: "prod",
  resource: { apiVersion: "v1", kind: "Secret", namespace: "shop", name: "db" },
  file: "gitops/flux/apps/base/db-secret.yaml",
  line: 4,
  message: "data.password is not encrypted with SOPS",
};

const changes: ObjectChange[] = [
  {
    layer: "apps",
    environment: "prod",
    ref: { apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "web" },
    action: "update",
    diff: "--- live\n+++ desired\n-  replicas: 2\n+  replicas: 3\n",
  },
  {
    layer: "apps",
    environment: "prod",
    ref: { apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "new" },
    action: "create",
    diff: "+data:\n+  a: b\n",
  },
  {
    layer: "apps",
    environment: "prod",
    ref: { apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "legacy" },
    action: "prune",
  },
  { layer: "apps", environment: "prod", ref: { apiVersion: "v1", kind: "Service", namespace: "shop", name: "web" }, action: "unchanged" },
  {
    layer: "apps",
    environment: "prod",
    ref: { apiVersion: "v1", kind: "Secret", namespace: "shop", name: "db" },
    action: "update",
    diff: "data.password: changed\ndata.user: added\n-  password: b2xk\n+  password: bmV3\n",
  },
  {
    layer: "controllers",
    environment: "prod",
    ref: { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", name: "widgets.example.com" },
    action: "update",
    diff: "-  served: true\n+  served: false\n",
  },
  {
    layer: "controllers",
    environment: "staging",
    ref: { apiVersion: "helm.toolkit.fluxcd.io/v2", kind: "HelmRelease", namespace: "flux-system", name: "cilium" },
    action: "wait",
    waitingOn: "configs",
    reason: "its CRD comes from configs",
  },
];

const note = buildMergeRequestNote(
  { check: sampleReport([secretFinding]), changes },
  {
    pipelineUrl: "https://gitlab.example.com/platform/fleet/-/pipelines/1234",
    pipelineId: 1234,
    fullReportUrl: "https://gitlab.example.com/platform/fleet/-/jobs/9/artifacts/file/gitops-ci-report/merge-request-note.md",
  },
);
const lines = note.split("\n");

describe("buildMergeRequestNote", () => {
  it("heads the note with the outcome, the pipeline link and the full report link", () => {
    expect(lines[0]).toBe(
      "### ❌ gitops-ci: 5 errors, 1 secret problem, 1 not rendered, 1 warning in 4 overlays · 1 to create, 3 to change, 1 to prune",
    );
    expect(lines[2]).toBe(
      "Pipeline [#1234](https://gitlab.example.com/platform/fleet/-/pipelines/1234) · [Full report](https://gitlab.example.com/platform/fleet/-/jobs/9/artifacts/file/gitops-ci-report/merge-request-note.md)",
    );
  });

  it("starts with a summary per layer × environment: rendered, invalid, secret problems, created, changed, pruned", () => {
    const table = lines.filter((line) => line.startsWith("|"));
    expect(table).toEqual([
      "| Layer | Environment | Rendered | Invalid | Secret problems | Created | Changed | Pruned |",
      "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
      "| _fleet-wide_ |  | – | 1 | 0 | 0 | 0 | 0 |",
      "| controllers | prod | ✅ 14 | 0 | 0 | 0 | 1 | 0 |",
      "| controllers | staging | ✅ 14 | 0 | 0 | 0 | 0 | 0 |",
      "| apps | prod | ✅ 9 | 3 | 1 | 1 | 2 | **1** 🗑️ |",
      "| apps | staging | ❌ not rendered | 1 | 0 | 0 | 0 | 0 |",
      "| **Total** |  | **3 of 4** | **5** | **1** | **1** | **3** | **1** |",
    ]);
  });

  it("lists prunes and CRD changes before the sections", () => {
    const attention = lines.indexOf("#### ⚠️ Prunes and CRD changes (2)");
    expect(attention).toBeGreaterThan(0);
    expect(attention).toBeLessThan(lines.findIndex((line) => line.startsWith("<details")));
    expect(lines.slice(attention + 2, attention + 4)).toEqual([
      "- 🗑️ **prune** `apps/prod`: Deployment shop/legacy",
      "- ✏️ **update** (CRD) `controllers/prod`: CustomResourceDefinition widgets.example.com",
    ]);
  });

  it("gives each layer and environment a collapsible section with its findings, changes and diffs", () => {
    const summaries = lines.filter((line) => line.startsWith("<summary>") && !line.startsWith("<summary>diff"));
    expect(summaries).toEqual([
      "<summary>❌ <b>fleet</b> · 1 error</summary>",
      "<summary>⚠️ <b>controllers/prod</b> · 1 to change · <code>gitops/flux/infrastructure/controllers/overlays/prod</code></summary>",
      "<summary>⚠️ <b>controllers/staging</b> · 1 warning · <code>gitops/flux/infrastructure/controllers/overlays/staging</code></summary>",
      "<summary>❌ <b>apps/prod</b> · 3 errors, 1 secret problem, 1 to create, 2 to change, 1 to prune · <code>gitops/flux/apps/overlays/prod</code></summary>",
      "<summary>❌ <b>apps/staging</b> · 1 error · <code>gitops/flux/apps/overlays/staging</code></summary>",
    ]);
    const appsProd = note.slice(note.indexOf("<b>apps/prod</b>"), note.indexOf("<b>apps/staging</b>"));
    // Prunes first, then changes, then creations; unchanged objects are only counted.
    expect(appsProd.split("\n").filter((line) => /^- (🗑️|✏️|➕|⏳)/.test(line))).toEqual([
      "- 🗑️ **prune** Deployment shop/legacy",
      "- ✏️ **update** Deployment shop/web",
      "- ✏️ **update** Secret shop/db",
      "- ➕ **create** ConfigMap shop/new",
    ]);
    expect(appsProd).toContain("1 object unchanged.");
    expect(appsProd).toContain(
      "<details>\n<summary>diff: update Deployment shop/web</summary>\n\n```diff\n--- live\n+++ desired\n-  replicas: 2\n+  replicas: 3\n```\n\n</details>",
    );
    expect(appsProd).toContain(
      "- 🔑 **error** `gitops/flux/apps/base/db-secret.yaml:4` `secrets/plaintext` — Secret shop/db: data.password is not encrypted with SOPS",
    );
    expect(note).toContain("- ⏳ **wait** HelmRelease flux-system/cilium — waiting on `configs` (its CRD comes from configs)");
  });

  it("shows only which keys of a Secret change, whatever else its diff holds", () => {
    expect(note).not.toContain("b2xk");
    expect(note).not.toContain("bmV3");
    expect(note).toContain(
      "<summary>diff: update Secret shop/db</summary>\n\n- `data.password: changed`\n- `data.user: added`\n\nOnly which keys change is shown for a Secret",
    );
  });

  it("opens the sections that need a look and keeps the others closed", () => {
    expect(note).toContain("<details open>\n<summary>❌ <b>apps/prod</b>");
    expect(note).toContain("<details open>\n<summary>⚠️ <b>controllers/prod</b>");
    expect(note).toContain("<details>\n<summary>⚠️ <b>controllers/staging</b>");
  });

  it("escapes what findings and diffs carry, and fences a diff that holds backticks", () => {
    // markdown-text.ts's escaping: what Markdown or GitLab would act on backslashed, line breaks as <br>, controls made visible.
    expect(note).toContain(
      "a \\| pipe, \\<script\\>alert(1)\\</script\\>, \\`ticks\\`, \\@group and \\#12 \\& \\~label<br>second line<br>\\# not a heading",
    );
    expect(note).toContain("red and a bell \\\\u0007 and NUL \\\\u0000");
    expect(note).not.toContain("\u001b");
    const fenced = buildMergeRequestNote({ check: sampleReport(), changes: [{ ...changes[0]!, diff: "+ ```\n+ ````\n" }] });
    expect(fenced).toContain("`````diff\n+ ```\n+ ````\n`````");
  });

  it("keeps file names findable verbatim: in code spans, hyphens and underscores in text unescaped", () => {
    const file = "gitops/flux/apps/my-app_v2/*weird*-name_file.yaml";
    const finding: Finding = {
      severity: "error",
      check: "validate/schema",
      layer: "apps",
      environment: "prod",
      file,
      line: 7,
      message: "the file does-not-exist, read by gitops-ci from my_app_config",
    };
    const named = buildMergeRequestNote({ check: sampleReport([finding]), changes: [{ ...changes[0]!, file }] });
    expect(named).toContain(`\`${file}:7\``);
    expect(named).toContain("the file does-not-exist, read by gitops-ci from my_app_config");
    expect(named).not.toMatch(/gitops\\-ci|does\\-not\\-exist|my\\_app/);
  });

  it("keeps injection inert: HTML, mentions, links, backticks in names, control characters", () => {
    const hostile: Finding = {
      ...secretFinding,
      check: "validate/schema",
      resource: { apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "a`b<script>" },
      file: "gitops/``evil``/<script>x.yaml",
      message:
        "<script>alert(1)</script> @all @group/team #1 !2 ~label %m $s &e [click](javascript:alert(1)) {+ added +} ![img](http://x/y.png)\u001b[31mred\u0007\u0000\n- not a list\n# not a heading\n> not a quote",
      hint: "<img src=x onerror=alert(1)>",
    };
    const hostileNote = buildMergeRequestNote({ check: sampleReport([hostile]) });
    const line = hostileNote.split("\n").find((candidate) => candidate.includes("javascript"))!;
    // No raw tag outside code spans (literal there), no unescaped reference or link syntax, no control character.
    const outsideCodeSpans = hostileNote.replace(/(?<!\\)(`+)(?!`)[\s\S]*?(?<!`)\1(?!`)/g, "");
    expect(outsideCodeSpans).not.toMatch(/(?<!\\)<script>|(?<!\\)<img /);
    expect(line).not.toMatch(/(?<!\\)[@#!~%$&]|(?<!\\)\[|(?<!\\)\]\(|(?<!\\)\{\+/);
    expect(line).toContain("\\@all \\@group/team \\#1 \\!2 \\~label \\%m \\$s \\&e \\[click\\](javascript:alert(1))");
    expect(line).toContain("<br>\\- not a list<br>\\# not a heading<br>\\> not a quote");
    expect(line).toContain("red\\\\u0007\\\\u0000");
    expect(hostileNote).not.toMatch(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/);
    // Backticks in a name cannot close its code span.
    expect(line).toContain("```gitops/``evil``/<script>x.yaml:4```");
  });

  it("says when no diff ran instead of showing zero changes", () => {
    const checkOnly = buildMergeRequestNote({ check: sampleReport() });
    expect(checkOnly.split("\n").find((line) => line.startsWith("| apps | prod"))).toBe("| apps | prod | ✅ 9 | 3 | 0 | – | – | – |");
    expect(checkOnly).toContain("– because no diff results were among the report's inputs");
    expect(checkOnly).not.toContain("Prunes and CRD changes");
  });

  it("passes a clean run in one line", () => {
    const clean = buildMergeRequestNote({ check: { summary: [sampleReport().summary[0]!], findings: [] }, changes: [] });
    expect(clean.split("\n")[0]).toBe("### ✅ gitops-ci: 1 overlay checked, nothing to report · no changes to the cluster");
    expect(clean).not.toContain("<details");
  });
});

describe("tallyOverlays", () => {
  it("adds layer × environment pairs that only the diff knows, after the checked ones", () => {
    const tallies = tallyOverlays({
      check: sampleReport(),
      changes: [{ layer: "configs", environment: "prod", ref: { apiVersion: "v1", kind: "Namespace", name: "shop" }, action: "create" }],
    });
    expect(tallies.map((tally) => tally.label)).toEqual([
      "fleet",
      "controllers/prod",
      "controllers/staging",
      "apps/prod",
      "apps/staging",
      "configs/prod",
    ]);
    expect(tallies.at(-1)).toMatchObject({ created: 1 });
    expect(tallies.at(-1)).not.toHaveProperty("row");
  });
});
