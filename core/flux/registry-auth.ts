// OCI registries' credentials from CI variables, for chart sources without a secretRef (the runner
// cannot read the cluster's Secrets, and a SOPS-encrypted one is never decrypted for a render):
//
//   GITOPS_CI_REGISTRY_AUTH_CONFIG               a Docker config JSON ({"auths": {"host": {...}}}),
//                                                as GitLab's DOCKER_AUTH_CONFIG holds it
//   GITOPS_CI_REGISTRY_<HOST>_USERNAME/_PASSWORD  one registry; HOST is its host[:port] in upper
//                                                case, every other character "_"
//                                                (ghcr.io -> GITOPS_CI_REGISTRY_GHCR_IO_USERNAME)
//
// The per-host pair wins over the JSON for its host. The engine gets one Docker config JSON; every
// password and auth string goes to the redactor first.
import { UserError } from "../errors.ts";
import type { Redactor } from "../redaction.ts";

export const REGISTRY_AUTH_CONFIG = "GITOPS_CI_REGISTRY_AUTH_CONFIG";

/** GITOPS_CI_REGISTRY_<HOST>: the prefix of a registry's _USERNAME and _PASSWORD variables. */
export function registryVariablePrefix(host: string): string {
  return `GITOPS_CI_REGISTRY_${host.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

interface AuthEntry {
  username?: string;
  password?: string;
  auth?: string;
  identitytoken?: string;
  registrytoken?: string;
}

/** The Docker config JSON for the given registry hosts, or undefined when no variable applies. */
export function registryAuthConfig(
  env: Readonly<Record<string, string | undefined>>,
  hosts: Iterable<string>,
  redactor: Redactor,
): string | undefined {
  const auths: Record<string, AuthEntry> = {};
  const configured = env[REGISTRY_AUTH_CONFIG];
  if (configured) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(configured);
    } catch {
      throw new UserError(`${REGISTRY_AUTH_CONFIG} is not valid JSON`, {
        hint: 'set it to a Docker config JSON: {"auths": {"registry.example.com": {"username": "...", "password": "..."}}}',
      });
    }
    const given = typeof parsed === "object" && parsed !== null ? (parsed as { auths?: unknown }).auths : undefined;
    if (typeof given !== "object" || given === null || Array.isArray(given)) {
      throw new UserError(`${REGISTRY_AUTH_CONFIG} has no "auths" object`, {
        hint: 'a Docker config JSON: {"auths": {"registry.example.com": {"username": "...", "password": "..."}}}',
      });
    }
    for (const [host, entry] of Object.entries(given as Record<string, unknown>)) {
      if (typeof entry !== "object" || entry === null) continue;
      const kept: AuthEntry = {};
      for (const field of ["username", "password", "auth", "identitytoken", "registrytoken"] as const) {
        const value = (entry as Record<string, unknown>)[field];
        if (typeof value !== "string" || value === "") continue;
        kept[field] = value;
        if (field !== "username") redactor.add(value);
      }
      auths[host] = kept;
    }
  }
  for (const host of new Set(hosts)) {
    const prefix = registryVariablePrefix(host);
    const username = env[`${prefix}_USERNAME`];
    const password = env[`${prefix}_PASSWORD`];
    if (!username || !password) continue;
    redactor.add(password);
    redactor.add(Buffer.from(`${username}:${password}`).toString("base64"));
    auths[host] = { username, password };
  }
  return Object.keys(auths).length > 0 ? JSON.stringify({ auths }) : undefined;
}
