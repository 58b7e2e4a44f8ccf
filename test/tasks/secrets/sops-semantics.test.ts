// gitops-ci's reading of sops, checked against the real sops binary: which creation rule applies
// to a path, and the Go regexp translation it relies on.
import { execFileSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { compileGoRegexp } from "../../../core/sops/go-regexp.ts";
import { inspectSopsFile } from "../../../core/sops/encrypted-file.ts";
import { shouldBeEncrypted } from "../../../core/sops/metadata.ts";
import { matchCreationRule, parseSopsConfig, SopsConfigResolver } from "../../../core/sops/creation-rules.ts";
import { PROJECT_ROOT } from "../../../core/toolchain.ts";
import { ageKeygen } from "../../helpers/sops.ts";
import { makeTempDir } from "../../helpers/temp-repo.ts";

const SOPS = path.join(PROJECT_ROOT, ".tools", "bin", "sops");

describe("Go regexp translation", () => {
  it("matches anywhere, like Go's MatchString", () => {
    const compiled = compileGoRegexp("secrets/.*\\.ya?ml$");
    expect(compiled.ok && compiled.regexp.test("apps/prod/secrets/db.yaml")).toBe(true);
  });

  it("translates Go-only syntax", () => {
    const cases: [string, string, boolean][] = [
      ["(?i)^SECRETS/", "secrets/a", true],
      ["^(?P<env>prod|staging)/", "prod/a", true],
      ["\\Aapps\\z", "apps", true],
      ["\\Aapps\\z", "apps/x", false],
      ["^[[:alpha:]]+/", "apps/", true],
      ["\\Q.sops\\E$", "a.sops", true],
      ["\\Q.sops\\E$", "axsops", false],
    ];
    for (const [pattern, input, expected] of cases) {
      const compiled = compileGoRegexp(pattern);
      expect(compiled.ok, pattern).toBe(true);
      if (compiled.ok) expect(compiled.regexp.test(input), `${pattern} on ${input}`).toBe(expected);
    }
  });

  it("rejects what Go's RE2 rejects", () => {
    for (const pattern of ["^(?!tmp/).*", "(a)\\1", "(?<=x)y", "[a-"]) expect(compileGoRegexp(pattern).ok, pattern).toBe(false);
  });

  it("decides which values are encrypted exactly as sops does, for Go-only syntax in the key regexes", async () => {
    const root = await makeTempDir();
    const key = await ageKeygen(root);
    const document = "password: a\nSecretToken: b\nname: c\ndata:\n  user: d\n  PASS_word: e\nstringData:\n  note: f\n";
    const cases: [string, string][] = [
      ["--encrypted-regex", "((?i)(pass|secret))"],
      ["--encrypted-regex", "^(data|stringData)$"],
      ["--unencrypted-regex", "(?i)^name$|\\Anote\\z"],
      ["--encrypted-regex", "^(?P<field>password|user)$"],
    ];
    for (const [flag, pattern] of cases) {
      const file = path.join(root, "values.yaml");
      await writeFile(file, document);
      execFileSync(SOPS, ["--config", "/dev/null", "--age", key.publicKey, flag, pattern, "--encrypt", "--in-place", file], {
        stdio: "pipe",
      });
      const inspection = inspectSopsFile("values.yaml", await readFile(file));
      expect(inspection.metadata?.problems, pattern).toEqual([]);
      const rule = inspection.metadata!.rule;
      for (const value of inspection.values) {
        const label = `${pattern}: ${value.path.join(".")}`;
        expect(value.state === "encrypted", label).toBe(shouldBeEncrypted(value.path, rule));
      }
    }
  });
});

describe("creation rules, as sops applies them", () => {
  it("picks the first rule whose path_regex matches the path relative to the .sops.yaml folder", async () => {
    const root = await makeTempDir();
    const [first, second, fallback] = await Promise.all([ageKeygen(root, "a.txt"), ageKeygen(root, "b.txt"), ageKeygen(root, "c.txt")]);
    const config = [
      "creation_rules:",
      "  - path_regex: ^clusters/prod/.*\\.yaml$",
      `    age: ${first.publicKey}`,
      "  - path_regex: secrets/",
      `    age: ${second.publicKey}`,
      "  - age: >-",
      `      ${fallback.publicKey}`,
      "",
    ].join("\n");
    const repo = path.join(root, "repo");
    await mkdir(repo);
    await writeFile(path.join(repo, ".sops.yaml"), config);
    const paths = [
      "clusters/prod/secrets/a.yaml",
      "clusters/staging/secrets/a.yaml",
      "x/clusters/prod/a.yaml",
      "clusters/prod/a.json",
      "apps/a.yaml",
    ];
    const parsed = parseSopsConfig(config, ".sops.yaml");
    expect(parsed.findings).toEqual([]);
    const byKey = new Map([first, second, fallback].map((identity, index) => [identity.publicKey, index]));
    for (const file of paths) {
      await mkdir(path.dirname(path.join(repo, file)), { recursive: true });
      await writeFile(path.join(repo, file), file.endsWith(".json") ? '{"a": "b"}' : "a: b\n");
      // sops run from a sub-folder finds the .sops.yaml above it and still matches relative to its folder.
      execFileSync(SOPS, ["--encrypt", "--in-place", path.basename(file)], { cwd: path.join(repo, path.dirname(file)), stdio: "pipe" });
      const inspection = inspectSopsFile(file, await readFile(path.join(repo, file)));
      const used = byKey.get(inspection.metadata!.recipients[0]!.id);
      const match = matchCreationRule(parsed, SopsConfigResolver.pathForRule(parsed, file));
      expect(match.kind === "rule" ? match.rule.index : -1, file).toBe(used);
    }
  });

  it("stores sops metadata in every YAML document, and reads it from the first", async () => {
    const root = await makeTempDir();
    const key = await ageKeygen(root);
    await writeFile(path.join(root, "multi.yaml"), "a: one\n---\nb: two\n");
    execFileSync(SOPS, ["--config", "/dev/null", "--age", key.publicKey, "--encrypt", "--in-place", "multi.yaml"], {
      cwd: root,
      stdio: "pipe",
    });
    const text = await readFile(path.join(root, "multi.yaml"), "utf8");
    expect(text.match(/^sops:/gm)).toHaveLength(2);
    const inspection = inspectSopsFile("multi.yaml", Buffer.from(text));
    expect(inspection.metadata?.problems).toEqual([]);
    expect(inspection.divergentMetadata).toEqual([]);
    expect(inspection.values.map((value) => value.state)).toEqual(["encrypted", "encrypted"]);
  });

  it("reads metadata from every store: dotenv, JSON, INI and binary", async () => {
    const root = await makeTempDir();
    const key = await ageKeygen(root);
    const files: Record<string, string> = {
      "a.env": "TOKEN=x1\nNAME_unencrypted=visible\n",
      "a.json": '{"a": {"b": [1, "two"]}}',
      "a.ini": "[db]\npassword = x\n",
      "a.bin": "raw\u0000bytes",
    };
    for (const [file, content] of Object.entries(files)) {
      await writeFile(path.join(root, file), content);
      execFileSync(SOPS, ["--config", "/dev/null", "--age", key.publicKey, "--encrypt", "--in-place", file], { cwd: root, stdio: "pipe" });
      const inspection = inspectSopsFile(file, await readFile(path.join(root, file)));
      expect(inspection.metadata?.problems, file).toEqual([]);
      expect(inspection.metadata?.recipients, file).toEqual([{ type: "age", id: key.publicKey }]);
      const states = inspection.values.map((value) => `${value.path.join(".")}=${value.state}`);
      expect(
        states.filter((state) => state.endsWith("=plaintext")),
        file,
      ).toEqual(file === "a.env" ? ["NAME_unencrypted=plaintext"] : []);
    }
  });
});
