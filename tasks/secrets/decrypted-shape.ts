// A decrypted Secret must still be a Secret Kubernetes accepts: string values only, and `data`
// values in base64. Messages name keys, never values.
import type { Finding } from "../../core/model/findings.ts";
import { resourceRefOf } from "../../core/manifests.ts";
import { isRecord } from "../../core/yaml-file.ts";
import { isSecretObject } from "../../core/model/secrets.ts";

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function secretShapeFindings(file: string, document: unknown, lineOf: (path: (string | number)[]) => number | undefined): Finding[] {
  if (!isSecretObject(document)) return [];
  const { kind, name, namespace } = resourceRefOf(document);
  const resource = { kind, name, ...(namespace ? { namespace } : {}) };
  const findings: Finding[] = [];
  for (const field of ["data", "stringData"] as const) {
    const values = document[field];
    if (values === undefined || values === null) continue;
    if (!isRecord(values)) {
      findings.push(problem(`${field} is not a map of keys to strings`, [field]));
      continue;
    }
    for (const [key, value] of Object.entries(values)) {
      if (value === null) continue;
      if (typeof value !== "string")
        findings.push(
          problem(`${field}.${key} is a ${Array.isArray(value) ? "list" : typeof value}, Kubernetes requires a string (quote it)`, [
            field,
            key,
          ]),
        );
      else if (field === "data" && !BASE64.test(value))
        findings.push(problem(`data.${key} is not valid base64 (use stringData for plain values)`, [field, key]));
    }
  }
  return findings;

  function problem(message: string, path: (string | number)[]): Finding {
    const line = lineOf(path);
    return {
      severity: "error",
      check: "secrets/invalid-secret",
      file,
      ...(line !== undefined ? { line } : {}),
      resource,
      message: `decrypted Secret ${namespace ? `${namespace}/` : ""}${name} in ${file}: ${message}`,
      hint: `fix it with \`sops edit ${file}\`; the API server rejects this Secret and Flux stops applying the layer`,
    };
  }
}
