// Which values belong to one environment and must never travel to another: addresses, names,
// URLs and secrets. Used by promote (leave them alone) and env add (mark them in the copy).
import { isIP } from "node:net";
import type { EnvironmentSpecificKind, FieldPath, Subject } from "../model/promotion.ts";

/** Kinds a value alone can reveal, strongest first. */
export type ValueKind = Extract<EnvironmentSpecificKind, "ip" | "cidr" | "url" | "email" | "hostname" | "environment-name">;

/** Keys whose values name API groups or kinds, not hosts (`group: cert-manager.io`). */
const NEVER_ENVIRONMENT_KEYS = new Set(["apiVersion", "kind", "group", "apiGroup", "apiGroups"]);

/** File names look like host names (`values.yaml`): their extensions are not top-level domains. */
const FILE_EXTENSIONS = new Set([
  "yaml",
  "yml",
  "json",
  "txt",
  "toml",
  "conf",
  "cfg",
  "ini",
  "xml",
  "md",
  "sh",
  "py",
  "js",
  "ts",
  "pem",
  "crt",
  "key",
  "cert",
  "log",
  "html",
  "properties",
  "tpl",
  "tf",
  "env",
  "lock",
  "sql",
  "gz",
  "tgz",
  "zip",
  "tar",
  "csv",
  "jar",
]);

/** Cluster-internal DNS names are the same in every cluster. */
const CLUSTER_LOCAL = /\.(svc|svc\.cluster\.local|cluster\.local)\.?$/i;

const HOST_LABEL = "[a-z0-9]([-a-z0-9_]*[a-z0-9])?";
const HOSTNAME = new RegExp(`^(\\*\\.)?(${HOST_LABEL}\\.)+([a-z]{2,63})\\.?(:\\d{1,5})?$`, "i");
const EMAIL = new RegExp(`^[^@\\s]+@(${HOST_LABEL}\\.)+[a-z]{2,63}$`, "i");
const URL_PATTERN = /^[a-z][a-z0-9+.-]*:\/\/\S+$/i;

/** What a single scalar reveals about where it belongs; undefined for an ordinary value. */
export function classifyValue(
  value: unknown,
  context: { key?: string | number; environments?: readonly string[] } = {},
): ValueKind | undefined {
  if (typeof context.key === "string" && NEVER_ENVIRONMENT_KEYS.has(context.key)) return undefined;
  if (Array.isArray(value)) {
    for (const item of value) {
      const { key: _key, ...withoutKey } = context;
      const kind = classifyValue(item, withoutKey);
      if (kind) return kind;
    }
    return undefined;
  }
  if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      const kind = classifyValue(item, { ...context, key });
      if (kind) return kind;
    }
    return undefined;
  }
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  if (text === "") return undefined;
  if (isAddress(text)) return "ip";
  if (isCidr(text)) return "cidr";
  if (URL_PATTERN.test(text)) return "url";
  if (EMAIL.test(text)) return "email";
  if (isHostname(text)) return "hostname";
  if (context.environments?.some((environment) => containsEnvironmentName(text, environment))) return "environment-name";
  return undefined;
}

/** An IPv4 or IPv6 address, optionally with a port (`1.1.1.1:53`, `[::1]:53`) or as a range (`a-b`). */
export function isAddress(text: string): boolean {
  if (isIP(text) !== 0) return true;
  const bracketed = /^\[([^\]]+)\](:\d{1,5})?$/.exec(text);
  if (bracketed && isIP(bracketed[1]!) === 6) return true;
  const withPort = /^([\d.]+):\d{1,5}$/.exec(text);
  if (withPort && isIP(withPort[1]!) === 4) return true;
  const range = text.split("-");
  return range.length === 2 && range.every((part) => isIP(part.trim()) !== 0);
}

export function isCidr(text: string): boolean {
  const match = /^(.+)\/(\d{1,3})$/.exec(text);
  if (!match) return false;
  const family = isIP(match[1]!);
  const prefix = Number(match[2]);
  return (family === 4 && prefix <= 32) || (family === 6 && prefix <= 128);
}

export function isHostname(text: string): boolean {
  if (!HOSTNAME.test(text) || CLUSTER_LOCAL.test(text)) return false;
  const tld = text.replace(/:\d+$/, "").replace(/\.$/, "").split(".").at(-1)!.toLowerCase();
  return !FILE_EXTENSIONS.has(tld);
}

/** `gitlab-smtp-staging`, `letsencrypt-staging-account-key`: the environment's name as a word. */
export function containsEnvironmentName(text: string, environment: string): boolean {
  if (environment === "") return false;
  const escaped = environment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[^a-z0-9])${escaped}([^a-z0-9]|$)`, "i").test(text);
}

/**
 * Capacity is sized per environment: replica counts, resource requests and limits, storage sizes
 * and classes, autoscaling bounds. Decided by the field's path, not its value.
 */
export function isCapacityField(path: FieldPath): boolean {
  const keys = path.filter((segment): segment is string => typeof segment === "string");
  const last = keys.at(-1) ?? "";
  if (CAPACITY_KEYS.has(last) || /Replicas$/.test(last)) return true;
  const resources = keys.lastIndexOf("resources");
  if (resources >= 0 && (keys[resources + 1] === "requests" || keys[resources + 1] === "limits")) return true;
  if (keys.includes("autoscaling") || keys.includes("hpa")) return true;
  if (keys.includes("persistence") && (last === "size" || /storageclass/i.test(last))) return true;
  return false;
}

const CAPACITY_KEYS = new Set([
  "replicas",
  "replicaCount",
  "minReplicas",
  "maxReplicas",
  "storageClass",
  "storageClassName",
  "storage",
  "minAvailable",
  "maxUnavailable",
]);

/** Objects whose every field is a secret. */
export const SECRET_KINDS = new Set(["Secret", "SealedSecret", "SopsSecret", "ExternalSecret"]);

export function isSecretSubject(subject: Subject): boolean {
  return subject.type === "object" && SECRET_KINDS.has(subject.kind);
}

/** Files that hold secrets by convention (secrets/ folders, *.enc.* names), or by their content. */
export function isSecretFile(file: string, text?: string): boolean {
  if (/(^|\/)(secrets|sealed-secrets)\//.test(file)) return true;
  if (text === undefined) return false;
  return /^sops:\s*$/m.test(text) || /^kind:\s*["']?(Secret|SealedSecret|SopsSecret)["']?\s*$/m.test(text);
}

/**
 * Version-like fields: an image tag or digest, a chart version, a `version`/`tag`/`digest` key, or
 * an `image` string that carries a tag. These move between environments by design.
 */
export function isVersionField(path: FieldPath, value: unknown): boolean {
  const last = path.at(-1);
  if (typeof last !== "string") return false;
  if (/^(tag|digest|version|semver|imageTag|appVersion|chartVersion)$/i.test(last) || /(Tag|Version|Digest)$/.test(last)) {
    return !path.includes("metadata") && last !== "apiVersion";
  }
  return last === "image" && typeof value === "string" && /[:@]/.test(value);
}
