// Private keys committed to the repository. Anyone who can read the repository can decrypt every
// file encrypted to such a key, so it is an error, except for a key file that declares itself an
// example key ("EXAMPLE ONLY" / "DO NOT USE" in a comment): that is reported as a warning, because
// what it protects is readable by everyone by design.
import type { Finding } from "../../core/model/findings.ts";
import type { Redactor } from "../../core/redaction.ts";
import type { CatalogEntry } from "./file-catalog.ts";

const PRIVATE_KEYS: readonly { pattern: RegExp; label: string }[] = [
  { pattern: /AGE-SECRET-KEY-1[0-9A-Z]{58}/g, label: "an age private key" },
  { pattern: /-----BEGIN (?:RSA |EC |DSA |OPENSSH )?PRIVATE KEY-----/g, label: "a private key (PEM)" },
  { pattern: /-----BEGIN PGP PRIVATE KEY BLOCK-----/g, label: "a PGP private key" },
];
const EXAMPLE_MARKER = /^\s*#.*\b(EXAMPLE ONLY|DO NOT USE)\b/im;
const PUBLIC_KEY_COMMENT = /^#\s*public key:\s*(age1[0-9a-z]+)\s*$/m;

export function privateKeyFindings(entry: CatalogEntry, redactor: Redactor, recipientsOfKey: (publicKey: string) => string[]): Finding[] {
  const text = entry.text;
  if (!text) return [];
  const found: { line: number; label: string }[] = [];
  for (const { pattern, label } of PRIVATE_KEYS) {
    for (const match of text.matchAll(pattern)) {
      if (label === "an age private key") redactor.add(match[0]);
      found.push({ line: text.slice(0, match.index).split("\n").length, label });
    }
  }
  if (found.length === 0) return [];
  const example = EXAMPLE_MARKER.test(text);
  const publicKey = PUBLIC_KEY_COMMENT.exec(text)?.[1];
  const readable = publicKey ? recipientsOfKey(publicKey) : [];
  const exposure =
    readable.length > 0
      ? `; ${readable.length} encrypted file${readable.length === 1 ? " is" : "s are"} encrypted to its public key ${publicKey}`
      : "";
  return found.map(({ line, label }) => ({
    severity: example ? ("info" as const) : ("error" as const),
    check: "secrets/private-key",
    file: entry.file,
    line,
    message: example
      ? `${entry.file} holds ${label} committed on purpose as a documented example key: whatever it encrypts is readable by anyone with the repository${exposure}`
      : `${entry.file} holds ${label}: anyone who can read the repository can decrypt what it protects${exposure}`,
    hint: example
      ? "fine for an example; never reuse this key, and keep real keys out of Git"
      : "remove it from the repository (and its history), rotate the key and re-encrypt with `sops updatekeys`; keep it in a masked CI/CD variable and in the cluster",
  }));
}
