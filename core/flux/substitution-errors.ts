// A postBuild substitution whose value breaks the YAML it lands in (an inner ": ", a newline, a
// leading indicator): kustomize's error then quotes the broken line, value included. The finding
// names the variables and the Kustomization instead, never a value.
import { isRecord, scalarText } from "../yaml-file.ts";
import type { EngineBuild, EngineResult } from "./engine.ts";
import { substituteFromRefs } from "./kustomization-object.ts";

const YAML_ERROR =
  /yaml|mapping values|could not find expected|did not find expected|found character|cannot unmarshal|block sequence|invalid leading UTF-8|unknown anchor|anchor .* not defined/i;

interface Variable {
  name: string;
  source: string;
  problem: string;
}

/** The result with a safe message when the failure comes from a substituted value that breaks YAML. */
export function explainSubstitutionFailure(build: EngineBuild, result: EngineResult): EngineResult {
  if (result.error === undefined || !YAML_ERROR.test(result.error)) return result;
  const risky = variablesOf(build).filter((variable) => variable.problem !== "");
  if (risky.length === 0) return result;
  const metadata = isRecord(build.kustomization["metadata"]) ? build.kustomization["metadata"] : {};
  const name = `${scalarText(metadata["namespace"], "flux-system")}/${scalarText(metadata["name"])}`;
  const listed = risky.map((variable) => `\${${variable.name}} (${variable.source}) ${variable.problem}`).join("; ");
  return {
    ...result,
    errorKind: "substitution",
    error: `postBuild substitution of Kustomization ${name} produced invalid YAML: ${listed}; the values are not shown`,
  };
}

function variablesOf(build: EngineBuild): Variable[] {
  const spec = isRecord(build.kustomization["spec"]) ? build.kustomization["spec"] : {};
  const postBuild = isRecord(spec["postBuild"]) ? spec["postBuild"] : {};
  const variables: Variable[] = [];
  if (isRecord(postBuild["substitute"])) {
    for (const [name, value] of Object.entries(postBuild["substitute"]))
      variables.push({ name, source: "postBuild.substitute", problem: problemOf(String(value)) });
  }
  for (const ref of substituteFromRefs(build.kustomization)) {
    const object = (build.objects ?? []).find(
      (candidate) => candidate["kind"] === ref.kind && isRecord(candidate["metadata"]) && candidate["metadata"]["name"] === ref.name,
    );
    if (!object) continue;
    for (const [field, base64] of [
      ["data", ref.kind === "Secret"],
      ["stringData", false],
    ] as const) {
      const values = object[field];
      if (!isRecord(values)) continue;
      for (const [name, value] of Object.entries(values)) {
        const text = base64 ? Buffer.from(String(value), "base64").toString("utf8") : String(value);
        variables.push({ name, source: `${ref.kind} ${ref.name}`, problem: problemOf(text) });
      }
    }
  }
  return variables;
}

/** What in a value breaks the plain YAML scalar it is substituted into, or "" when nothing does. */
function problemOf(value: string): string {
  if (value.includes("\n")) return "holds a newline";
  if (/:\s/.test(value) || value.endsWith(":")) return 'holds ": "';
  if (/\s#/.test(value)) return 'holds " #"';
  if (/^[\s{}[\]&*!|>'"%@`,?-]/.test(value)) return "starts with a YAML indicator";
  return "";
}
