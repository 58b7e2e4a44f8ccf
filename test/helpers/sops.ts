// Throwaway age keys and real sops encryption for secrets tests: fixtures are made here, in temp
// folders, never committed as ciphertext.
import { execFileSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { PROJECT_ROOT } from "../../core/toolchain.ts";

const BIN = path.join(PROJECT_ROOT, ".tools", "bin");

export interface AgeIdentity {
  keyFile: string;
  publicKey: string;
  /** The AGE-SECRET-KEY-1… line, for SOPS_AGE_KEY. */
  privateKey: string;
}

export async function ageKeygen(dir: string, name = "key.txt"): Promise<AgeIdentity> {
  const keyFile = path.join(dir, name);
  execFileSync(path.join(BIN, "age-keygen"), ["-o", keyFile], { stdio: "pipe" });
  const text = await readFile(keyFile, "utf8");
  const publicKey = /# public key: (age1\S+)/.exec(text)![1]!;
  const privateKey = text.split("\n").find((line) => line.startsWith("AGE-SECRET-KEY-"))!;
  return { keyFile, publicKey, privateKey };
}

export interface EncryptOptions {
  /** Recipients; when absent, the repository's .sops.yaml decides (sops run from the repository root). */
  age?: string[];
  encryptedRegex?: string;
}

/** Encrypts `file` (repository-relative) in place with the real sops. */
export function sopsEncrypt(root: string, file: string, options: EncryptOptions = {}): void {
  const args = options.age ? ["--config", "/dev/null", "--age", options.age.join(",")] : [];
  if (options.encryptedRegex) args.push("--encrypted-regex", options.encryptedRegex);
  execFileSync(path.join(BIN, "sops"), [...args, "--encrypt", "--in-place", file], {
    cwd: root,
    stdio: "pipe",
    env: { PATH: process.env["PATH"] ?? "" },
  });
}

/** Writes `content` to `file` and encrypts it in place. */
export async function writeEncrypted(root: string, file: string, content: string, options: EncryptOptions = {}): Promise<void> {
  await mkdir(path.dirname(path.join(root, file)), { recursive: true });
  await writeFile(path.join(root, file), content);
  sopsEncrypt(root, file, options);
}

/** The public key of the test's age key, and the env that lets checkSecrets decrypt with it. */
export function keyEnv(identity: AgeIdentity): Record<string, string> {
  return { SOPS_AGE_KEY_FILE: identity.keyFile };
}

export function canary(label: string): string {
  return `canary-${label}-${Math.random().toString(36).slice(2, 10)}`;
}
