// Committed Secrets whose values are references (op://, vault:, ref+…) resolved by another system:
// nothing to rotate, but Flux applies them as they are, unencrypted, so whatever reads the Secret
// must resolve them. Reported as what they are, not as leaked values.
import type { Finding } from "../../core/model/findings.ts";
import { resourceRefOf } from "../../core/manifests.ts";
import type { CatalogEntry } from "./file-catalog.ts";
import { isSecretObject } from "../../core/model/secrets.ts";
import { holdsOnlyReferences } from "./kubernetes-secrets.ts";

export function secretReferenceFindings(entry: CatalogEntry): Finding[] {
  const findings: Finding[] = [];
  for (const document of entry.inspection.documents) {
    if (!isSecretObject(document.value) || !holdsOnlyReferences(document.value)) continue;
    const { kind, name, namespace } = resourceRefOf(document.value);
    findings.push({
      severity: "warning",
      check: "secrets/secret-references",
      file: entry.file,
      line: document.line,
      resource: { kind, name, ...(namespace ? { namespace } : {}) },
      message: `Secret ${name} in ${entry.file} holds references to values kept elsewhere (op://, vault:, ref+…), committed unencrypted: Flux applies the references as they are, so whatever reads this Secret must resolve them`,
      hint: "if an operator resolves them (1Password Connect, External Secrets, vals), let it create the Secret from its own resource (OnePasswordItem, ExternalSecret) instead of committing one",
    });
  }
  return findings;
}

/** Every document is a Secret of references: a rule or folder asking for encryption gets the finding above instead. */
export function holdsOnlySecretReferences(entry: CatalogEntry): boolean {
  const documents = entry.inspection.documents.filter((document) => document.value !== null && document.value !== undefined);
  return documents.length > 0 && documents.every((document) => isSecretObject(document.value) && holdsOnlyReferences(document.value));
}
