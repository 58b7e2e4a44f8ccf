import { describe, expect, it } from "vitest";
import { sectionsOf, splitNote } from "../../../core/gitlab/note-splitting.ts";

const URL = "https://gitlab.example.com/platform/fleet/-/jobs/55/artifacts/file/gitops-ci-report/merge-request-note.md";

function section(name: string, lines: number, width = 60): string {
  const body = Array.from({ length: lines }, (_, index) => `- ${name} finding ${index} ${"x".repeat(width)}`).join("\n");
  return `<details>\n<summary><b>${name}</b></summary>\n\n${body}\n\n</details>`;
}

/** Every `<details>` closed and every fence closed, within one part. */
function balanced(part: string): boolean {
  let depth = 0;
  let fence: string | undefined;
  for (const line of part.split("\n")) {
    const marker = /^(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker) fence = undefined;
      continue;
    }
    if (marker) {
      fence = marker;
      continue;
    }
    depth += (line.match(/<details[\s>]/g) ?? []).length - (line.match(/<\/details>/g) ?? []).length;
    if (depth < 0) return false;
  }
  return depth === 0 && fence === undefined;
}

/** The lines of the original report found in the parts, headers, footers and reopened blocks removed. */
function contentLines(parts: readonly string[]): string[] {
  return parts.flatMap((part) => part.split("\n")).filter((line) => line !== "" && !line.startsWith("> ") && !line.includes("(continued)"));
}

describe("splitNote", () => {
  it("leaves a note that fits as it is", () => {
    expect(splitNote("### report\n\nall good\n", { limit: 1_000 })).toEqual(["### report\n\nall good\n"]);
  });

  it("splits between top-level sections, each part within the limit, saying which part it is and linking the report", () => {
    const report = [
      "### ❌ gitops-ci: 30 errors",
      "| a | b |\n| --- | --- |\n| 1 | 2 |",
      ...["apps/prod", "apps/staging", "configs/prod", "configs/staging"].map((name) => section(name, 30)),
    ].join("\n\n");
    const parts = splitNote(report, { limit: 6_000, reserve: 200, fullReportUrl: URL });
    expect(parts.length).toBeGreaterThan(1);
    for (const [index, part] of parts.entries()) {
      expect(part.length).toBeLessThanOrEqual(5_800);
      expect(part.startsWith(`> **gitops-ci report, part ${index + 1} of ${parts.length}**`)).toBe(true);
      expect(part).toContain(`[the full report](${URL})`);
      expect(balanced(part)).toBe(true);
      // Whole sections only: no part reopens a section.
      expect(part).not.toContain("(continued)</summary>");
    }
    expect(parts[0]).toContain("### ❌ gitops-ci: 30 errors");
    expect(parts.at(-1)).not.toContain("Continued in part");
    expect(parts[0]).toContain(`> Continued in part 2 of ${parts.length}.`);
    expect(contentLines(parts)).toEqual(contentLines([report]));
  });

  it("breaks a section too long for one note between lines, closing and reopening its blocks and fences", () => {
    const diff = Array.from({ length: 400 }, (_, index) => `+  key${index}: ${"v".repeat(40)}`).join("\n");
    const huge = `<details open>\n<summary>❌ <b>apps/prod</b></summary>\n\n- a finding\n\n<details>\n<summary>diff: update ConfigMap shop/big</summary>\n\n\`\`\`diff\n${diff}\n\`\`\`\n\n</details>\n\n</details>`;
    const parts = splitNote(`### heading\n\n${huge}\n`, { limit: 5_000, reserve: 200 });
    expect(parts.length).toBeGreaterThan(3);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(4_800);
      expect(balanced(part)).toBe(true);
    }
    // The heading fits in part 1; the section starts part 2 and continues in part 3 and after.
    expect(parts[0]).not.toContain("<details");
    for (const part of parts.slice(2)) {
      expect(part).toContain("<details open>\n<summary>❌ <b>apps/prod</b> (continued)</summary>");
      expect(part).toContain("<details>\n<summary>diff: update ConfigMap shop/big (continued)</summary>\n\n```diff\n");
    }
    const sent = contentLines(parts).filter((line) => line.startsWith("+  key"));
    expect(sent).toEqual(diff.split("\n"));
  });

  it("cuts a single line longer than a note, visibly, losing nothing", () => {
    const line = "y".repeat(12_000);
    const parts = splitNote(`before\n\n${line}\n\nafter\n`, { limit: 5_000, reserve: 200 });
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(4_800);
    const notice = "… (this line continues in the next part)";
    expect(parts.filter((part) => part.includes(notice)).length).toBeGreaterThanOrEqual(2);
    const ys = parts.join("").replace(/[^y]/g, "");
    expect(ys).toBe(line);
  });

  it("never cuts a surrogate pair", () => {
    const parts = splitNote(`${"😀".repeat(3_000)}\n`, { limit: 2_000, reserve: 0 });
    for (const part of parts) expect(part).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
    expect(parts.join("").match(/😀/g)).toHaveLength(3_000);
  });

  it("holds a 3,000,000-character report within GitLab's 1,000,000-character limit", () => {
    const report = ["### big", ...Array.from({ length: 30 }, (_, index) => section(`layer${index}/prod`, 1_500))].join("\n\n");
    expect(report.length).toBeGreaterThan(3_000_000);
    const parts = splitNote(report, { fullReportUrl: URL });
    expect(parts.length).toBeGreaterThanOrEqual(4);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(1_000_000 - 200);
    expect(contentLines(parts)).toEqual(contentLines([report]));
  });
});

describe("sectionsOf", () => {
  it("keeps a <details> block whole, ignores tags inside code fences, and keeps lines between blocks apart", () => {
    const text = "heading\n\n<details>\n<summary>s</summary>\n\n```\n</details>\n```\n\n</details>\nafter\n";
    expect(sectionsOf(text).map((unit) => unit.text)).toEqual([
      "heading\n",
      "\n",
      "<details>\n<summary>s</summary>\n\n```\n</details>\n```\n\n</details>\n",
      "after\n",
    ]);
  });
});
