// `.sops.yaml` as sops reads it (config/config.go): creation rules tried in order, the first whose
// path_regex matches wins, a rule without path_regex matches everything. path_regex is a Go
// regexp matched anywhere in the file's path relative to the folder of the .sops.yaml.
import { readFile } from "node:fs/promises";
import { pathExists } from "../repo-files.ts";
import path from "node:path";
import type { Finding } from "../model/findings.ts";
import { isRecord, parseYaml } from "../yaml-file.ts";
import { compileGoRegexp, type GoRegexp } from "./go-regexp.ts";
import { ENCRYPTION_RULE_KEYS } from "./metadata.ts";
import {
  ageRecipient,
  azureKeyVaultRecipient,
  azureKeyVaultRecipientFromUrl,
  gcpKmsRecipient,
  kmsRecipient,
  pgpRecipient,
  splitKeyField,
  vaultRecipientFromUri,
  type Recipient,
  type RecipientGroup,
} from "./recipients.ts";

export const SOPS_CONFIG_FILE = ".sops.yaml";
/** sops ignores this name (with a warning) and keeps looking further up. */
export const IGNORED_SOPS_CONFIG_FILE = ".sops.yml";

export interface CreationRule {
  /** Position in creation_rules, from 0. */
  index: number;
  line: number;
  /** Undefined when the rule has no path_regex: it matches every file. */
  pathRegex?: string;
  regexp?: GoRegexp;
  /** Key groups as sops builds them: key_groups, or one group of the rule's own keys. */
  groups: RecipientGroup[];
  /** Keys gitops-ci cannot compare (plugins): drift is not checked for this rule. */
  hasUncomparableKeys: boolean;
}

export interface SopsConfig {
  /** Repository-relative path of the .sops.yaml. */
  file: string;
  /** Repository-relative folder the path regexes are relative to ("" for the root). */
  dir: string;
  /** Undefined when the file has no creation_rules: sops then behaves as if there were no config. */
  rules?: CreationRule[];
  /** False when sops would refuse to load the file, or a rule cannot be compiled. */
  usable: boolean;
  findings: Finding[];
}

const CHECK = "secrets/sops-config";
const KEY_FIELDS = ["age", "pgp", "kms", "gcp_kms", "azure_keyvault", "hc_vault_transit_uri", "hckms"] as const;
const REGEX_FIELDS = ["unencrypted_regex", "encrypted_regex", "unencrypted_comment_regex", "encrypted_comment_regex"] as const;

export function parseSopsConfig(text: string, file: string): SopsConfig {
  const dir = path.posix.dirname(file) === "." ? "" : path.posix.dirname(file);
  const parsed = parseYaml(text, file);
  const findings: Finding[] = parsed.findings.map((finding) => ({
    ...finding,
    check: CHECK,
    message: `${file} is not valid YAML, so sops cannot load it: ${finding.message}`,
    hint: "sops refuses every encrypt and decrypt run from below this folder until the file parses",
  }));
  if (findings.length > 0) return { file, dir, usable: false, findings };
  const document = parsed.documents[0];
  if (!document) return { file, dir, usable: true, findings };
  const problem = (message: string, keyPath: readonly (string | number)[], hint?: string) =>
    findings.push({
      severity: "error",
      check: CHECK,
      file,
      line: parsed.lineAt(document, keyPath) ?? document.line,
      message,
      ...(hint ? { hint } : {}),
    });

  if (!isRecord(document.value)) {
    problem(`${file} is not a map; sops expects creation_rules: at the top`, []);
    return { file, dir, usable: false, findings };
  }
  const rawRules = document.value["creation_rules"];
  if (rawRules === undefined || rawRules === null) return { file, dir, usable: true, findings };
  if (!Array.isArray(rawRules)) {
    problem("creation_rules must be a list of rules", ["creation_rules"]);
    return { file, dir, usable: false, findings };
  }
  const rules: CreationRule[] = [];
  rawRules.forEach((raw, index) => {
    const at = (...keys: (string | number)[]) => ["creation_rules", index, ...keys];
    const line = parsed.lineAt(document, at()) ?? document.line;
    if (!isRecord(raw)) {
      problem(`creation rule ${index + 1} is not a map`, at());
      return;
    }
    const rule: CreationRule = { index, line, groups: [], hasUncomparableKeys: Array.isArray(raw["plugins"]) && raw["plugins"].length > 0 };
    const pathRegex = raw["path_regex"];
    if (pathRegex !== undefined && pathRegex !== null && typeof pathRegex !== "string")
      problem(`creation rule ${index + 1}: path_regex must be a string`, at("path_regex"));
    if (typeof pathRegex === "string" && pathRegex !== "") {
      rule.pathRegex = pathRegex;
      const compiled = compileGoRegexp(pathRegex);
      if (compiled.ok) rule.regexp = compiled.regexp;
      else
        problem(
          `creation rule ${index + 1}: path_regex ${JSON.stringify(pathRegex)} is not a valid Go regular expression: ${compiled.reason}`,
          at("path_regex"),
          'sops fails with "can not compile regexp" for every file that reaches this rule',
        );
    }
    for (const field of REGEX_FIELDS) {
      const value = raw[field];
      if (typeof value !== "string" || value === "") continue;
      const compiled = compileGoRegexp(value);
      if (!compiled.ok) {
        problem(
          `creation rule ${index + 1}: ${field} ${JSON.stringify(value)} is not a valid Go regular expression: ${compiled.reason}`,
          at(field),
          "sops ignores a regexp it cannot compile when encrypting, so values may be left in plaintext or all encrypted",
        );
      }
    }
    const cryptRules = ENCRYPTION_RULE_KEYS.filter((field) => typeof raw[field] === "string" && raw[field] !== "");
    if (cryptRules.length > 1)
      problem(`creation rule ${index + 1} sets ${cryptRules.join(" and ")}; sops allows only one of them per rule`, at(cryptRules[1]!));
    rule.groups = readGroups(raw, (message, keys) => problem(`creation rule ${index + 1}: ${message}`, at(...keys)));
    rules.push(rule);
  });
  const usable = findings.length === 0;
  return { file, dir, rules, usable, findings };
}

type Report = (message: string, keyPath: (string | number)[]) => void;

function readGroups(raw: Record<string, unknown>, report: Report): RecipientGroup[] {
  const keyGroups = raw["key_groups"];
  if (Array.isArray(keyGroups) && keyGroups.length > 0) {
    return keyGroups.map((group, index) =>
      isRecord(group) ? readKeyGroup(group, (message, keys) => report(message, ["key_groups", index, ...keys])) : [],
    );
  }
  if (keyGroups !== undefined && keyGroups !== null && !Array.isArray(keyGroups)) report("key_groups must be a list", ["key_groups"]);
  const group: Recipient[] = [];
  for (const field of KEY_FIELDS) {
    const keys = splitKeyField(raw[field]);
    if (!keys) {
      report(`${field} must be a string or a list of strings`, [field]);
      continue;
    }
    keys.forEach((key, position) => {
      const recipient = recipientFromRuleField(field, key);
      if (recipient) group.push(recipient);
      else report(`${field} entry ${position + 1} is not a valid ${field} key`, [field]);
    });
  }
  return group.length > 0 ? [group] : [];
}

function recipientFromRuleField(field: (typeof KEY_FIELDS)[number], key: string): Recipient | undefined {
  switch (field) {
    case "age":
      return isAgeRecipient(key) ? ageRecipient(key) : undefined;
    case "pgp":
      return pgpRecipient(key);
    case "kms":
      return kmsRecipient(key);
    case "gcp_kms":
      return gcpKmsRecipient(key);
    case "azure_keyvault":
      return azureKeyVaultRecipientFromUrl(key);
    case "hc_vault_transit_uri":
      return vaultRecipientFromUri(key);
    case "hckms":
      return { type: "hckms", id: key };
  }
}

/** config.go keyGroup: lists of structured keys, and `merge` to include other groups. */
function readKeyGroup(group: Record<string, unknown>, report: Report): Recipient[] {
  const recipients: Recipient[] = [];
  const list = (field: string) => (Array.isArray(group[field]) ? (group[field] as unknown[]) : []);
  for (const merged of list("merge")) if (isRecord(merged)) recipients.push(...readKeyGroup(merged, report));
  list("age").forEach((entry, position) => {
    for (const key of splitKeyField(entry) ?? []) {
      if (isAgeRecipient(key)) recipients.push(ageRecipient(key));
      else report(`age entry ${position + 1} is not an age public key`, ["age", position]);
    }
  });
  for (const entry of list("pgp")) if (typeof entry === "string") recipients.push(pgpRecipient(entry));
  for (const entry of list("kms"))
    if (isRecord(entry) && typeof entry["arn"] === "string")
      recipients.push(kmsRecipient(entry["arn"], typeof entry["role"] === "string" ? entry["role"] : ""));
  for (const entry of list("gcp_kms"))
    if (isRecord(entry) && typeof entry["resource_id"] === "string") recipients.push(gcpKmsRecipient(entry["resource_id"]));
  for (const entry of list("azure_keyvault")) {
    if (isRecord(entry) && typeof entry["vaultUrl"] === "string" && typeof entry["key"] === "string")
      recipients.push(azureKeyVaultRecipient(entry["vaultUrl"], entry["key"]));
  }
  for (const entry of list("hc_vault")) {
    const recipient = typeof entry === "string" ? vaultRecipientFromUri(entry) : undefined;
    if (recipient) recipients.push(recipient);
  }
  for (const entry of list("hckms"))
    if (isRecord(entry) && typeof entry["key_id"] === "string") recipients.push({ type: "hckms", id: entry["key_id"] });
  return recipients;
}

/** age X25519 recipients (bech32 `age1…`), plugin recipients (`age1<plugin>1…`) and SSH public keys. */
export function isAgeRecipient(key: string): boolean {
  return /^age1[0-9a-z]{20,}$/.test(key) || /^(ssh-ed25519|ssh-rsa) [A-Za-z0-9+/=]+/.test(key);
}

export type RuleMatch = { kind: "rule"; rule: CreationRule } | { kind: "none" } | { kind: "broken"; rule: CreationRule };

/** The creation rule sops applies to `relativePath` (relative to the config's folder). */
export function matchCreationRule(config: SopsConfig, relativePath: string): RuleMatch {
  for (const rule of config.rules ?? []) {
    if (rule.pathRegex === undefined) return { kind: "rule", rule };
    if (!rule.regexp) return { kind: "broken", rule };
    if (rule.regexp.test(relativePath)) return { kind: "rule", rule };
  }
  return { kind: "none" };
}

/**
 * Finds the .sops.yaml that governs each file: the nearest one from the file's folder up to the
 * repository root. sops itself starts from the directory it is run in; run from the file's folder
 * (or anywhere between it and the config) it picks this same file.
 */
export class SopsConfigResolver {
  readonly #root: string;
  readonly #byDir = new Map<string, Promise<SopsConfig | undefined>>();
  readonly #ignoredNames = new Set<string>();

  constructor(root: string) {
    this.#root = root;
  }

  /** Every .sops.yaml read so far (each once). */
  async loadedConfigs(): Promise<SopsConfig[]> {
    const configs = await Promise.all(this.#byDir.values());
    return configs.filter((config): config is SopsConfig => config !== undefined);
  }

  /** `.sops.yml` files seen on the way up: sops ignores them. */
  get ignoredConfigFiles(): string[] {
    return [...this.#ignoredNames].sort();
  }

  async configFor(file: string): Promise<SopsConfig | undefined> {
    let dir = path.posix.dirname(file);
    for (;;) {
      const found = await this.#configIn(dir === "." ? "" : dir);
      if (found) return found;
      if (dir === "." || dir === "" || dir === "/") return undefined;
      dir = path.posix.dirname(dir);
    }
  }

  /** The path sops matches path_regex against: relative to the config's folder. */
  static pathForRule(config: SopsConfig, file: string): string {
    return config.dir === "" ? file : file.slice(config.dir.length + 1);
  }

  #configIn(dir: string): Promise<SopsConfig | undefined> {
    let pending = this.#byDir.get(dir);
    if (!pending) {
      pending = this.#load(dir);
      this.#byDir.set(dir, pending);
    }
    return pending;
  }

  async #load(dir: string): Promise<SopsConfig | undefined> {
    const file = dir === "" ? SOPS_CONFIG_FILE : `${dir}/${SOPS_CONFIG_FILE}`;
    let text: string;
    try {
      text = await readFile(path.join(this.#root, file), "utf8");
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      // Only a .sops.yaml that is not there means "no config here": sops finds anything else and fails on it.
      if (code !== "ENOENT" && code !== "ENOTDIR") return unreadableSopsConfig(file, error);
      const ignored = dir === "" ? IGNORED_SOPS_CONFIG_FILE : `${dir}/${IGNORED_SOPS_CONFIG_FILE}`;
      if (await pathExists(path.join(this.#root, ignored))) this.#ignoredNames.add(ignored);
      return undefined;
    }
    return parseSopsConfig(text, file);
  }
}

/**
 * A .sops.yaml that exists but cannot be read (a folder, no read permission). sops stats the name,
 * takes it as its config and then fails to load it, so it governs the files below it and is unusable.
 */
export function unreadableSopsConfig(file: string, error: unknown): SopsConfig {
  const dir = path.posix.dirname(file) === "." ? "" : path.posix.dirname(file);
  const code = (error as { code?: unknown } | null)?.code;
  const reason = typeof code === "string" ? code : error instanceof Error ? error.message : String(error);
  const hint =
    code === "EISDIR"
      ? `${SOPS_CONFIG_FILE} must be a file: rename the folder`
      : code === "EACCES" || code === "EPERM"
        ? "make it readable by the CI job's user (a git checkout is; look for a chmod or a mount in the job)"
        : "check the file in the job's checkout";
  return {
    file,
    dir,
    usable: false,
    findings: [
      {
        severity: "error",
        check: CHECK,
        file,
        message: `${file} cannot be read (${reason}): sops finds it and fails on every encrypt and decrypt run from below this folder, and its creation rules could not be checked`,
        hint,
      },
    ],
  };
}
