// Flux's postBuild variable substitution (fluxcd/pkg/envsubst): ${var}, ${var:=default},
// ${var:-default}, ${var=default}, ${var-default}; `$${var}` escapes to a literal ${var}.
// Plain $var is left alone, as kustomize-controller leaves it.

const VARIABLE = /(\$?)\$\{([_a-zA-Z][_a-zA-Z0-9]*)(?:(:?[=-])([^}]*))?\}/g;

export interface SubstitutionResult {
  text: string;
  /** Variables referenced without a value or default (Flux substitutes an empty string). */
  missing: string[];
}

export function substituteVariables(text: string, variables: Readonly<Record<string, string>>): SubstitutionResult {
  const missing = new Set<string>();
  const result = text.replace(VARIABLE, (match, escape: string, name: string, operator: string | undefined, fallback: string | undefined) => {
    if (escape === "$") return match.slice(1);
    const value = variables[name];
    if (operator === undefined) {
      if (value === undefined) missing.add(name);
      return value ?? "";
    }
    // ":=" / ":-" use the default when unset or empty; "=" / "-" only when unset.
    const useDefault = operator.startsWith(":") ? value === undefined || value === "" : value === undefined;
    return useDefault ? (fallback ?? "") : value!;
  });
  return { text: result, missing: [...missing] };
}

/** kustomize-controller skips objects annotated `kustomize.toolkit.fluxcd.io/substitute: disabled`. */
export const SUBSTITUTE_ANNOTATION = "kustomize.toolkit.fluxcd.io/substitute";
