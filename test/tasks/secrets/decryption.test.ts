import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ageKeygen, canary, keyEnv, writeEncrypted } from "../../helpers/sops.ts";
import { makeTempDir } from "../../helpers/temp-repo.ts";
import { base64, makeSopsRepo, runCheck, secretYaml } from "./setup.ts";

async function edit(root: string, file: string, change: (text: string) => string): Promise<void> {
  const absolute = path.join(root, file);
  await writeFile(absolute, change(await readFile(absolute, "utf8")));
}

describe("checkSecrets: decryption with the CI key", () => {
  it("reports a tampered file, a file for another key and a value sops cannot decrypt, each by name", async () => {
    const { root, key } = await makeSopsRepo();
    const other = await ageKeygen(await makeTempDir("gitops-ci-key-"));
    const values = [canary("tampered"), canary("other-key"), canary("swap-a"), canary("swap-b"), canary("fine")];
    await writeEncrypted(root, "apps/secrets/tampered.yaml", secretYaml("tampered", { stringData: { password: values[0]! } }));
    // metadata.name is not encrypted, but the MAC covers it.
    await edit(root, "apps/secrets/tampered.yaml", (text) => text.replace("name: tampered", "name: renamed"));
    await writeEncrypted(root, "apps/secrets/other-key.yaml", secretYaml("other", { stringData: { password: values[1]! } }), {
      age: [other.publicKey],
      encryptedRegex: "^(data|stringData)$",
    });
    await writeEncrypted(root, "apps/secrets/swapped.yaml", secretYaml("swapped", { stringData: { a: values[2]!, b: values[3]! } }));
    // Well-formed ENC values in the wrong place: their authentication tag fails.
    await edit(root, "apps/secrets/swapped.yaml", (text) => {
      const a = /\n {4}a: (ENC\[[^\]]*\])/.exec(text)![1]!;
      const b = /\n {4}b: (ENC\[[^\]]*\])/.exec(text)![1]!;
      return text.replace(a, "@A@").replace(b, a).replace("@A@", b);
    });
    await writeEncrypted(root, "apps/secrets/fine.yaml", secretYaml("fine", { stringData: { password: values[4]! } }));

    const { findings, decryption, stdout, stderr, context } = await runCheck(root, { env: keyEnv(key) });
    expect(decryption).toBe("checked");
    const errors = findings.filter((f) => f.severity === "error");
    expect(errors).toEqual([
      expect.objectContaining({
        check: "secrets/unknown-recipient",
        file: "apps/secrets/other-key.yaml",
        line: expect.any(Number),
        message: expect.stringContaining(other.publicKey),
      }),
      expect.objectContaining({
        check: "secrets/corrupt-value",
        file: "apps/secrets/swapped.yaml",
        message: expect.stringContaining("message authentication failed"),
      }),
      expect.objectContaining({
        check: "secrets/mac-mismatch",
        file: "apps/secrets/tampered.yaml",
        message: expect.stringContaining("MAC mismatch"),
      }),
    ]);
    // The MAC is a digest of the plaintext: sops prints it, the finding does not.
    expect(errors[2]!.message).toContain("[digest withheld]");
    expect(errors[2]!.message).not.toMatch(/[0-9A-F]{64}/);
    // The file for another key also drifted from its creation rule.
    expect(findings).toContainEqual(
      expect.objectContaining({ severity: "warning", check: "secrets/recipients-drift", file: "apps/secrets/other-key.yaml" }),
    );

    const everything = JSON.stringify(findings) + stdout() + stderr();
    for (const value of values) expect(everything).not.toContain(value);
    // Decrypted values are registered with the redactor: whatever prints them later is masked.
    context.output.out(`a later report quoting ${values[4]}`);
    expect(stdout()).toContain("[REDACTED]");
    expect(stdout()).not.toContain(values[4]);
  });

  it("checks the shape of decrypted Secrets, naming keys and lines only", async () => {
    const { root, key } = await makeSopsRepo();
    const notBase64 = canary("not base64!");
    await writeEncrypted(
      root,
      "apps/secrets/shape.yaml",
      `${secretYaml("shape", { data: { token: notBase64, ok: base64("fine-value") } })}stringData:\n  port: 5432\n`,
    );
    const { findings, context, stdout } = await runCheck(root, { env: { SOPS_AGE_KEY: key.privateKey } });
    expect(findings).toEqual([
      expect.objectContaining({
        check: "secrets/invalid-secret",
        file: "apps/secrets/shape.yaml",
        line: 8,
        message: expect.stringContaining("data.token is not valid base64"),
      }),
      expect.objectContaining({
        check: "secrets/invalid-secret",
        file: "apps/secrets/shape.yaml",
        line: 11,
        message: expect.stringContaining("stringData.port is a number"),
      }),
    ]);
    expect(JSON.stringify(findings)).not.toContain(notBase64);
    context.output.out(`${notBase64} fine-value ${key.privateKey}`);
    expect(stdout()).not.toContain(notBase64);
    expect(stdout()).not.toContain("fine-value");
    expect(stdout()).not.toContain(key.privateKey);
  });

  it("decrypts dotenv, JSON, INI and binary files with SOPS_AGE_KEY and registers their values", async () => {
    const { root, key } = await makeSopsRepo();
    const values = { env: canary("env"), json: canary("json"), ini: canary("ini"), bin: canary("bin") };
    await writeEncrypted(root, "apps/secrets/app.env", `TOKEN=${values.env}\n`);
    await writeEncrypted(root, "apps/secrets/app.json", JSON.stringify({ deep: { token: values.json } }));
    await writeEncrypted(root, "apps/secrets/app.ini", `[auth]\ntoken = ${values.ini}\n`);
    await writeEncrypted(root, "apps/secrets/cert.pem", `-----BEGIN CERTIFICATE-----\n${values.bin}\n-----END CERTIFICATE-----\n`);
    const { findings, decryption, context, stdout } = await runCheck(root, { env: { SOPS_AGE_KEY: key.privateKey } });
    expect(decryption).toBe("checked");
    expect(findings).toEqual([]);
    context.output.out(Object.values(values).join(" "));
    for (const value of Object.values(values)) expect(stdout()).not.toContain(value);
  });

  it("reports decryption as skipped, never as passed, without a key", async () => {
    const { root } = await makeSopsRepo();
    await writeEncrypted(root, "apps/secrets/db.yaml", secretYaml("db", { stringData: { password: canary("db") } }));
    const { findings, decryption } = await runCheck(root);
    expect(decryption).toBe("skipped-no-key");
    expect(findings).toEqual([
      expect.objectContaining({
        severity: "info",
        check: "secrets/decryption-skipped",
        message: expect.stringContaining("reported as skipped, never as passed"),
      }),
    ]);
  });
});
