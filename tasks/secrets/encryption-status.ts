// Is a file encrypted as sops defines it? Metadata complete, every value the file's own rule
// encrypts in ENC[…] form, one metadata block for all documents. Findings name keys and lines,
// never values.
import type { Finding } from "../../core/model/findings.ts";
import { shouldBeEncrypted } from "../../core/sops/metadata.ts";
import type { SopsFileInspection, StoredValue } from "../../core/sops/encrypted-file.ts";
import { describeReason, type EncryptionReason } from "./required-encryption.ts";

const ROTATE = "the values are in the Git history now: rotate them after encrypting";
const MAX_LISTED = 5;

/** Findings for a file that must be encrypted but has no sops metadata (or metadata sops cannot find). */
export function unencryptedFileFindings(
  inspection: SopsFileInspection,
  reasons: readonly EncryptionReason[],
  sealedSecretsBeside: boolean,
): Finding[] {
  const { file } = inspection;
  const why = reasons.map(describeReason).join("; ");
  const manifest = reasons.find((reason) => reason.kind === "secret-manifest");
  const line = manifest?.line ?? inspection.parseError?.line ?? inspection.values.find((value) => value.state === "plaintext")?.line;
  const at = line !== undefined ? { line } : {};
  if (
    inspection.values.length === 0 &&
    !inspection.binaryContent &&
    !inspection.parseError &&
    inspection.metadataNotInFirstDocument === undefined
  )
    return [];
  if (manifest && sealedSecretsBeside) {
    return [
      {
        severity: "error",
        check: "secrets/plain-secret-beside-sealed",
        file,
        ...at,
        resource: manifest.resource,
        message: `${file} holds a plain Secret ${manifest.resource.name} beside SealedSecrets: its values are committed in plaintext`,
        hint: `seal it with kubeseal like the SealedSecrets in the same folder, and delete the plain Secret; ${ROTATE}`,
      },
    ];
  }
  let state: string;
  if (inspection.binaryContent)
    state = "it is a binary file, not a sops document (sops stores binary files as JSON with data and sops keys)";
  else if (inspection.metadataNotInFirstDocument !== undefined)
    state = `only document ${inspection.metadataNotInFirstDocument + 1} carries sops metadata; sops reads it from the first document, so it cannot decrypt this file`;
  else if (inspection.parseError && inspection.format === "binary")
    state = "it is not encrypted (sops stores an encrypted binary file as JSON with data and sops keys)";
  else if (inspection.parseError)
    state = `sops cannot read it: ${inspection.parseError.message}${inspection.parseError.line !== undefined ? ` at line ${inspection.parseError.line}` : ""}`;
  else
    state = manifest
      ? "it has no sops metadata: its data/stringData values are in plaintext"
      : `it has no sops metadata (${countValues(inspection.values, "plaintext")} in plaintext)`;
  return [
    {
      severity: "error",
      check: "secrets/not-encrypted",
      file,
      ...at,
      ...(manifest ? { resource: manifest.resource } : {}),
      message: `${file} must be SOPS-encrypted (${why}) but ${state}`,
      hint: `sops --encrypt --in-place ${file}; ${ROTATE}`,
    },
  ];
}

/** Structural findings for a file that has sops metadata: what would make `sops --decrypt` fail or leak. */
export function encryptedFileFindings(inspection: SopsFileInspection): Finding[] {
  const metadata = inspection.metadata;
  if (!metadata) return [];
  const { file } = inspection;
  const findings: Finding[] = [];
  const metadataLine = inspection.metadataLine !== undefined ? { line: inspection.metadataLine } : {};
  if (metadata.problems.length > 0) {
    findings.push({
      severity: "error",
      check: "secrets/invalid-metadata",
      file,
      ...metadataLine,
      message: `${file} has incomplete sops metadata: ${metadata.problems.join("; ")}`,
      hint: "re-encrypt the file from its plaintext with sops; metadata cannot be repaired by hand",
    });
  }
  for (const divergent of inspection.divergentMetadata) {
    findings.push({
      severity: "error",
      check: "secrets/invalid-metadata",
      file,
      line: divergent.line,
      message: `document ${divergent.document + 1} of ${file} carries different sops metadata than the first; sops reads only the first document's, so the others cannot be decrypted (files concatenated after encryption?)`,
      hint: "decrypt each part separately, join the plaintext and encrypt the result once",
    });
  }
  const corrupt = inspection.values.filter((value) => value.state === "corrupt");
  if (corrupt.length > 0) {
    findings.push({
      severity: "error",
      check: "secrets/corrupt-value",
      file,
      ...lineOf(corrupt[0]!),
      message: `${file}: ${describeList(corrupt, (value) => `${where(value)} ${value.problem ?? "is corrupt"}`)}; sops refuses to decrypt the file`,
      hint: "restore the value from Git history, or re-encrypt the file from its plaintext",
    });
  }
  if (!metadata.rule.dependsOnComments) {
    const exposed = inspection.values.filter((value) => value.state === "plaintext" && shouldBeEncrypted(value.path, metadata.rule));
    if (exposed.length > 0) {
      findings.push({
        severity: "error",
        check: "secrets/not-encrypted",
        file,
        ...lineOf(exposed[0]!),
        message: `${file} is SOPS-encrypted but ${describeList(exposed, where)} ${exposed.length === 1 ? "is" : "are"} in plaintext although its rule (${metadata.rule.description}) encrypts ${exposed.length === 1 ? "it" : "them"}`,
        hint: `values added after encryption stay in plaintext: edit the file with \`sops edit ${file}\` instead; ${ROTATE}`,
      });
    }
  }
  return findings;
}

function where(value: StoredValue): string {
  const key = value.path.length > 0 ? value.path.join(".") : "a value";
  return value.line !== undefined ? `${key} (line ${value.line})` : key;
}

function lineOf(value: StoredValue): { line?: number } {
  return value.line !== undefined ? { line: value.line } : {};
}

function describeList(values: readonly StoredValue[], describe: (value: StoredValue) => string): string {
  const shown = values.slice(0, MAX_LISTED).map(describe).join(", ");
  return values.length > MAX_LISTED ? `${shown} and ${values.length - MAX_LISTED} more` : shown;
}

function countValues(values: readonly StoredValue[], state: StoredValue["state"]): string {
  const count = values.filter((value) => value.state === state).length;
  return `${count} value${count === 1 ? "" : "s"}`;
}
