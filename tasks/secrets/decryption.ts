// The real `sops --decrypt` on each encrypted file, so the MAC is verified with the key CI holds.
// Plaintext lives in memory only: every value is registered with the redactor as soon as it is
// read, checked for shape, and dropped.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { mapWithConcurrency } from "../../core/concurrency.ts";
import type { TaskContext } from "../../core/context.ts";
import { trimStderr } from "../../core/errors.ts";
import type { Finding } from "../../core/model/findings.ts";
import type { SopsFileInspection } from "../../core/sops/encrypted-file.ts";
import { shouldBeEncrypted } from "../../core/sops/metadata.ts";
import { recipientLabel } from "../../core/sops/recipients.ts";
import { isRecord, scalarText } from "../../core/yaml-file.ts";
import { secretShapeFindings } from "./decrypted-shape.ts";
import { isSecretObject } from "../../core/model/secrets.ts";

const DECRYPT_TIMEOUT_MS = 60_000;
const STDERR_LINES = 8;

interface AgeKey {
  /** Added to sops's environment: SOPS_AGE_KEY and/or SOPS_AGE_KEY_FILE (made absolute). */
  env: Record<string, string>;
  describe: string;
}

/** The age key CI provides, or undefined when there is none (decryption is then skipped, never passed). */
function ageKeyFrom(context: TaskContext): AgeKey | undefined {
  const inline = context.env["SOPS_AGE_KEY"]?.trim();
  const file = context.env["SOPS_AGE_KEY_FILE"]?.trim();
  const env: Record<string, string> = {};
  if (inline) env["SOPS_AGE_KEY"] = inline;
  if (file) env["SOPS_AGE_KEY_FILE"] = path.resolve(context.cwd, file);
  if (!inline && !file) return undefined;
  return { env, describe: [inline ? "SOPS_AGE_KEY" : "", file ? "SOPS_AGE_KEY_FILE" : ""].filter(Boolean).join(" and ") };
}

/** Registers the key itself with the redactor and checks a key file can be read. */
async function prepareAgeKey(context: TaskContext, key: AgeKey): Promise<Finding | undefined> {
  const registerKeyLines = (text: string) => {
    for (const line of text.split("\n")) if (line.trim().startsWith("AGE-SECRET-KEY-")) context.redactor.add(line.trim());
  };
  if (key.env["SOPS_AGE_KEY"]) registerKeyLines(key.env["SOPS_AGE_KEY"]);
  const file = key.env["SOPS_AGE_KEY_FILE"];
  if (!file) return undefined;
  try {
    registerKeyLines(await readFile(file, "utf8"));
    return undefined;
  } catch (error) {
    if (key.env["SOPS_AGE_KEY"]) return undefined;
    return {
      severity: "error",
      check: "secrets/decrypt-failed",
      message: `SOPS_AGE_KEY_FILE points to ${file}, which cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"}): no file was decrypted`,
      hint: "set SOPS_AGE_KEY_FILE to the age key file, or SOPS_AGE_KEY to the key itself (a masked CI/CD variable)",
    };
  }
}

export interface DecryptionOutcome {
  status: "checked" | "skipped-no-key";
  findings: Finding[];
  /** One line for the progress output. */
  summary: string;
}

/**
 * Decrypts every file that has an age recipient with the CI key. Without a key the result says
 * so, with one info finding: skipped is never reported as passed.
 */
export async function checkDecryption(
  context: TaskContext,
  root: string,
  files: readonly SopsFileInspection[],
): Promise<DecryptionOutcome> {
  const key = ageKeyFrom(context);
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
  if (!key) {
    const findings: Finding[] =
      files.length === 0
        ? []
        : [
            {
              severity: "info",
              check: "secrets/decryption-skipped",
              message: `decryption skipped: neither SOPS_AGE_KEY nor SOPS_AGE_KEY_FILE is set, so the MACs of ${count(files.length, "encrypted file")} were not verified (reported as skipped, never as passed)`,
              hint: "give the job the age key as a masked CI/CD variable SOPS_AGE_KEY (or a file variable SOPS_AGE_KEY_FILE)",
            },
          ];
    return { status: "skipped-no-key", findings, summary: "decryption skipped (no age key)" };
  }
  const withAge = files.filter((inspection) => inspection.metadata!.recipients.some((recipient) => recipient.type === "age"));
  const keyProblem = await prepareAgeKey(context, key);
  if (keyProblem)
    return {
      status: "skipped-no-key",
      findings: withAge.length > 0 ? [keyProblem] : [],
      summary: "decryption skipped (age key unreadable)",
    };
  const results = await mapWithConcurrency(withAge, context.concurrency, (inspection) => decryptFile(context, root, inspection, key));
  const findings = results.flatMap((result) => result.findings);
  const withoutAge = files.filter((inspection) => !withAge.includes(inspection));
  if (withoutAge.length > 0) {
    findings.push({
      severity: "info",
      check: "secrets/decryption-skipped",
      message: `${count(withoutAge.length, "encrypted file")} without an age recipient ${withoutAge.length === 1 ? "was" : "were"} not decrypted: ${withoutAge.map((inspection) => inspection.file).join(", ")}`,
    });
  }
  const decrypted = results.filter((result) => result.ok).length;
  return { status: "checked", findings, summary: `${decrypted} decrypted with ${key.describe}` };
}

async function decryptFile(
  context: TaskContext,
  root: string,
  inspection: SopsFileInspection,
  key: AgeKey,
): Promise<{ ok: boolean; findings: Finding[] }> {
  const { file, format } = inspection;
  const outputType = format === "yaml" || format === "binary" ? format : "json";
  // --config /dev/null: decryption needs only the file's own metadata, and a broken .sops.yaml
  // (reported on its own) must not make every file look undecryptable.
  const args = ["--config", "/dev/null", "--decrypt", "--input-type", format, "--output-type", outputType, path.join(root, file)];
  const result = await context.runner.run("sops", args, { cwd: root, env: key.env, timeoutMs: DECRYPT_TIMEOUT_MS });
  if (result.exitCode !== 0) return { ok: false, findings: [failureFinding(context, inspection, result.exitCode, result.stderr)] };
  const documents = readDecrypted(result.stdout, outputType);
  // Registered before any finding is built, so nothing printed after this point can carry them.
  registerDecryptedValues(context, inspection, documents, result.stdout);
  const findings = documents.flatMap((document, position) => {
    const index = inspection.documents[position]?.index ?? position;
    return secretShapeFindings(file, document, (keyPath) => inspection.lineOf(index, keyPath));
  });
  return { ok: true, findings };
}

function readDecrypted(stdout: string, outputType: string): unknown[] {
  if (outputType === "binary") return [];
  try {
    if (outputType === "json") return [JSON.parse(stdout) as unknown];
    const documents = parseAllDocuments(stdout);
    if (!Array.isArray(documents) || documents.some((document) => document.errors.length > 0)) return [];
    return documents
      .map((document) => document.toJS({ maxAliasCount: 1000 }) as unknown)
      .filter((value) => value !== null && value !== undefined);
  } catch {
    return [];
  }
}

/**
 * Every value sops encrypted in the file. The identity of a Kubernetes object (apiVersion, kind,
 * metadata, type) is left out even when encrypted: it names the object in every other finding and
 * is not secret; masking a namespace such as `gitlab` would blank it out of the whole report.
 */
function registerDecryptedValues(
  context: TaskContext,
  inspection: SopsFileInspection,
  documents: readonly unknown[],
  stdout: string,
): void {
  const metadata = inspection.metadata!;
  const register = (value: string) => context.redactor.add(value);
  if (documents.length === 0) {
    // Binary, or output we could not parse: the whole plaintext and each of its lines.
    register(stdout);
    for (const line of stdout.split("\n")) register(line);
    return;
  }
  for (const document of documents) {
    const kubernetes = isRecord(document) && typeof document["kind"] === "string" && typeof document["apiVersion"] === "string";
    const walk = (value: unknown, keys: string[]) => {
      if (value === null || value === undefined) return;
      if (Array.isArray(value)) {
        value.forEach((item) => walk(item, keys));
        return;
      }
      if (isRecord(value)) {
        for (const [key, child] of Object.entries(value)) {
          if (kubernetes && keys.length === 0 && ["apiVersion", "kind", "metadata", "type"].includes(key)) continue;
          walk(child, [...keys, key]);
        }
        return;
      }
      if (!metadata.rule.dependsOnComments && !shouldBeEncrypted(keys, metadata.rule)) return;
      register(scalarText(value));
    };
    walk(document, []);
    if (isSecretObject(document) && isRecord(document["data"])) {
      for (const value of Object.values(document["data"]))
        if (typeof value === "string") register(Buffer.from(value, "base64").toString("utf8"));
    }
  }
}

function failureFinding(context: TaskContext, inspection: SopsFileInspection, exitCode: number, stderr: string): Finding {
  const { file } = inspection;
  const reason = trimStderr(context.redactor.redact(withoutPlaintext(condense(stderr))), STDERR_LINES);
  const recipients = inspection.metadata?.recipients.map(recipientLabel).join(", ") ?? "";
  const base = { severity: "error" as const, file, ...(inspection.metadataLine !== undefined ? { line: inspection.metadataLine } : {}) };
  const detail = reason ? `\n${reason}` : "";
  if (exitCode === 51 || /MAC mismatch|Cannot decrypt MAC/i.test(stderr)) {
    return {
      ...base,
      check: "secrets/mac-mismatch",
      message: `${file} fails sops's integrity check (MAC mismatch): it was changed after it was encrypted${detail}`,
      hint: "a value, key or unencrypted field was edited by hand or merged; restore it from Git history, or edit it with `sops edit` from a trusted plaintext",
    };
  }
  if (exitCode === 128 || /Failed to get the data key|no master key was able to decrypt/i.test(stderr)) {
    return {
      ...base,
      check: "secrets/unknown-recipient",
      message: `${file} cannot be decrypted with the CI key: none of its recipients (${recipients}) matches it${detail}`,
      hint: `add the CI key's public key to the creation rule and run \`sops updatekeys ${file}\`, or check that the CI variable holds the right key`,
    };
  }
  if (exitCode === 25 || /Error decrypting tree|Could not decrypt value/i.test(stderr)) {
    return {
      ...base,
      check: "secrets/corrupt-value",
      message: `${file} has a value sops cannot decrypt (corrupted, or copied from another file)${detail}`,
      hint: "restore the value from Git history, or re-encrypt the file from its plaintext",
    };
  }
  return {
    ...base,
    check: "secrets/decrypt-failed",
    message: `sops could not decrypt ${file} (exit code ${exitCode})${detail}`,
    hint: `run \`sops --decrypt ${file}\` locally with the CI key to see why`,
  };
}

/**
 * sops wraps key errors in boxes (`- | …` continued by `| …`) and ends with a paragraph on
 * recovery and the list of places it looked for keys; one line per key keeps what matters.
 */
function condense(stderr: string): string {
  const lines: string[] = [];
  for (const raw of stderr.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    if (line.startsWith("Recovery failed because")) break;
    const boxed = /^(- )?\| ?(.*)$/.exec(line);
    if (boxed && !boxed[1] && lines.length > 0) lines[lines.length - 1] = `${lines[lines.length - 1]!} ${boxed[2]!}`;
    else lines.push(boxed ? boxed[2]! : line);
  }
  return lines.map((line) => line.replace(/\.? ?Did not find keys in locations.*$/, ".").replace(/\s+/g, " ")).join("\n");
}

/**
 * sops quotes the offending input in some errors ("Input string <value> does not match…") and
 * prints MACs, which are SHA-512 digests of the plaintext. Neither belongs in a CI log.
 */
function withoutPlaintext(stderr: string): string {
  return stderr
    .replace(/Input string [\s\S]*? does not match/g, "Input string [value withheld] does not match")
    .replace(/Could not convert [\s\S]*? to bytes/g, "Could not convert [value withheld] to bytes")
    .replace(/\b[0-9A-Fa-f]{32,}\b/g, "[digest withheld]");
}
