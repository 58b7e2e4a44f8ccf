import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { loadAll } from "js-yaml";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { resourceRefOf, type Manifest } from "../../core/manifests.ts";
import { REDACTED, Redactor } from "../../core/redaction.ts";
import { formatManifestsYaml, formatRedactedDocument } from "../../core/yaml-artifacts.ts";
import { render } from "../../tasks/render/index.ts";
import { captureContext } from "../helpers/context.ts";
import { overlayPath, smallFleet } from "../helpers/small-fleet.ts";
import { makeRepo, makeTempDir } from "../helpers/temp-repo.ts";

const CANARY = "canary-3b9f1d-yaml-artifact";

/** Strings YAML 1.1 (kubectl's and Flux's Go YAML), 1.2 or js-yaml read as something else unquoted. */
const LOOKALIKES = [
  "No",
  "no",
  "NO",
  "off",
  "Off",
  "OFF",
  "yes",
  "Yes",
  "on",
  "On",
  "y",
  "Y",
  "n",
  "N",
  "true",
  "False",
  "1e3",
  "0x1F",
  "0X1F",
  "012",
  "1_000",
  "0o17",
  "-0o17",
  "0b101",
  "+12",
  "-0",
  ".5",
  "1.",
  "1:20",
  ".inf",
  "-.Inf",
  ".NaN",
  "~",
  "null",
  "Null",
  "NULL",
  "",
  "2001-12-14",
  "2001-12-14 21:59:43.10 -5",
  "<<",
];

function redactorFor(...secrets: string[]): Redactor {
  const redactor = new Redactor();
  for (const secret of secrets) redactor.add(secret);
  return redactor;
}

function manifest(object: Record<string, unknown>): Manifest {
  return { ref: resourceRefOf(object), object };
}

function configMap(data: unknown): Record<string, unknown> {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "app", namespace: "default" }, data };
}

/** Every document, read by `yaml` as YAML 1.1 and 1.2 and by js-yaml's default schema; throws on any error. */
function readAllWays(text: string): { yaml11: unknown[]; yaml12: unknown[]; jsYaml: unknown[] } {
  const read = (version: "1.1" | "1.2") =>
    parseAllDocuments(text, { version, uniqueKeys: true }).map((document) => {
      if (document.errors.length > 0) throw new Error(`YAML ${version}: ${document.errors[0]!.message}`);
      return document.toJS();
    });
  return { yaml11: read("1.1"), yaml12: read("1.2"), jsYaml: loadAll(text) };
}

/** The one value every reader gets back from the output (fails if any reader disagrees). */
function readBack(text: string): unknown[] {
  const { yaml11, yaml12, jsYaml } = readAllWays(text);
  expect(yaml11).toEqual(jsYaml);
  expect(yaml12).toEqual(jsYaml);
  return jsYaml;
}

describe("formatRedactedDocument", () => {
  it("masks a secret inside a host name and keeps the YAML valid", () => {
    const text = formatRedactedDocument(
      configMap({ tunnel: "abc123def.cfargotunnel.com", hosts: ["abc123def.cfargotunnel.com"] }),
      redactorFor("abc123def"),
    );
    expect(text).not.toContain("abc123def");
    expect(readBack(text)).toEqual([configMap({ tunnel: `${REDACTED}.cfargotunnel.com`, hosts: [`${REDACTED}.cfargotunnel.com`] })]);
    // The text-replacement output this replaces, `- [REDACTED].cfargotunnel.com`, is not YAML.
    expect(() => loadAll(`hosts:\n  - ${REDACTED}.cfargotunnel.com\n`)).toThrow();
  });

  it("masks a secret inside a list item, a map key and a multi-line value", () => {
    const value = {
      args: ["--token", `--token=${CANARY}`, "--verbose"],
      keys: { [`${CANARY}.example.com`]: "host", plain: "kept" },
      script: `#!/bin/sh\nexport TOKEN=${CANARY}\n  indented line\necho done\n`,
    };
    const text = formatRedactedDocument(value, redactorFor(CANARY));
    expect(text).not.toContain(CANARY);
    expect(readBack(text)).toEqual([
      {
        args: ["--token", `--token=${REDACTED}`, "--verbose"],
        keys: { [`${REDACTED}.example.com`]: "host", plain: "kept" },
        script: `#!/bin/sh\nexport TOKEN=${REDACTED}\n  indented line\necho done\n`,
      },
    ]);
  });

  it("replaces a value that is exactly a secret, and keeps masked keys of one map distinct", () => {
    const text = formatRedactedDocument(
      { token: CANARY, [CANARY]: "a", "other-secret-value": "b", [REDACTED]: "c" },
      redactorFor(CANARY, "other-secret-value"),
    );
    expect(text).not.toContain(CANARY);
    expect(text).not.toContain("other-secret-value");
    expect(readBack(text)).toEqual([{ token: REDACTED, [REDACTED]: "a", [`${REDACTED} (2)`]: "b", [`${REDACTED} (3)`]: "c" }]);
  });

  it("masks a number or boolean whose text is a registered value, and leaves other numbers typed", () => {
    const text = formatRedactedDocument({ pin: 482913, port: 8080, enabled: true, nothing: null }, redactorFor("482913"));
    expect(readBack(text)).toEqual([{ pin: REDACTED, port: 8080, enabled: true, nothing: null }]);
  });

  it("quotes strings that YAML 1.1, 1.2 or js-yaml would read as null, booleans, numbers or dates", () => {
    const value = { values: LOOKALIKES, keys: Object.fromEntries(LOOKALIKES.map((s) => [s, s])) };
    const text = formatRedactedDocument(value, new Redactor());
    const { yaml11, yaml12, jsYaml } = readAllWays(text);
    for (const [reader, documents] of Object.entries({ yaml11, yaml12, jsYaml })) expect(documents, reader).toEqual([value]);
    expect(text).toContain('  - "No"\n');
    expect(text).toContain('  "off": "off"\n');
    expect(text).toContain('  "<<": "<<"\n');
  });

  it("leaves ordinary strings plain", () => {
    expect(
      formatRedactedDocument({ image: "nginx:1.25.3", version: "1.25.3", mode: "strict", host: "a.example.com" }, new Redactor()),
    ).toBe("image: nginx:1.25.3\nversion: 1.25.3\nmode: strict\nhost: a.example.com\n");
  });

  it("masks a whole map when only its keys and values together show a registered value", () => {
    // A Secret holding a config file registers each of its long lines, `password: hunter2pass` too.
    const redactor = redactorFor("user: admin\npassword: hunter2pass\n");
    const text = formatRedactedDocument(
      { kind: "ConfigMap", data: { user: "admin", password: "hunter2pass" }, other: { mode: "strict" } },
      redactor,
    );
    expect(text).not.toContain("password: hunter2pass");
    expect(readBack(text)).toEqual([{ kind: "ConfigMap", data: REDACTED, other: { mode: "strict" } }]);
  });
});

describe("formatManifestsYaml", () => {
  it("writes one document per object and masks every Secret value but encrypted ones", () => {
    const secret = manifest({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "db", namespace: "default" },
      data: { password: Buffer.from(CANARY).toString("base64"), sops: "ENC[AES256_GCM,data:abc=,type:str]" },
      stringData: { url: `postgres://app:${CANARY}@db/app` },
    });
    const redactor = redactorFor(CANARY);
    const text = formatManifestsYaml([manifest(configMap({ enabled: "off", url: `postgres://app:${CANARY}@db/app` })), secret], redactor);
    expect(text).not.toContain(CANARY);
    expect(text).not.toContain(Buffer.from(CANARY).toString("base64"));
    expect(readBack(text)).toEqual([
      configMap({ enabled: "off", url: `postgres://app:${REDACTED}@db/app` }),
      { ...secret.object, data: { password: REDACTED, sops: "ENC[AES256_GCM,data:abc=,type:str]" }, stringData: { url: REDACTED } },
    ]);
  });
});

describe("rendered artifacts", () => {
  it("are YAML every reader parses, with the secret masked and look-alike strings kept as strings", async () => {
    const tree = smallFleet(["prod"]);
    const configs = "gitops/flux/infrastructure/configs/base";
    tree[`${configs}/kustomization.yaml`] =
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - configmap.yaml\n  - secret.yaml\n";
    tree[`${configs}/secret.yaml`] =
      `apiVersion: v1\nkind: Secret\nmetadata:\n  name: tunnel\n  namespace: ingress\nstringData:\n  id: ${CANARY}\n`;
    tree[`${configs}/configmap.yaml`] = [
      "apiVersion: v1",
      "kind: ConfigMap",
      "metadata:",
      "  name: settings",
      "  namespace: ingress",
      "data:",
      `  tunnel: ${CANARY}.cfargotunnel.com`,
      `  hosts: "- ${CANARY}.cfargotunnel.com"`,
      `  ${CANARY}.cfargotunnel.com: target`,
      '  enabled: "No"',
      '  verbose: "off"',
      '  size: "1_000"',
      '  mask: "0x1F"',
      "",
    ].join("\n");
    const root = await makeRepo(tree);
    const out = await makeTempDir();
    const { context } = captureContext(root);
    const result = await render(context, { dir: root, outDir: out });
    expect(result.findings).toEqual([]);
    expect(result.rendered.find((r) => r.overlay.path === overlayPath("configs", "prod"))?.ok).toBe(true);
    const dir = path.join(out, "rendered", "prod");
    const files = (await readdir(dir)).filter((name) => name.endsWith("-configs.yaml"));
    expect(files).toHaveLength(1);
    const text = await readFile(path.join(dir, files[0]!), "utf8");
    expect(text).not.toContain(CANARY);
    expect(text).not.toContain(Buffer.from(CANARY).toString("base64"));
    const documents = readBack(text) as { kind: string; metadata: { name: string }; data?: unknown; stringData?: unknown }[];
    expect(documents.map((document) => `${document.kind}/${document.metadata.name}`).sort()).toEqual([
      "ConfigMap/settings-prod",
      "Secret/tunnel-prod",
    ]);
    expect(documents.find((document) => document.kind === "ConfigMap")?.data).toEqual({
      tunnel: `${REDACTED}.cfargotunnel.com`,
      hosts: `- ${REDACTED}.cfargotunnel.com`,
      [`${REDACTED}.cfargotunnel.com`]: "target",
      enabled: "No",
      verbose: "off",
      size: "1_000",
      mask: "0x1F",
    });
    expect(documents.find((document) => document.kind === "Secret")?.stringData).toEqual({ id: REDACTED });
  });
});
