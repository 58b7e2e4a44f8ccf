import { describe, expect, it } from "vitest";
import { unifiedDiff, unifiedHunks } from "../../../core/diff/unified-diff.ts";
import { gitDiffOfTexts } from "./git-diff-oracle.ts";

const lines = (count: number, prefix = "line") => Array.from({ length: count }, (_, index) => `${prefix} ${index + 1}`);

describe("unifiedDiff", () => {
  it("is empty for equal texts", () => {
    expect(unifiedDiff("a\nb\n", "a\nb\n")).toBe("");
  });

  it("prints hunks with three lines of context and git's line ranges", () => {
    const before = lines(12);
    const after = [...before];
    after[5] = "changed 6";
    expect(unifiedDiff(`${before.join("\n")}\n`, `${after.join("\n")}\n`, { oldLabel: "live", newLabel: "after apply" })).toBe(
      [
        "--- live",
        "+++ after apply",
        "@@ -3,7 +3,7 @@",
        " line 3",
        " line 4",
        " line 5",
        "-line 6",
        "+changed 6",
        " line 7",
        " line 8",
        " line 9",
      ].join("\n"),
    );
  });

  it("splits far-apart changes into hunks and joins close ones", () => {
    const before = lines(30);
    const after = [...before];
    after[1] = "x";
    after[27] = "y";
    const far = unifiedDiff(before.join("\n"), after.join("\n"));
    expect(far.match(/^@@/gm)).toHaveLength(2);
    expect(far).toContain("@@ -1,5 +1,5 @@");
    expect(far).toContain("@@ -25,6 +25,6 @@");
    const near = [...before];
    near[1] = "x";
    near[8] = "y";
    expect(unifiedDiff(before.join("\n"), near.join("\n")).match(/^@@/gm)).toHaveLength(1);
  });

  it("handles additions at the start, removals at the end, and empty sides", () => {
    expect(unifiedDiff("b\n", "a\nb\n")).toBe(["--- a", "+++ b", "@@ -1 +1,2 @@", "+a", " b"].join("\n"));
    expect(unifiedDiff("a\nb\n", "a\n")).toBe(["--- a", "+++ b", "@@ -1,2 +1 @@", " a", "-b"].join("\n"));
    expect(unifiedDiff("", "a\n")).toBe(["--- a", "+++ b", "@@ -0,0 +1 @@", "+a"].join("\n"));
  });

  it("has the hunks git diff --no-index writes (the oracle), for the live diff and the diff in Git alike", async () => {
    const base = lines(40);
    const cases: [string, string][] = [
      [`${base.join("\n")}\n`, `${base.map((line, index) => (index % 9 === 4 ? `${line} changed` : line)).join("\n")}\n`],
      [`${base.join("\n")}\n`, `${["new first", ...base.slice(3), "new last"].join("\n")}\n`],
      ["a\nb\nc\n", "c\nb\na\n"],
      ["", "only\nnew\n"],
      ["old\nonly\n", ""],
      ["no newline at the end", "no newline at the end, changed"],
      ["spec:\n  replicas: 2\n  replicas: 2\n", "spec:\n  replicas: 3\n  replicas: 2\n  replicas: 2\n"],
    ];
    for (const [before, after] of cases)
      expect(unifiedHunks(before, after), JSON.stringify([before, after])).toBe(await gitDiffOfTexts(before, after));
  });

  it("diffs a CRD-size object (20,000 lines, scattered changes) as git does, in bounded memory", async () => {
    const before = `${Array.from({ length: 20_000 }, (_, index) => `${" ".repeat(2 + (index % 5) * 2)}field${index}: value ${index}`).join("\n")}\n`;
    const after = before
      .split("\n")
      .map((line, index) => (index % 997 === 13 ? `${line} # changed` : index % 1_511 === 7 ? undefined : line))
      .filter((line) => line !== undefined)
      .join("\n");
    const hunks = unifiedHunks(before, after);
    expect(hunks.match(/^@@/gm)!.length).toBeGreaterThan(30);
    expect(hunks).toBe(await gitDiffOfTexts(before, after));
    // A change every 13 lines: some 3,000 edits, where the hand-written diff held 1 GB.
    const dense = before
      .split("\n")
      .map((line, index) => (index % 13 === 3 ? `${line} # changed` : line))
      .join("\n");
    expect(unifiedHunks(before, dense)).toBe(await gitDiffOfTexts(before, dense));
  });

  it("shows a rewrite past its edit budget as one hunk replacing every line", () => {
    const before = `${lines(20_000, "old").join("\n")}\n`;
    const after = `${lines(20_000, "new").join("\n")}\n`;
    // A small budget, so the test does not spend the default's seconds finding it exceeded.
    const hunks = unifiedHunks(before, after, 3, 200).split("\n");
    expect(hunks[0]).toBe("@@ -1,20000 +1,20000 @@");
    expect(hunks.filter((line) => line.startsWith("-"))).toHaveLength(20_000);
    expect(hunks.filter((line) => line.startsWith("+"))).toHaveLength(20_000);
    expect(unifiedHunks("", "a\nb\n", 3, 0)).toBe("@@ -0,0 +1,2 @@\n+a\n+b");
  });
});
