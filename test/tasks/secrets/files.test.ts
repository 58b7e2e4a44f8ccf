import { appendFile, mkdir, readFile, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ageKeygen, canary, keyEnv, writeEncrypted } from "../../helpers/sops.ts";
import { makeRepo, makeTempDir } from "../../helpers/temp-repo.ts";
import { base64, makeSopsRepo, runCheck, secretYaml, sopsRules } from "./setup.ts";

describe("checkSecrets: files at rest", () => {
  it("accepts secrets encrypted by sops in every format, and verifies them with the key", async () => {
    const { root, key } = await makeSopsRepo();
    await writeEncrypted(
      root,
      "apps/secrets/db.yaml",
      secretYaml("db", { stringData: { password: canary("db") }, data: { token: base64(canary("tok")) } }),
    );
    await writeEncrypted(
      root,
      "apps/secrets/multi.yaml",
      `${secretYaml("one", { stringData: { a: canary("m1") } })}---\n${secretYaml("two", { stringData: { b: canary("m2") } })}`,
    );
    await writeEncrypted(root, "apps/secrets/app.env", `API_KEY=${canary("env")}\n`);
    await writeEncrypted(root, "apps/secrets/config.json", JSON.stringify({ nested: { password: canary("json") }, list: [1, true] }));
    await writeEncrypted(root, "apps/secrets/db.ini", `[db]\npassword = ${canary("ini")}\n`);
    await writeEncrypted(root, "apps/secrets/tls.p12", `binary\u0000${canary("bin")}`);
    await writeFile(path.join(root, "apps/secrets/kustomization.yaml"), "resources: [db.yaml, multi.yaml]\n");
    await writeFile(path.join(root, "apps/secrets/README.md"), "Encrypted with sops.\n");

    const withoutKey = await runCheck(root);
    expect(withoutKey.decryption).toBe("skipped-no-key");
    expect(withoutKey.findings).toEqual([
      expect.objectContaining({
        severity: "info",
        check: "secrets/decryption-skipped",
        message: expect.stringContaining("6 encrypted files"),
      }),
    ]);

    const withKey = await runCheck(root, { env: keyEnv(key) });
    expect(withKey.decryption).toBe("checked");
    expect(withKey.findings).toEqual([]);
    expect(withKey.stderr()).toContain("6 decrypted");
  });

  it("requires encryption for creation-rule paths, secrets/ folders, Secret manifests and generator inputs, never printing values", async () => {
    const planted = {
      stringData: canary("string-data"),
      data: canary("data"),
      literal: canary("literal"),
      generatorFile: canary("gen-file"),
      folderFile: canary("folder"),
      env: canary("env"),
    };
    const { root } = await makeSopsRepo({
      "apps/base/secret.yaml": secretYaml("plain", { stringData: { password: planted.stringData }, data: { token: base64(planted.data) } }),
      "apps/secrets/api-token.txt": `${planted.folderFile}\n`,
      "apps/base/kustomization.yaml": [
        "resources: [secret.yaml]",
        "secretGenerator:",
        "  - name: generated",
        "    literals:",
        `      - password=${planted.literal}`,
        "      - host=${DB_HOST}",
        "    files:",
        "      - key.pem=files/key.pem",
        "    envs:",
        "      - files/app.env",
        "",
      ].join("\n"),
      "apps/base/files/key.pem": `${planted.generatorFile}\n`,
      "apps/base/files/app.env": `TOKEN=${planted.env}\n`,
      "apps/base/placeholder.yaml": secretYaml("substituted", { stringData: { password: "${DB_PASSWORD}" } }),
      "apps/base/empty.yaml":
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: sa-token\n  annotations:\n    kubernetes.io/service-account.name: app\ntype: kubernetes.io/service-account-token\n",
    });
    const { findings, stdout, stderr } = await runCheck(root);
    const errors = findings.filter((f) => f.severity === "error");
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          check: "secrets/not-encrypted",
          file: "apps/base/secret.yaml",
          line: 1,
          resource: expect.objectContaining({ name: "plain" }),
        }),
        expect.objectContaining({
          check: "secrets/not-encrypted",
          file: "apps/secrets/api-token.txt",
          message: expect.stringContaining("secrets/ folder"),
        }),
        expect.objectContaining({
          check: "secrets/not-encrypted",
          file: "apps/base/files/key.pem",
          message: expect.stringContaining("secretGenerator generated"),
        }),
        expect.objectContaining({ check: "secrets/not-encrypted", file: "apps/base/files/app.env" }),
        expect.objectContaining({ check: "secrets/plaintext-secret", file: "apps/base/kustomization.yaml", line: 5 }),
      ]),
    );
    expect(errors).toHaveLength(5);
    // Placeholders and value-less Secrets hold nothing to hide; the plaintext Secret has no creation rule.
    expect(findings.filter((f) => f.file === "apps/base/placeholder.yaml" || f.file === "apps/base/empty.yaml")).toEqual([]);
    expect(findings).toContainEqual(
      expect.objectContaining({ severity: "warning", check: "secrets/no-creation-rule", file: "apps/base/secret.yaml" }),
    );
    const everything = JSON.stringify(findings) + stdout() + stderr();
    for (const value of Object.values(planted)) {
      expect(everything).not.toContain(value);
      expect(everything).not.toContain(base64(value));
    }
  });

  it("reports values added in plaintext to an encrypted file, with their keys and lines", async () => {
    const { root } = await makeSopsRepo();
    await writeEncrypted(root, "apps/secrets/db.yaml", secretYaml("db", { stringData: { password: canary("old") } }));
    const added = canary("added");
    const text = await readFile(path.join(root, "apps/secrets/db.yaml"), "utf8");
    await writeFile(path.join(root, "apps/secrets/db.yaml"), text.replace("stringData:\n", `stringData:\n    added: ${added}\n`));
    const { findings } = await runCheck(root);
    expect(findings).toContainEqual(
      expect.objectContaining({
        check: "secrets/not-encrypted",
        file: "apps/secrets/db.yaml",
        line: 8,
        message: expect.stringContaining("stringData.added (line 8) is in plaintext"),
      }),
    );
    expect(JSON.stringify(findings)).not.toContain(added);
  });

  it("reports a corrupted ENC value, a binary file and concatenated encrypted files without a key", async () => {
    const { root } = await makeSopsRepo();
    await writeEncrypted(root, "apps/secrets/corrupt.yaml", secretYaml("corrupt", { stringData: { password: canary("c") } }));
    const corrupt = await readFile(path.join(root, "apps/secrets/corrupt.yaml"), "utf8");
    await writeFile(
      path.join(root, "apps/secrets/corrupt.yaml"),
      corrupt.replace(/password: ENC\[AES256_GCM,data:([^,]*),iv:[^,]*,/, "password: ENC[AES256_GCM,data:$1,iv:AAAA,"),
    );
    await writeFile(path.join(root, "apps/secrets/keystore.jks"), Buffer.from([0xfe, 0xed, 0xfe, 0xed, 0x00, 0x02, 0xff]));
    await writeFile(
      path.join(root, "apps/secrets/conflict.yaml"),
      `<<<<<<< HEAD\n${secretYaml("conflict", { stringData: { password: canary("conflict") } })}=======\n>>>>>>> branch\n`,
    );
    await writeEncrypted(root, "apps/secrets/a.yaml", secretYaml("a", { stringData: { a: canary("a") } }));
    await writeEncrypted(root, "apps/secrets/b.yaml", secretYaml("b", { stringData: { b: canary("b") } }));
    await appendFile(path.join(root, "apps/secrets/a.yaml"), `---\n${await readFile(path.join(root, "apps/secrets/b.yaml"), "utf8")}`);
    const { findings } = await runCheck(root);
    expect(findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          check: "secrets/corrupt-value",
          file: "apps/secrets/corrupt.yaml",
          line: 8,
          message: expect.stringContaining("stringData.password (line 8) its iv is not 32 bytes"),
        }),
        expect.objectContaining({
          check: "secrets/not-encrypted",
          file: "apps/secrets/keystore.jks",
          message: expect.stringContaining("binary file"),
        }),
        expect.objectContaining({
          check: "secrets/invalid-metadata",
          file: "apps/secrets/a.yaml",
          message: expect.stringContaining("document 2"),
        }),
        expect.objectContaining({
          check: "secrets/not-encrypted",
          file: "apps/secrets/conflict.yaml",
          line: 1,
          message: expect.stringContaining("sops cannot read it: not valid YAML"),
        }),
      ]),
    );
  });

  it("reports incomplete metadata, recipient drift and files no creation rule covers", async () => {
    const { root, key } = await makeSopsRepo();
    const other = await ageKeygen(await makeTempDir("gitops-ci-key-"));
    await writeEncrypted(root, "apps/secrets/db.yaml", secretYaml("db", { stringData: { password: canary("db") } }));
    await writeEncrypted(root, "apps/secrets/nomac.yaml", secretYaml("nomac", { stringData: { password: canary("nomac") } }));
    const nomac = await readFile(path.join(root, "apps/secrets/nomac.yaml"), "utf8");
    await writeFile(path.join(root, "apps/secrets/nomac.yaml"), nomac.replace(/\n\s+mac: ENC\[[^\]]*\]/, ""));
    await writeEncrypted(root, "apps/config/secret.yaml", secretYaml("elsewhere", { stringData: { password: canary("elsewhere") } }), {
      age: [key.publicKey],
      encryptedRegex: "^(data|stringData)$",
    });
    // The team adds a second recipient to the rule; the file was encrypted before.
    await writeFile(path.join(root, ".sops.yaml"), sopsRules(`${key.publicKey},${other.publicKey}`));
    const { findings } = await runCheck(root);
    expect(findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          severity: "warning",
          check: "secrets/recipients-drift",
          file: "apps/secrets/db.yaml",
          hint: "sops updatekeys apps/secrets/db.yaml",
          message: expect.stringContaining(`not encrypted to age:${other.publicKey}`),
        }),
        expect.objectContaining({
          severity: "error",
          check: "secrets/invalid-metadata",
          file: "apps/secrets/nomac.yaml",
          message: expect.stringContaining("no mac"),
        }),
        expect.objectContaining({
          severity: "warning",
          check: "secrets/no-creation-rule",
          file: "apps/config/secret.yaml",
          resource: expect.objectContaining({ name: "elsewhere" }),
        }),
      ]),
    );
  });

  it("reports a malformed .sops.yaml with its line, and a .sops.yml sops ignores", async () => {
    const broken = await makeRepo({
      ".sops.yaml": "creation_rules:\n  - path_regex: secrets/\n    age: [unclosed\n",
      "apps/secrets/a.yaml": "a: b\n",
    });
    expect((await runCheck(broken)).findings).toContainEqual(
      expect.objectContaining({
        severity: "error",
        check: "secrets/sops-config",
        file: ".sops.yaml",
        line: 4,
        message: expect.stringMatching(/Flow sequence .* must be .* end with a \]$/),
      }),
    );

    const badRegex = await makeRepo({
      ".sops.yaml":
        "creation_rules:\n  - path_regex: ^(?!tmp/).*secrets/\n    age: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n",
      "nested/.sops.yml": "creation_rules: []\n",
      "nested/x.yaml": "a: b\n",
    });
    const { findings } = await runCheck(badRegex);
    expect(findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          severity: "error",
          check: "secrets/sops-config",
          file: ".sops.yaml",
          line: 2,
          message: expect.stringContaining("is not a valid Go regular expression"),
        }),
        expect.objectContaining({ severity: "warning", check: "secrets/sops-config", file: "nested/.sops.yml" }),
      ]),
    );
  });

  it("skips no file silently: one too large to read is a warning, a .sops.yaml that cannot be read an error", async () => {
    const root = await makeRepo({ "apps/secrets/db.yaml": secretYaml("db", { stringData: { password: "x" } }), "apps/dump.yaml": "" });
    await truncate(path.join(root, "apps/dump.yaml"), 9 * 1024 * 1024);
    await mkdir(path.join(root, "apps/.sops.yaml"));
    const { findings } = await runCheck(root);
    expect(findings).toContainEqual(
      expect.objectContaining({
        severity: "warning",
        check: "secrets/file-too-large",
        file: "apps/dump.yaml",
        message: expect.stringContaining("9 MiB, over the 8 MiB"),
      }),
    );
    expect(findings).toContainEqual(
      expect.objectContaining({
        severity: "error",
        check: "secrets/sops-config",
        file: "apps/.sops.yaml",
        message: expect.stringContaining("cannot be read (EISDIR)"),
      }),
    );
    // The plaintext Secret is still reported; its rules are unknown, so no guess about them is.
    expect(findings).toContainEqual(
      expect.objectContaining({ severity: "error", check: "secrets/not-encrypted", file: "apps/secrets/db.yaml" }),
    );
    expect(findings.filter((finding) => finding.check === "secrets/no-creation-rule")).toEqual([]);
  });

  it("reports a committed private key as an error, and a documented example key as info", async () => {
    const keys = await makeTempDir("gitops-ci-key-");
    const real = await ageKeygen(keys, "real.txt");
    const example = await ageKeygen(keys, "example.txt");
    const root = await makeRepo({
      "keys/flux.agekey": await readFile(real.keyFile, "utf8"),
      "example-key.txt": `# EXAMPLE ONLY - DO NOT USE THIS KEY FOR ANYTHING REAL.\n${await readFile(example.keyFile, "utf8")}`,
    });
    const { findings, context, stdout } = await runCheck(root);
    expect(findings).toEqual([
      expect.objectContaining({ severity: "info", check: "secrets/private-key", file: "example-key.txt", line: 4 }),
      expect.objectContaining({ severity: "error", check: "secrets/private-key", file: "keys/flux.agekey", line: 3 }),
    ]);
    expect(JSON.stringify(findings)).not.toContain(real.privateKey);
    context.output.out(`leaked ${real.privateKey}`);
    expect(stdout()).not.toContain(real.privateKey);
  });
});
