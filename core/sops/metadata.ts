// The `sops` block of an encrypted file, read the way sops reads it (stores/stores.go), and the rule
// that decides which values sops encrypts (sops.go: shouldBeEncrypted).
import { isRecord } from "../yaml-file.ts";
import { compileGoRegexp, type GoRegexp } from "./go-regexp.ts";
import { storedGroup, type Recipient, type RecipientGroup } from "./recipients.ts";
import { encryptedValueProblem } from "./sops-value.ts";

/** sops's default when a file names none of the four rules. */
export const DEFAULT_UNENCRYPTED_SUFFIX = "_unencrypted";

export interface EncryptionRule {
  unencryptedSuffix?: string;
  encryptedSuffix?: string;
  unencryptedRegex?: GoRegexp;
  encryptedRegex?: GoRegexp;
  /** encrypted_comment_regex / unencrypted_comment_regex: which values are encrypted depends on comments. */
  dependsOnComments: boolean;
  macOnlyEncrypted: boolean;
  /** e.g. `encrypted_regex ^(data|stringData)$`, for messages. */
  description: string;
}

export interface SopsMetadata {
  groups: RecipientGroup[];
  recipients: Recipient[];
  version?: string;
  rule: EncryptionRule;
  /** Why sops would refuse this metadata; empty when it is complete. */
  problems: string[];
}

/** The keys that say which values sops encrypts, in .sops.yaml creation rules and in a file's metadata. */
export const ENCRYPTION_RULE_KEYS = [
  "unencrypted_suffix",
  "encrypted_suffix",
  "unencrypted_regex",
  "encrypted_regex",
  "unencrypted_comment_regex",
  "encrypted_comment_regex",
] as const;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export function readSopsMetadata(block: unknown): SopsMetadata {
  const problems: string[] = [];
  const emptyRule: EncryptionRule = { dependsOnComments: false, macOnlyEncrypted: false, description: "" };
  if (!isRecord(block)) return { groups: [], recipients: [], rule: emptyRule, problems: ["the sops metadata is not a map"] };

  const mac = block["mac"];
  if (typeof mac !== "string" || mac === "") problems.push("no mac");
  else if (encryptedValueProblem(mac)) problems.push("the mac is corrupt");
  const lastModified = block["lastmodified"];
  if (typeof lastModified !== "string" || lastModified === "") problems.push("no lastmodified");
  else if (!RFC3339.test(lastModified)) problems.push("lastmodified is not an RFC 3339 time");
  const version = typeof block["version"] === "string" ? block["version"] : undefined;
  if (!version) problems.push("no version");

  // Top-level keys win over key_groups, as in Metadata.internalKeygroups.
  const topLevel = storedGroup(block);
  const groupBlocks = Array.isArray(block["key_groups"]) ? block["key_groups"].filter(isRecord) : [];
  const stored = topLevel.recipients.length > 0 ? [topLevel] : groupBlocks.map(storedGroup);
  const groups = stored.map((group) => group.recipients).filter((group) => group.length > 0);
  if (groups.length === 0) problems.push("no recipients (age, pgp, kms, gcp_kms, azure_kv, hc_vault)");
  for (const recipient of stored.flatMap((group) => group.missingDataKey))
    problems.push(`recipient ${recipient.id} has no encrypted data key`);

  const rule = readEncryptionRule(block, problems);
  const recipients = groups.flat();
  return { groups, recipients, ...(version ? { version } : {}), rule, problems };
}

function readEncryptionRule(block: Record<string, unknown>, problems: string[]): EncryptionRule {
  const text = (key: string) => (typeof block[key] === "string" && block[key] !== "" ? block[key] : undefined);
  const named = ENCRYPTION_RULE_KEYS.filter((key) => text(key) !== undefined);
  if (named.length > 1) problems.push(`more than one of ${named.join(", ")} (sops allows one)`);
  const regex = (key: string): GoRegexp | undefined => {
    const source = text(key);
    if (source === undefined) return undefined;
    const compiled = compileGoRegexp(source);
    if (!compiled.ok) {
      problems.push(`${key} is not a valid regular expression: ${compiled.reason}`);
      return undefined;
    }
    return compiled.regexp;
  };
  const rule: EncryptionRule = {
    dependsOnComments: text("unencrypted_comment_regex") !== undefined || text("encrypted_comment_regex") !== undefined,
    macOnlyEncrypted: block["mac_only_encrypted"] === true || block["mac_only_encrypted"] === "true",
    description:
      named.length > 0
        ? named.map((key) => `${key} ${text(key)}`).join(", ")
        : `unencrypted_suffix ${DEFAULT_UNENCRYPTED_SUFFIX} (sops's default)`,
  };
  const unencryptedSuffix = text("unencrypted_suffix") ?? (named.length === 0 ? DEFAULT_UNENCRYPTED_SUFFIX : undefined);
  if (unencryptedSuffix) rule.unencryptedSuffix = unencryptedSuffix;
  const encryptedSuffix = text("encrypted_suffix");
  if (encryptedSuffix) rule.encryptedSuffix = encryptedSuffix;
  const unencryptedRegex = regex("unencrypted_regex");
  if (unencryptedRegex) rule.unencryptedRegex = unencryptedRegex;
  const encryptedRegex = regex("encrypted_regex");
  if (encryptedRegex) rule.encryptedRegex = encryptedRegex;
  return rule;
}

/**
 * Whether sops encrypts the value at `path` (the map keys leading to it; list positions are not
 * part of the path). Mirrors sops.go shouldBeEncrypted for the key-based rules.
 */
export function shouldBeEncrypted(path: readonly string[], rule: EncryptionRule): boolean {
  let encrypted = true;
  if (rule.unencryptedSuffix !== undefined && path.some((key) => key.endsWith(rule.unencryptedSuffix!))) encrypted = false;
  if (rule.encryptedSuffix !== undefined) encrypted = path.some((key) => key.endsWith(rule.encryptedSuffix!));
  if (rule.unencryptedRegex && path.some((key) => rule.unencryptedRegex!.test(key))) encrypted = false;
  if (rule.encryptedRegex) encrypted = path.some((key) => rule.encryptedRegex!.test(key));
  return encrypted;
}
