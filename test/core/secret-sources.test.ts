import { describe, expect, it } from "vitest";
import { Redactor } from "../../core/redaction.ts";
import { secretValuesOfText, tolerantValues } from "../../core/secret-sources.ts";

const secret = (body: string) => `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: ingress\n${body}`;

describe("secret-bearing files, read before anything prints", () => {
  it("takes a parsed Secret's values, data decoded", () => {
    const values = secretValuesOfText(
      "db.yaml",
      secret(`data:\n  a: ${Buffer.from("decoded-canary").toString("base64")}\nstringData:\n  b: string-canary\n`),
    );
    expect(values).toEqual(expect.arrayContaining(["decoded-canary", "string-canary"]));
    expect(values).not.toEqual(expect.arrayContaining(["db", "ingress", "Secret", "v1"]));
  });

  it("takes every piece of a Secret that does not parse, outside metadata", () => {
    const values = secretValuesOfText(
      "db.yaml",
      secret("stringData:\n  password: }brace-canary\n  token: *alias-canary\n  url: a: b-colon-canary\n"),
    );
    for (const piece of ["}brace-canary", "brace-canary", "*alias-canary", "alias-canary", "b-colon-canary"])
      expect(values).toContain(piece);
    expect(values).not.toEqual(expect.arrayContaining(["db", "ingress", "Secret"]));
  });

  it("takes a SealedSecret template's values, and a kustomization's generator literals (a malformed one whole)", () => {
    const sealed =
      "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: s\nspec:\n  template:\n    stringData:\n      url: sealed-template-canary\n";
    expect(secretValuesOfText("sealed.yaml", sealed)).toContain("sealed-template-canary");
    const kustomization =
      "resources: [../../base]\nsecretGenerator:\n  - name: api\n    literals:\n      - token=literal-canary\n      - password typo-canary\n";
    const values = secretValuesOfText("kustomization.yaml", kustomization);
    expect(values).toEqual(expect.arrayContaining(["literal-canary", "password typo-canary"]));
    expect(values).not.toContain("../../base");
  });

  it("ignores files that hold no Secret, and Flux Kustomizations that only name one", () => {
    expect(secretValuesOfText("cm.yaml", "apiVersion: v1\nkind: ConfigMap\ndata:\n  mode: strict-mode-value\n")).toEqual([]);
    expect(
      secretValuesOfText(
        "apps.yaml",
        "kind: Kustomization\nspec:\n  path: ./apps\n  postBuild:\n    substituteFrom:\n      - kind: Secret\n        name: vars\n",
      ),
    ).toEqual([]);
  });

  it("guesses nothing under a metadata: key at any depth (a SealedSecret template's labels name things)", () => {
    const sealed =
      "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: grafana\nspec:\n  template:\n    metadata:\n      labels:\n        app.kubernetes.io/part-of: observability\n    stringData:\n      url: template-value-canary\n";
    const values = tolerantValues(sealed);
    expect(values).toContain("template-value-canary");
    expect(values.some((value) => value.includes("observability"))).toBe(false);
  });

  it("guesses no booleans, numbers or short words from a broken file", () => {
    expect(tolerantValues("stringData:\n  a: true\n  b: 42\n  c: ab\n")).toEqual(["ab"]);
  });
});

describe("the redactor", () => {
  it("masks base64 of a value at each alignment inside a longer encoded string", () => {
    const redactor = new Redactor();
    const value = "aligned-canary-value";
    redactor.add(value);
    for (const prefix of ["", "x", "xy", "xyz"]) {
      const encoded = Buffer.from(`${prefix}${value}-and-more`).toString("base64");
      expect(redactor.redact(encoded), prefix).toContain("[REDACTED]");
    }
  });
});
