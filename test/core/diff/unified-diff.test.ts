import { describe, expect, it } from "vitest";
import { diffLines, unifiedDiff } from "../../../core/diff/unified-diff.ts";

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
      ["--- live", "+++ after apply", "@@ -3,7 +3,7 @@", " line 3", " line 4", " line 5", "-line 6", "+changed 6", " line 7", " line 8", " line 9"].join("\n"),
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

  it("finds a shortest edit script", () => {
    const a = "ABCABBA".split("");
    const b = "CBABAC".split("");
    const edits = diffLines(a, b);
    expect(edits.filter((edit) => edit.kind !== "keep")).toHaveLength(5);
    expect(edits.filter((edit) => edit.kind !== "add").map((edit) => edit.line).join("")).toBe("ABCABBA");
    expect(edits.filter((edit) => edit.kind !== "remove").map((edit) => edit.line).join("")).toBe("CBABAC");
  });
});
