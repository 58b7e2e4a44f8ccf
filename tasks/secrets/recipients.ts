// Do a file's recipients still match its creation rule? A key added to or removed from
// .sops.yaml changes nothing in files already encrypted until `sops updatekeys` runs.
import type { Finding, ResourceRef } from "../../core/model/findings.ts";
import { matchCreationRule, SopsConfigResolver, type SopsConfig } from "../../core/sops/creation-rules.ts";
import type { SopsMetadata } from "../../core/sops/metadata.ts";
import { allRecipients, recipientLabel, sameGroups } from "../../core/sops/recipients.ts";

const MAX_LISTED = 4;

export interface RecipientSubject {
  file: string;
  /** Sops metadata when the file is encrypted; absent for a plaintext Secret manifest. */
  metadata?: SopsMetadata;
  metadataLine?: number;
  resource?: ResourceRef;
}

export async function recipientFindings(subject: RecipientSubject, resolver: SopsConfigResolver): Promise<Finding[]> {
  const { file, metadata } = subject;
  const config = await resolver.configFor(file);
  const at = subject.metadataLine !== undefined ? { line: subject.metadataLine } : {};
  const resource = subject.resource ? { resource: subject.resource } : {};
  // An unusable .sops.yaml has its own finding; what its rules would say is unknown.
  if (config && !config.usable) return [];
  const noRule = (message: string, hint: string): Finding[] => [
    { severity: "warning", check: "secrets/no-creation-rule", file, ...at, ...resource, message, hint },
  ];
  if (!config || !config.rules) {
    return noRule(
      `no .sops.yaml with creation_rules governs ${file}: sops cannot tell which keys it must be encrypted to`,
      "add a creation rule whose path_regex matches this file to the repository's .sops.yaml",
    );
  }
  const match = matchCreationRule(config, SopsConfigResolver.pathForRule(config, file));
  if (match.kind === "none") {
    return noRule(
      `no creation rule of ${config.file} matches ${SopsConfigResolver.pathForRule(config, file)}: \`sops --encrypt\` and \`sops updatekeys\` fail for it`,
      `add a path_regex for this file to ${config.file}, or move the file where a rule applies`,
    );
  }
  if (match.kind === "broken" || !metadata || metadata.recipients.length === 0) return [];
  return driftFindings(subject, config, match.rule.index);
}

function driftFindings(subject: RecipientSubject, config: SopsConfig, ruleIndex: number): Finding[] {
  const rule = config.rules![ruleIndex]!;
  const metadata = subject.metadata!;
  if (rule.groups.length === 0 || rule.hasUncomparableKeys || sameGroups(rule.groups, metadata.groups)) return [];
  const wanted = new Set(allRecipients(rule.groups).map(recipientLabel));
  const present = new Set(metadata.recipients.map(recipientLabel));
  const missing = [...wanted].filter((label) => !present.has(label));
  const extra = [...present].filter((label) => !wanted.has(label));
  const parts = [
    missing.length > 0 ? `not encrypted to ${list(missing)}` : "",
    extra.length > 0 ? `still encrypted to ${list(extra)}` : "",
    missing.length === 0 && extra.length === 0 ? "its key groups are arranged differently" : "",
  ].filter(Boolean);
  return [
    {
      severity: "warning",
      check: "secrets/recipients-drift",
      file: subject.file,
      ...(subject.metadataLine !== undefined ? { line: subject.metadataLine } : {}),
      ...(subject.resource ? { resource: subject.resource } : {}),
      message: `recipients of ${subject.file} differ from creation rule ${rule.index + 1} of ${config.file} (line ${rule.line}): ${parts.join("; ")}`,
      hint: `sops updatekeys ${subject.file}`,
    },
  ];
}

function list(labels: readonly string[]): string {
  const shown = labels.slice(0, MAX_LISTED).join(", ");
  return labels.length > MAX_LISTED ? `${shown} and ${labels.length - MAX_LISTED} more` : shown;
}
