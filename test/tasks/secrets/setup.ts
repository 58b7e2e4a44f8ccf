// A throwaway SOPS repository for the secrets tests: an age key outside the repository and a
// .sops.yaml whose rules encrypt Kubernetes Secrets' data (YAML) and whole files (other formats).
import { checkSecrets, type SecretsInput } from "../../../tasks/secrets/index.ts";
import { captureContext } from "../../helpers/context.ts";
import { ageKeygen, type AgeIdentity } from "../../helpers/sops.ts";
import { makeRepo, makeTempDir, type Tree } from "../../helpers/temp-repo.ts";

export interface SopsRepo {
  root: string;
  key: AgeIdentity;
}

export function sopsRules(publicKey: string): string {
  return [
    "creation_rules:",
    "  - path_regex: secrets/.*\\.ya?ml$",
    "    encrypted_regex: ^(data|stringData)$",
    `    age: ${publicKey}`,
    "  - path_regex: secrets/",
    `    age: ${publicKey}`,
    "",
  ].join("\n");
}

export async function makeSopsRepo(tree: Tree = {}): Promise<SopsRepo> {
  const key = await ageKeygen(await makeTempDir("gitops-ci-key-"));
  const root = await makeRepo({ ".sops.yaml": sopsRules(key.publicKey), ...tree });
  return { root, key };
}

/** Runs checkSecrets with a captured context; `env` carries the age key when a test wants decryption. */
export async function runCheck(root: string, options: Partial<SecretsInput> & { env?: Record<string, string> } = {}) {
  const captured = captureContext(root, options.env ?? {});
  const result = await checkSecrets(captured.context, {
    root,
    rendered: options.rendered ?? [],
    ...(options.files ? { files: options.files } : {}),
  });
  return { ...result, ...captured };
}

export function secretYaml(name: string, fields: Record<string, Record<string, string>>, namespace = "default"): string {
  const lines = ["apiVersion: v1", "kind: Secret", "metadata:", `  name: ${name}`, `  namespace: ${namespace}`, "type: Opaque"];
  for (const [field, values] of Object.entries(fields)) {
    lines.push(`${field}:`);
    for (const [key, value] of Object.entries(values)) lines.push(`  ${key}: ${JSON.stringify(value)}`);
  }
  return `${lines.join("\n")}\n`;
}

export function base64(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}
