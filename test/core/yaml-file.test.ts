import { describe, expect, it } from "vitest";
import { parseYaml } from "../../core/yaml-file.ts";

describe("parseYaml", () => {
  it("reports syntax errors with their line and a message that is a whole sentence, no dangling location", () => {
    // What the finding says is the yaml library's to word; where it points and what it is, ours.
    const cases: [string, number][] = [
      ["metadata:\n  name: web\n namespace: ingress\n", 3],
      ["a: [1, 2\n", 2],
      ["key: value\n\tbad: tab\n", 2],
      ["- a\nb: c\n", 2],
    ];
    for (const [text, line] of cases) {
      const [first] = parseYaml(text, "f.yaml").findings;
      expect(first, text).toEqual({ severity: "error", check: "yaml/syntax", file: "f.yaml", line, message: expect.any(String) });
      expect(first!.message, text).toMatch(/^\S.*[^:\s]$/);
      expect(first!.message, text).not.toMatch(/\bline \d|column \d|\n/);
    }
  });

  it("reports a duplicate key as its own check", () => {
    expect(parseYaml("a: 1\na: 2\n", "f.yaml").findings).toEqual([
      { severity: "error", check: "yaml/duplicate-key", file: "f.yaml", line: 2, message: expect.any(String) },
    ]);
  });

  it("an alias to no anchor is a finding at its line that does not quote the alias (it may be a secret value)", () => {
    const parsed = parseYaml("stringData:\n  user: app\n  password: *hunter2-canary\n", "secret.yaml");
    expect(parsed.documents).toEqual([]);
    expect(parsed.findings).toEqual([
      {
        severity: "error",
        check: "yaml/syntax",
        file: "secret.yaml",
        line: 3,
        message: "an alias (*name) refers to no anchor (&name) defined before it",
      },
    ]);
  });

  it("never quotes the token it stopped at", () => {
    const parsed = parseYaml("password: }hunter2-canary\n", "secret.yaml");
    expect(parsed.findings.length).toBeGreaterThan(0);
    expect(JSON.stringify(parsed.findings)).not.toContain("hunter2-canary");
  });
});
