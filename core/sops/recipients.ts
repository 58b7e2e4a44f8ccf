// The master keys a file is encrypted to, in one comparable form, whether they come from a
// creation rule in .sops.yaml or from the metadata sops stored in the file.
import { isRecord } from "../yaml-file.ts";

export type RecipientType = "age" | "pgp" | "kms" | "gcp_kms" | "azure_kv" | "hc_vault" | "hckms";

export interface Recipient {
  type: RecipientType;
  /** Public identifier: an age recipient, a PGP fingerprint, a KMS key id or URL. Never secret. */
  id: string;
}

/** One key group: sops needs a key from each group (or `shamir_threshold` of them). */
export type RecipientGroup = Recipient[];

export function recipientLabel(recipient: Recipient): string {
  return `${recipient.type}:${recipient.id}`;
}

export function sameGroups(a: readonly RecipientGroup[], b: readonly RecipientGroup[]): boolean {
  const canonical = (groups: readonly RecipientGroup[]) =>
    groups.map((group) => [...new Set(group.map(recipientLabel))].sort().join(",")).sort();
  const left = canonical(a);
  const right = canonical(b);
  return left.length === right.length && left.every((group, index) => group === right[index]);
}

export function allRecipients(groups: readonly RecipientGroup[]): Recipient[] {
  const seen = new Map<string, Recipient>();
  for (const recipient of groups.flat()) seen.set(recipientLabel(recipient), recipient);
  return [...seen.values()];
}

// --- as written in .sops.yaml (config/config.go: creationRule and keyGroup) ---

/** sops accepts a comma-separated string or a list of strings for each key type. */
export function splitKeyField(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return [];
  const items = typeof value === "string" ? [value] : Array.isArray(value) ? value : undefined;
  if (!items || items.some((item) => typeof item !== "string")) return undefined;
  return (items as string[])
    .flatMap((item) => item.split(","))
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

export function ageRecipient(id: string): Recipient {
  return { type: "age", id };
}

export function pgpRecipient(fingerprint: string): Recipient {
  return { type: "pgp", id: fingerprint.replace(/\s+/g, "").toUpperCase() };
}

/** `arn` or `arn+role-arn`, as sops splits the kms field. */
export function kmsRecipient(arn: string, role = ""): Recipient {
  const [keyArn, roleFromString] = arn.split("+");
  const effectiveRole = role || roleFromString || "";
  return { type: "kms", id: effectiveRole ? `${keyArn!.trim()}+${effectiveRole.trim()}` : keyArn!.trim() };
}

export function gcpKmsRecipient(resourceId: string): Recipient {
  return { type: "gcp_kms", id: resourceId.trim() };
}

/** https://<vault>.vault.azure.net/keys/<name>[/<version>]; the version is resolved at encryption, so it is left out. */
export function azureKeyVaultRecipient(vaultUrl: string, name: string): Recipient {
  return { type: "azure_kv", id: `${vaultUrl.replace(/\/+$/, "")}/keys/${name}` };
}

export function azureKeyVaultRecipientFromUrl(url: string): Recipient | undefined {
  const match = /^(https?:\/\/[^/]+)\/keys\/([^/]+)(?:\/[^/]*)?\/?$/.exec(url.trim());
  return match ? azureKeyVaultRecipient(match[1]!, match[2]!) : undefined;
}

/** https://vault:8200/v1/<engine path>/keys/<key name> */
export function vaultRecipient(address: string, enginePath: string, keyName: string): Recipient {
  return { type: "hc_vault", id: `${address.replace(/\/+$/, "")}/v1/${enginePath.replace(/^\/+|\/+$/g, "")}/keys/${keyName}` };
}

export function vaultRecipientFromUri(uri: string): Recipient | undefined {
  const match = /^(https?:\/\/[^/]+)\/v1\/(.+)\/keys\/([^/]+)\/?$/.exec(uri.trim());
  return match ? vaultRecipient(match[1]!, match[2]!, match[3]!) : undefined;
}

// --- as stored in a file's sops metadata (stores/stores.go: Metadata and keygroup) ---

/** Recipients of one stored key group; `missingDataKey` lists those without an encrypted data key. */
export function storedGroup(group: Record<string, unknown>): { recipients: RecipientGroup; missingDataKey: Recipient[] } {
  const recipients: RecipientGroup = [];
  const missingDataKey: Recipient[] = [];
  const each = (field: string, toRecipient: (entry: Record<string, unknown>) => Recipient | undefined) => {
    const entries = group[field];
    if (!Array.isArray(entries)) return;
    for (const entry of entries) {
      if (!isRecord(entry)) continue;
      const recipient = toRecipient(entry);
      if (!recipient || recipient.id === "") continue;
      recipients.push(recipient);
      if (typeof entry["enc"] !== "string" || entry["enc"].trim() === "") missingDataKey.push(recipient);
    }
  };
  const text = (value: unknown) => (typeof value === "string" ? value : "");
  each("age", (entry) => ageRecipient(text(entry["recipient"])));
  each("pgp", (entry) => pgpRecipient(text(entry["fp"])));
  each("kms", (entry) => kmsRecipient(text(entry["arn"]), text(entry["role"])));
  each("gcp_kms", (entry) => gcpKmsRecipient(text(entry["resource_id"])));
  each("azure_kv", (entry) => azureKeyVaultRecipient(text(entry["vault_url"]), text(entry["name"])));
  each("hc_vault", (entry) => vaultRecipient(text(entry["vault_address"]), text(entry["engine_path"]), text(entry["key_name"])));
  each("hckms", (entry) => ({ type: "hckms", id: text(entry["key_id"]) }));
  return { recipients, missingDataKey };
}
