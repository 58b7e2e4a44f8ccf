// `checkSecrets`: which files must be encrypted and are they, as sops defines it; do their
// recipients match .sops.yaml; do they decrypt with the CI key (MAC verified); does any rendered
// Secret carry plaintext; are SealedSecrets sealed; is a private key committed. Findings name
// files, lines and keys, never values.
import path from "node:path";
import { mapWithConcurrency } from "../../core/concurrency.ts";
import type { TaskContext } from "../../core/context.ts";
import type { Finding } from "../../core/model/findings.ts";
import { listRepoFiles, withoutChartFiles } from "../../core/repo-files.ts";
import { SOPS_CONFIG_FILE, SopsConfigResolver } from "../../core/sops/creation-rules.ts";
import { isSopsEncryptedFile } from "../../core/sops/encrypted-file.ts";
import type { RenderedOverlay } from "../../core/model/rendered-overlay.ts";
import { checkDecryption } from "./decryption.ts";
import { encryptedFileFindings, unencryptedFileFindings } from "./encryption-status.ts";
import { FileCatalog, type CatalogEntry } from "./file-catalog.ts";
import { privateKeyFindings } from "./private-keys.ts";
import { recipientFindings } from "./recipients.ts";
import { renderedSecretFindings } from "./rendered-secrets.ts";
import { encryptionReasons, generatorReasons, type EncryptionReason } from "./required-encryption.ts";
import { sealedSecretFindings, sealedSecretFolders } from "./sealed-secrets.ts";
import { isKustomizationFile, readSecretGenerators } from "./secret-generators.ts";
import { holdsOnlySecretReferences, secretReferenceFindings } from "./secret-references.ts";

export interface SecretsInput {
  /** Repository root (resolved against the context's cwd). */
  root: string;
  rendered: readonly RenderedOverlay[];
  /** Repository-relative files to check; every repository file when absent. */
  files?: string[];
}

export interface SecretsResult {
  findings: Finding[];
  /** "skipped-no-key" when no SOPS_AGE_KEY / SOPS_AGE_KEY_FILE was given: never reported as passed. */
  decryption: "checked" | "skipped-no-key";
}

export async function checkSecrets(context: TaskContext, input: SecretsInput): Promise<SecretsResult> {
  const root = path.resolve(context.cwd, input.root);
  const catalog = new FileCatalog(root);
  const resolver = new SopsConfigResolver(root);
  const files = withoutChartFiles(input.files ?? (await listRepoFiles(root)));
  const fileSet = new Set(files);
  const scanned = present(await mapWithConcurrency(files, context.concurrency * 4, (file) => catalog.get(file)));
  const findings: Finding[] = [];

  // Which files must be encrypted, and why.
  const generators = scanned
    .filter((entry) => isKustomizationFile(entry.file) && entry.text)
    .flatMap((entry) => readSecretGenerators(entry.file, entry.text!));
  const reasons = new Map<string, { entry: CatalogEntry; reasons: EncryptionReason[] }>();
  for (const entry of scanned) {
    if (path.posix.basename(entry.file) === SOPS_CONFIG_FILE) await resolver.configFor(entry.file);
    const own = await encryptionReasons(entry, resolver);
    if (own.length > 0) reasons.set(entry.file, { entry, reasons: own });
  }
  for (const [file, fromGenerators] of generatorReasons(generators)) {
    const entry = await catalog.get(file);
    if (!entry) continue; // a missing generator input is a render error, reported there
    const known = reasons.get(file);
    if (known) known.reasons.push(...fromGenerators);
    else reasons.set(file, { entry, reasons: fromGenerators });
  }
  const inputs = present(await Promise.all([...reasons.keys()].filter((file) => !fileSet.has(file)).map((file) => catalog.get(file))));
  const considered = [...scanned, ...inputs];

  // Encrypted as sops defines it?
  const sealedFolders = sealedSecretFolders(scanned);
  for (const { entry, reasons: why } of reasons.values()) {
    if (isSopsEncryptedFile(entry.inspection) || entry.text?.trim() === "" || holdsOnlySecretReferences(entry)) continue;
    findings.push(...unencryptedFileFindings(entry.inspection, why, sealedFolders.has(path.posix.dirname(entry.file))));
  }
  const encrypted = considered.filter((entry) => isSopsEncryptedFile(entry.inspection));
  const structural = new Map(encrypted.map((entry) => [entry.file, encryptedFileFindings(entry.inspection)]));
  for (const fileFindings of structural.values()) findings.push(...fileFindings);
  for (const generator of generators) {
    if (generator.plaintextLiteralsLine === undefined) continue;
    findings.push({
      severity: "error",
      check: "secrets/plaintext-secret",
      file: generator.kustomization,
      line: generator.plaintextLiteralsLine,
      message: `secretGenerator ${generator.name} in ${generator.kustomization} has literals: their values are committed in plaintext`,
      hint: "move them to an env file encrypted with sops and list it under envs: (Flux decrypts SOPS-encrypted generator inputs); rotate the values",
    });
  }

  // Recipients against .sops.yaml, for every encrypted file and every Secret manifest.
  const usesSops = encrypted.length > 0 || (await resolver.loadedConfigs()).length > 0;
  if (usesSops) {
    const subjects = considered.filter(
      (entry) =>
        isSopsEncryptedFile(entry.inspection) || reasons.get(entry.file)?.reasons.some((reason) => reason.kind === "secret-manifest"),
    );
    for (const entry of subjects) {
      const manifest = reasons.get(entry.file)?.reasons.find((reason) => reason.kind === "secret-manifest");
      findings.push(
        ...(await recipientFindings(
          {
            file: entry.file,
            ...(entry.inspection.metadata ? { metadata: entry.inspection.metadata } : {}),
            ...(entry.inspection.metadataLine !== undefined ? { metadataLine: entry.inspection.metadataLine } : {}),
            ...(manifest?.kind === "secret-manifest" ? { resource: manifest.resource } : {}),
          },
          resolver,
        )),
      );
    }
  }
  for (const config of await resolver.loadedConfigs()) findings.push(...config.findings);
  for (const ignored of resolver.ignoredConfigFiles) {
    findings.push({
      severity: "warning",
      check: "secrets/sops-config",
      file: ignored,
      message: `sops ignores ${ignored}: its configuration file must be called ${SOPS_CONFIG_FILE}`,
      hint: `rename it to ${SOPS_CONFIG_FILE}`,
    });
  }

  // SealedSecrets, Secrets of references, and committed private keys.
  for (const entry of scanned) findings.push(...sealedSecretFindings(entry), ...secretReferenceFindings(entry));
  const recipientsOfKey = (publicKey: string) =>
    encrypted
      .filter((entry) => entry.inspection.metadata!.recipients.some((recipient) => recipient.id === publicKey))
      .map((entry) => entry.file);
  for (const entry of scanned) findings.push(...privateKeyFindings(entry, context.redactor, recipientsOfKey));

  // Rendered output: what would reach the cluster.
  findings.push(...(await renderedSecretFindings(input.rendered, { catalog, scannedFiles: fileSet })));

  // Decryption with the CI key, for files whose structure sops would accept.
  const decryptable = encrypted.filter((entry) => structural.get(entry.file)!.length === 0).map((entry) => entry.inspection);
  const decryption = await checkDecryption(context, root, decryptable);
  findings.push(...decryption.findings);

  // Files no check above could look at: reported, so a skipped file is never a passed one.
  findings.push(...catalog.uninspected);

  const result = sortFindings(dedupe(findings));
  context.output.err(`secrets: ${reasons.size} files must be encrypted, ${encrypted.length} SOPS-encrypted, ${decryption.summary}`);
  return { findings: result, decryption: decryption.status };
}

function present<T>(items: readonly (T | undefined)[]): T[] {
  return items.filter((item): item is T => item !== undefined);
}

function dedupe(findings: readonly Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((finding) => {
    const key = `${finding.check}|${finding.file ?? ""}|${finding.line ?? ""}|${finding.resource?.name ?? ""}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort((a, b) => (a.file ?? "").localeCompare(b.file ?? "") || (a.line ?? 0) - (b.line ?? 0));
}
