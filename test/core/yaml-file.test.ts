import { describe, expect, it } from "vitest";
import { parseYaml } from "../../core/yaml-file.ts";

describe("parseYaml", () => {
  it("reports syntax errors with their line and a message that is a whole sentence, no dangling location", () => {
    const cases: [string, number, string][] = [
      ["metadata:\n  name: web\n namespace: ingress\n", 3, "All mapping items must start at the same column"],
      ["a: [1, 2\n", 2, "Flow sequence in block collection must be sufficiently indented and end with a ]"],
      ["key: value\n\tbad: tab\n", 2, "Tabs are not allowed as indentation"],
      ["- a\nb: c\n", 2, "Unexpected scalar at node end"],
    ];
    for (const [text, line, message] of cases) {
      const [first] = parseYaml(text, "f.yaml").findings;
      expect(first).toEqual({ severity: "error", check: "yaml/syntax", file: "f.yaml", line, message });
    }
  });

  it("reports a duplicate key as its own check", () => {
    expect(parseYaml("a: 1\na: 2\n", "f.yaml").findings).toEqual([{ severity: "error", check: "yaml/duplicate-key", file: "f.yaml", line: 2, message: "Map keys must be unique" }]);
  });

  it("an alias to no anchor is a finding at its line that does not quote the alias (it may be a secret value)", () => {
    const parsed = parseYaml("stringData:\n  user: app\n  password: *hunter2-canary\n", "secret.yaml");
    expect(parsed.documents).toEqual([]);
    expect(parsed.findings).toEqual([{ severity: "error", check: "yaml/syntax", file: "secret.yaml", line: 3, message: "an alias (*name) refers to no anchor (&name) defined before it" }]);
  });

  it("never quotes the token it stopped at", () => {
    const parsed = parseYaml("password: }hunter2-canary\n", "secret.yaml");
    expect(parsed.findings.length).toBeGreaterThan(0);
    expect(JSON.stringify(parsed.findings)).not.toContain("hunter2-canary");
  });
});
