import { describe, expect, it } from "vitest";
import { diffProblem, type ObjectChange } from "../../../core/model/object-changes.ts";
import { formatDiffMarkdown } from "../../../core/report/diff-markdown.ts";
import { formatDiffForTerminal, summaryLine } from "../../../core/report/diff-terminal.ts";

const ref = (kind: string, name: string, namespace = "apps") => ({ apiVersion: "v1", kind, name, namespace });
const changes: ObjectChange[] = [
  { environment: "prod", layer: "controllers", ref: ref("Namespace", "apps"), action: "unchanged" },
  { environment: "prod", layer: "apps", ref: ref("ConfigMap", "new"), action: "create", file: "apps/base/new.yaml" },
  {
    environment: "prod",
    layer: "apps",
    ref: ref("Deployment", "web"),
    action: "update",
    diff: "--- live\n+++ after apply\n@@ -1 +1 @@\n-replicas: 1\n+replicas: 2\n```inside```",
  },
  { environment: "prod", layer: "apps", ref: ref("Secret", "creds"), action: "update", diff: "data.password: changed" },
  { environment: "prod", layer: "apps", ref: ref("ConfigMap", "old"), action: "prune" },
  {
    environment: "prod",
    layer: "apps",
    ref: ref("Widget", "w"),
    action: "wait",
    waitingOn: "controllers",
    reason: "needs CustomResourceDefinition widgets.acme.io",
  },
];

describe("formatDiffMarkdown", () => {
  it("has a table of counts and one collapsible section per environment and layer with changes", () => {
    const markdown = formatDiffMarkdown(changes);
    expect(markdown).toContain("### gitops-ci diff");
    expect(markdown).toContain("| prod | apps | 1 | 2 | 1 | 1 | 0 | 0 |");
    expect(markdown).toContain("| prod | controllers | 0 | 0 | 0 | 0 | 0 | 1 |");
    expect(markdown).not.toContain("<summary>prod / controllers");
    expect(markdown).toContain("<details><summary>prod / apps: 1 to create, 2 to change, 1 to prune, 1 waiting</summary>");
    expect(markdown).toContain("- ➕ `ConfigMap/apps/new` to create (`apps/base/new.yaml`)");
    expect(markdown).toContain("- ⏳ `Widget/apps/w` waits on layer controllers: needs CustomResourceDefinition widgets.acme.io");
    // A fence longer than any backtick run inside the diff.
    expect(markdown).toContain("  ````diff\n  --- live");
    expect(markdown).toContain("  data.password: changed");
  });

  it("says it is incomplete, and lists the problems, when anything could not be compared", () => {
    const markdown = formatDiffMarkdown([], {
      problems: [
        diffProblem("diff/cluster", { environment: "prod", message: "unreachable: connect ECONNREFUSED", hint: "is the cluster up?" }),
      ],
    });
    expect(markdown).toContain("**Incomplete:** 1 problem kept the diff from being complete.");
    expect(markdown).toContain("- `prod`: unreachable: connect ECONNREFUSED (hint: is the cluster up?)");
    expect(markdown).not.toMatch(/no changes/i);
  });

  it("leaves nothing out by default; with a length to fit (a drift issue), the longest diffs first", () => {
    const long: ObjectChange[] = [
      { environment: "prod", layer: "apps", ref: ref("ConfigMap", "big"), action: "update", diff: "+x\n".repeat(2000) },
      { environment: "prod", layer: "apps", ref: ref("ConfigMap", "small"), action: "update", diff: "+y" },
    ];
    const markdown = formatDiffMarkdown(long, { maxLength: 3000 });
    expect(markdown.length).toBeLessThanOrEqual(3000);
    expect(markdown).toContain("diff of 2001 lines left out to fit: see the JSON report artifact");
    expect(formatDiffMarkdown(long)).toContain(
      "+x\n"
        .repeat(2000)
        .trimEnd()
        .split("\n")
        .map((line) => `  ${line}`)
        .join("\n"),
    );
    expect(markdown).toContain("  +y");
  });
});

describe("the terminal report", () => {
  it("shows changes with their diffs and never says 'no changes' when there are problems", () => {
    const text = formatDiffForTerminal([
      { environment: "prod", context: "ctx", server: "https://k", layers: ["controllers", "apps"], changes, problems: [] },
    ]);
    expect(text).toContain("prod (context ctx, https://k)");
    expect(text).toContain("  controllers: 1 unchanged");
    expect(text).toMatch(/~ Deployment\/apps\/web\s+to change\n {8}--- live/);
    expect(text.trimEnd().split("\n").at(-1)).toBe("changes: prod: 1 to create, 2 to change, 1 to prune, 1 waiting, 1 unchanged");
    expect(
      summaryLine([
        {
          environment: "prod",
          layers: [],
          changes: [changes[0]!],
          problems: [diffProblem("diff/cluster", { environment: "prod", message: "x" })],
        },
      ]),
    ).toMatch(/^INCOMPLETE/);
    expect(summaryLine([{ environment: "prod", layers: [], changes: [changes[0]!], problems: [] }])).toBe("no changes: prod: 1 unchanged");
  });
});
