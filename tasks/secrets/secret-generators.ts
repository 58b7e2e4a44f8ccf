// kustomize secretGenerators: the files they read must be encrypted (Flux decrypts SOPS-encrypted
// generator inputs), and literals are plaintext in the kustomization itself.
import path from "node:path";
import { KUSTOMIZATION_FILES } from "../../core/kustomization-file.ts";
import { isRecord, parseYaml } from "../../core/yaml-file.ts";
import { isPlaceholder, isSecretReference } from "./kubernetes-secrets.ts";

export interface SecretGeneratorInput {
  /** Repository-relative path of the file the generator reads. */
  file: string;
  line: number;
}

export interface SecretGenerator {
  kustomization: string;
  name: string;
  line: number;
  inputs: SecretGeneratorInput[];
  /** Line of `literals:` when at least one literal carries a value (not a `${VAR}` placeholder). */
  plaintextLiteralsLine?: number;
}

export function isKustomizationFile(file: string): boolean {
  return (KUSTOMIZATION_FILES as readonly string[]).includes(path.posix.basename(file));
}

export function readSecretGenerators(kustomization: string, text: string): SecretGenerator[] {
  const parsed = parseYaml(text, kustomization);
  const document = parsed.documents[0];
  if (!document || !isRecord(document.value) || !Array.isArray(document.value["secretGenerator"])) return [];
  const dir = path.posix.dirname(kustomization);
  const resolve = (entry: string) => path.posix.normalize(path.posix.join(dir === "." ? "" : dir, entry));
  const generators: SecretGenerator[] = [];
  document.value["secretGenerator"].forEach((raw: unknown, index: number) => {
    if (!isRecord(raw)) return;
    const at = (...keys: (string | number)[]) => parsed.lineAt(document, ["secretGenerator", index, ...keys]) ?? document.line;
    const generator: SecretGenerator = {
      kustomization,
      name: typeof raw["name"] === "string" ? raw["name"] : `#${index + 1}`,
      line: at(),
      inputs: [],
    };
    const add = (entry: unknown, ...keys: (string | number)[]) => {
      if (typeof entry !== "string" || entry.trim() === "" || /^[a-z]+:\/\//.test(entry)) return;
      const source = entry.includes("=") ? entry.slice(entry.indexOf("=") + 1) : entry;
      const file = resolve(source.trim());
      if (!file.startsWith("../") && !path.posix.isAbsolute(file)) generator.inputs.push({ file, line: at(...keys) });
    };
    if (Array.isArray(raw["files"])) raw["files"].forEach((entry, position) => add(entry, "files", position));
    if (Array.isArray(raw["envs"])) raw["envs"].forEach((entry, position) => add(entry, "envs", position));
    add(raw["env"], "env");
    if (Array.isArray(raw["literals"])) {
      const plaintext = raw["literals"].some((literal) => {
        if (typeof literal !== "string") return false;
        const value = literal.includes("=") ? literal.slice(literal.indexOf("=") + 1) : "";
        return value.trim() !== "" && !isPlaceholder(value) && !isSecretReference(value);
      });
      if (plaintext) generator.plaintextLiteralsLine = at("literals");
    }
    generators.push(generator);
  });
  return generators;
}
