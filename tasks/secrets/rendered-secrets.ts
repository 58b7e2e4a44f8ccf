// What would reach the cluster: a rendered Secret with values must come from a SOPS-encrypted
// file (kustomize passes the ciphertext through; Flux decrypts it) or from a generator whose inputs
// are. Anything else is plaintext in Git. Findings point at the source file, never at values.
import path from "node:path";
import type { Finding, ResourceRef } from "../../core/model/findings.ts";
import type { Manifest } from "../../core/manifests.ts";
import { SourceLocator } from "../../core/source-locator.ts";
import { isSopsEncryptedFile } from "../../core/sops/encrypted-file.ts";
import { looksEncrypted } from "../../core/sops/sops-value.ts";
import { isSopsMask } from "../../core/flux/engine.ts";
import { isRecord } from "../../core/yaml-file.ts";
import type { RenderedOverlay } from "../../core/model/rendered-overlay.ts";
import type { FileCatalog } from "./file-catalog.ts";
import { isSealedSecretObject, isSecretObject, isSecretRef } from "../../core/model/secrets.ts";
import { hasSecretValues } from "./kubernetes-secrets.ts";
import { isTemplateFile } from "./sealed-secrets.ts";
import { isKustomizationFile, readSecretGenerators, type SecretGenerator } from "./secret-generators.ts";

interface Exposure {
  file: string;
  line?: number;
  resource: ResourceRef;
  /** Rendered names: overlays may suffix them differently. */
  names: string[];
  overlays: RenderedOverlay["overlay"][];
  cause: string;
  besideSealedSecrets: boolean;
}

export interface RenderedSecretsOptions {
  catalog: FileCatalog;
  /** Kustomization files whose generators the file checks already reported on. */
  scannedFiles: ReadonlySet<string>;
}

export async function renderedSecretFindings(rendered: readonly RenderedOverlay[], options: RenderedSecretsOptions): Promise<Finding[]> {
  const { catalog } = options;
  const locator = new SourceLocator(catalog.root);
  const exposures = new Map<string, Exposure>();
  const findings: Finding[] = [];
  for (const result of rendered) {
    if (!result.ok) continue;
    const { overlay } = result;
    const sealedHere = result.manifests.some((manifest) => isSealedSecretObject(manifest.object));
    for (const manifest of result.manifests) {
      const origin = manifest.origin?.file;
      if (isSealedSecretObject(manifest.object) && origin && isTemplateFile(origin)) {
        const line = await locator.lineOf(origin, manifest.ref);
        findings.push({
          severity: "error",
          check: "secrets/template-rendered",
          environment: overlay.environment,
          layer: overlay.layer,
          file: origin,
          ...(line !== undefined ? { line } : {}),
          resource: manifest.ref,
          message: `overlay ${overlay.path} renders the SealedSecret template ${origin}: its placeholders are not ciphertext and the controller cannot unseal them`,
          hint: "list the environment's sealed-secrets/actual-*.yaml in the kustomization instead of the template",
        });
        continue;
      }
      if (!isSecretRef(manifest.ref) || !hasSecretValues(manifest.object)) continue;
      const verdict = await plaintextSource(manifest, origin, options);
      if (!verdict) continue;
      const line = origin && verdict.line === undefined ? await locator.lineOf(origin, manifest.ref) : verdict.line;
      const file = origin ?? overlay.path;
      // One finding per source document, however many overlays render it (under whatever name).
      const key = origin ? `${file}:${line ?? ""}` : `${file}:${manifest.ref.namespace ?? ""}/${manifest.ref.name}`;
      const exposure = exposures.get(key) ?? {
        file,
        ...(line !== undefined ? { line } : {}),
        resource: manifest.ref,
        names: [],
        overlays: [],
        cause: verdict.cause,
        besideSealedSecrets: false,
      };
      exposure.overlays.push(overlay);
      const name = `${manifest.ref.namespace ? `${manifest.ref.namespace}/` : ""}${manifest.ref.name}`;
      if (!exposure.names.includes(name)) exposure.names.push(name);
      exposure.besideSealedSecrets ||= sealedHere;
      exposures.set(key, exposure);
    }
  }
  for (const exposure of exposures.values()) findings.push(exposureFinding(exposure));
  return findings;
}

/** Why a rendered Secret carries plaintext, or undefined when its source is encrypted. */
async function plaintextSource(
  manifest: Manifest,
  origin: string | undefined,
  options: RenderedSecretsOptions,
): Promise<{ cause: string; line?: number } | undefined> {
  // A SOPS-encrypted Secret renders as it is stored: ENC[…] values and the sops block.
  if (isRecord(manifest.object["sops"]) && allValuesEncrypted(manifest.object)) return undefined;
  if (manifest.chart) return chartSecretSource(manifest, manifest.chart);
  if (!origin)
    return allValuesEncrypted(manifest.object) ? undefined : { cause: "its source file is unknown and its values are not encrypted" };
  if (isKustomizationFile(origin)) return generatedSecretSource(manifest, origin, options);
  const entry = await options.catalog.get(origin);
  if (entry && isSopsEncryptedFile(entry.inspection)) {
    // The render masks every value of a SOPS Secret as Flux does: the source file tells which are encrypted.
    const stored = sourceDocument(
      entry.inspection.documents.map((document) => document.value),
      manifest.ref.name,
    );
    if (allValuesEncrypted(manifest.object) && (!stored || allValuesEncrypted(stored))) return undefined;
    return {
      cause: `${origin} is SOPS-encrypted, but some data/stringData values are not (left out by its sops rule, or added by a patch)`,
    };
  }
  // Values that only exist after Flux's postBuild substitution (`${var}` in the source) come from
  // a substituteFrom source, which is checked as a file of its own.
  const source = entry
    ? sourceDocument(
        entry.inspection.documents.map((document) => document.value),
        manifest.ref.name,
      )
    : undefined;
  if (source && !hasSecretValues(source)) return undefined;
  return { cause: `${origin} is neither SOPS-encrypted nor a SealedSecret` };
}

/**
 * A chart's Secret holds plaintext from Git only when a value is one the HelmRelease's values
 * write in plaintext (spec.values, a valuesFrom ConfigMap); values the chart generates at install
 * (certificates, random passwords) or takes from a valuesFrom Secret are not in Git as plaintext.
 */
function chartSecretSource(manifest: Manifest, chart: NonNullable<Manifest["chart"]>): { cause: string } | undefined {
  for (const [field, decode] of [
    ["data", true],
    ["stringData", false],
  ] as const) {
    const values = manifest.object[field];
    if (!isRecord(values)) continue;
    for (const value of Object.values(values)) {
      if (typeof value !== "string" || value === "") continue;
      const plain = decode ? Buffer.from(value, "base64").toString("utf8") : value;
      if (chart.plainValues.has(plain)) {
        return {
          cause: `chart ${chart.chart} of HelmRelease ${chart.helmRelease.namespace ? `${chart.helmRelease.namespace}/` : ""}${chart.helmRelease.name} copies it from the release's values, which are plaintext in Git (spec.values or a valuesFrom ConfigMap)`,
        };
      }
    }
  }
  return undefined;
}

async function generatedSecretSource(
  manifest: Manifest,
  kustomization: string,
  options: RenderedSecretsOptions,
): Promise<{ cause: string; line?: number } | undefined> {
  // The file checks report on generators of scanned kustomizations (literals and unencrypted inputs).
  if (options.scannedFiles.has(kustomization)) return undefined;
  const entry = await options.catalog.get(kustomization);
  if (!entry?.text) return undefined;
  const generators = readSecretGenerators(kustomization, entry.text);
  const named = generators.filter((generator) => manifest.ref.name.includes(generator.name)).sort((a, b) => b.name.length - a.name.length);
  const generator: SecretGenerator | undefined = named[0] ?? (generators.length === 1 ? generators[0] : undefined);
  if (!generator) return undefined;
  if (generator.plaintextLiteralsLine !== undefined)
    return { cause: `secretGenerator ${generator.name} has literals`, line: generator.plaintextLiteralsLine };
  for (const input of generator.inputs) {
    const inputEntry = await options.catalog.get(input.file);
    if (inputEntry && !isSopsEncryptedFile(inputEntry.inspection))
      return { cause: `secretGenerator ${generator.name} reads ${input.file}, which is not SOPS-encrypted`, line: input.line };
  }
  return undefined;
}

/** The Secret in the source file a rendered one came from: overlays may have prefixed or suffixed its name. */
function sourceDocument(documents: readonly unknown[], renderedName: string): Record<string, unknown> | undefined {
  const secrets = documents.filter(isSecretObject);
  const nameOf = (secret: Record<string, unknown>) =>
    isRecord(secret["metadata"]) && typeof secret["metadata"]["name"] === "string" ? secret["metadata"]["name"] : "";
  return (
    secrets.find((secret) => nameOf(secret) === renderedName) ??
    secrets
      .filter((secret) => nameOf(secret) !== "" && renderedName.includes(nameOf(secret)))
      .sort((a, b) => nameOf(b).length - nameOf(a).length)[0] ??
    (secrets.length === 1 ? secrets[0] : undefined)
  );
}

function allValuesEncrypted(object: Record<string, unknown>): boolean {
  return ["data", "stringData"].every((field) => {
    const values = object[field];
    return (
      !isRecord(values) ||
      Object.values(values).every((value) => value === null || value === "" || looksEncrypted(value) || isSopsMask(value))
    );
  });
}

function exposureFinding(exposure: Exposure): Finding {
  const places = exposure.overlays.map((overlay) => `${overlay.environment}/${overlay.layer}`);
  const layers = new Set(exposure.overlays.map((overlay) => overlay.layer));
  const single = exposure.overlays.length === 1 ? exposure.overlays[0] : undefined;
  return {
    severity: "error",
    check: "secrets/plaintext-secret",
    ...(single ? { environment: single.environment } : {}),
    ...(layers.size === 1 ? { layer: [...layers][0]! } : {}),
    file: exposure.file,
    ...(exposure.line !== undefined ? { line: exposure.line } : {}),
    resource: exposure.resource,
    message: `Secret ${exposure.names.join(", ")} is rendered with plaintext values in ${places.join(", ")}: ${exposure.cause}${exposure.besideSealedSecrets ? "; the same overlay uses SealedSecrets" : ""}`,
    hint: exposure.besideSealedSecrets
      ? "seal it with kubeseal like the other secrets of this overlay, and rotate the values: they are in the Git history"
      : `encrypt ${path.posix.basename(exposure.file)} with sops (a creation rule in .sops.yaml) or seal it; rotate the values: they are in the Git history`,
  };
}
