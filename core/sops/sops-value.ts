// What sops writes in place of a value: ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]. A value that
// starts like one but does not parse is corrupt: sops refuses the whole file.

export const SOPS_VALUE_TYPES = ["str", "int", "float", "bool", "bytes", "comment"] as const;

const SHAPE = /^ENC\[AES256_GCM,data:([^,\]]*),iv:([^,\]]*),tag:([^,\]]*),type:([^,\]]*)\]$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** sops uses a 32-byte GCM nonce and a 16-byte tag. */
const IV_BYTES = 32;
const TAG_BYTES = 16;

export function looksEncrypted(value: unknown): value is string {
  return typeof value === "string" && value.startsWith("ENC[");
}

/** Why an ENC[…] value cannot be decrypted, or undefined when it is well formed. */
export function encryptedValueProblem(value: string): string | undefined {
  const match = SHAPE.exec(value);
  if (!match) return "does not match sops' ENC[AES256_GCM,data:…,iv:…,tag:…,type:…] format";
  const [, data, iv, tag, type] = match;
  if (!BASE64.test(data!)) return "its data is not valid base64";
  if (!BASE64.test(iv!) || Buffer.from(iv!, "base64").length !== IV_BYTES) return `its iv is not ${IV_BYTES} bytes of base64`;
  if (!BASE64.test(tag!) || Buffer.from(tag!, "base64").length !== TAG_BYTES) return `its tag is not ${TAG_BYTES} bytes of base64`;
  if (!(SOPS_VALUE_TYPES as readonly string[]).includes(type!)) return `its type is not one of ${SOPS_VALUE_TYPES.join(", ")}`;
  return undefined;
}
