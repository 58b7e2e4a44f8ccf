import { isList } from "../yaml-file.ts";
// Turns a CustomResourceDefinition into one strict JSON schema per served version, as kubeconform's
// scripts/openapi2jsonschema.py does for the CRDs-catalog layout, with Kubernetes' own structural
// schema rules where that script is looser. Pure: no I/O.

export type JsonSchema = Record<string, unknown>;

export interface CustomResourceSchema {
  group: string;
  version: string;
  kind: string;
  /** `{group}/{kind}_{version}.json`, lowercased: `{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json`. */
  fileName: string;
  schema: JsonSchema;
}

export interface SkippedVersion {
  version: string;
  reason: string;
}

export interface CrdConversion {
  /** `plural.group`, the CRD's name, for messages. */
  name: string;
  schemas: CustomResourceSchema[];
  skipped: SkippedVersion[];
}

const CRD_API_VERSIONS = new Set(["apiextensions.k8s.io/v1", "apiextensions.k8s.io/v1beta1"]);

/** Fields the API server accepts on every object (and every embedded resource) whether declared or not. */
const IMPLICIT_OBJECT_FIELDS: Readonly<Record<string, JsonSchema>> = {
  apiVersion: { type: "string" },
  kind: { type: "string" },
  metadata: { type: "object" },
};

export function isCustomResourceDefinition(value: unknown): value is Record<string, unknown> {
  return isObject(value) && value["kind"] === "CustomResourceDefinition" && CRD_API_VERSIONS.has(String(value["apiVersion"]));
}

export function crdSchemaFileName(group: string, kind: string, version: string): string {
  return `${group}/${kind}_${version}.json`.toLowerCase();
}

/**
 * One schema per served version. Throws on an object that is not a CRD or lacks group or kind;
 * a version without a schema or not served is reported in `skipped`.
 */
export function crdToJsonSchemas(crd: unknown): CrdConversion {
  if (!isCustomResourceDefinition(crd)) throw new Error("not a CustomResourceDefinition (apiextensions.k8s.io/v1)");
  const spec = isObject(crd["spec"]) ? crd["spec"] : {};
  const names = isObject(spec["names"]) ? spec["names"] : {};
  const group = spec["group"];
  const kind = names["kind"];
  const metadata = isObject(crd["metadata"]) ? crd["metadata"] : {};
  const name = typeof metadata["name"] === "string" ? metadata["name"] : `${String(names["plural"])}.${String(group)}`;
  if (typeof group !== "string" || group === "" || typeof kind !== "string" || kind === "") {
    throw new Error(`CustomResourceDefinition ${name} has no spec.group or spec.names.kind`);
  }
  // apiextensions.k8s.io/v1beta1 could share one schema between versions (spec.validation).
  const sharedSchema = isObject(spec["validation"]) ? spec["validation"]["openAPIV3Schema"] : undefined;
  const versions = isList(spec["versions"])
    ? spec["versions"].filter(isObject)
    : typeof spec["version"] === "string"
      ? [{ name: spec["version"], served: true }]
      : [];
  const schemas: CustomResourceSchema[] = [];
  const skipped: SkippedVersion[] = [];
  for (const version of versions) {
    const versionName = String(version["name"]);
    if (version["served"] === false) {
      skipped.push({ version: versionName, reason: "not served" });
      continue;
    }
    const own = isObject(version["schema"]) ? version["schema"]["openAPIV3Schema"] : undefined;
    const openApiSchema = own ?? sharedSchema;
    if (!isObject(openApiSchema)) {
      skipped.push({ version: versionName, reason: "no openAPIV3Schema" });
      continue;
    }
    schemas.push({
      group,
      version: versionName,
      kind,
      fileName: crdSchemaFileName(group, kind, versionName),
      schema: openApiToStrictJsonSchema(openApiSchema),
    });
  }
  return { name, schemas, skipped };
}

/** The CRD's openAPIV3Schema as a strict JSON schema (see `applyStructuralRules`). */
export function openApiToStrictJsonSchema(openApiSchema: JsonSchema): JsonSchema {
  return applyStructuralRules(openApiSchema, { root: true, validationOnly: false });
}

interface Position {
  /** The document root: apiVersion, kind and metadata are always allowed there. */
  root: boolean;
  /** Inside allOf/anyOf/oneOf/not: those only add checks, they do not describe the object's fields. */
  validationOnly: boolean;
}

/**
 * - strict: an object that declares `properties` refuses undeclared fields, unless it sets
 *   `additionalProperties` itself or `x-kubernetes-preserve-unknown-fields: true` (the API server
 *   keeps unknown fields there), and never inside allOf/anyOf/oneOf/not, whose `properties` only
 *   add checks to fields declared elsewhere;
 * - `nullable: true` admits null (the type and any enum), as the API server does;
 * - `x-kubernetes-int-or-string: true` admits an integer or a string, `format: int-or-string` too.
 */
function applyStructuralRules(schema: JsonSchema, position: Position): JsonSchema {
  let result: JsonSchema = { ...schema };
  if (result["format"] === "int-or-string") {
    const { format: _format, type: _type, ...rest } = result;
    result = { ...rest, oneOf: [{ type: "string" }, { type: "integer" }] };
  }
  if (result["x-kubernetes-int-or-string"] === true && result["anyOf"] === undefined && result["oneOf"] === undefined) {
    const { type: _type, ...rest } = result;
    result = { ...rest, anyOf: [{ type: "integer" }, { type: "string" }] };
  }
  if (result["nullable"] === true) admitNull(result);

  const inner: Position = { root: false, validationOnly: position.validationOnly };
  const properties = result["properties"];
  if (isObject(properties)) {
    const mapped: Record<string, unknown> = {};
    for (const [name, property] of Object.entries(properties)) mapped[name] = isObject(property) ? applyStructuralRules(property, inner) : property;
    const closes =
      !position.validationOnly && result["additionalProperties"] === undefined && result["x-kubernetes-preserve-unknown-fields"] !== true;
    if (closes) {
      if (position.root || result["x-kubernetes-embedded-resource"] === true) {
        for (const [name, implicit] of Object.entries(IMPLICIT_OBJECT_FIELDS)) if (!(name in mapped)) mapped[name] = { ...implicit };
      }
      result["additionalProperties"] = false;
    }
    result["properties"] = mapped;
  }
  const items = result["items"];
  if (isObject(items)) result["items"] = applyStructuralRules(items, inner);
  else if (isList(items)) result["items"] = items.map((item) => (isObject(item) ? applyStructuralRules(item, inner) : item));
  const additional = result["additionalProperties"];
  if (isObject(additional)) result["additionalProperties"] = applyStructuralRules(additional, inner);

  const check: Position = { root: false, validationOnly: true };
  for (const keyword of ["allOf", "anyOf", "oneOf"] as const) {
    const members = result[keyword];
    if (isList(members)) result[keyword] = members.map((member) => (isObject(member) ? applyStructuralRules(member, check) : member));
  }
  if (isObject(result["not"])) result["not"] = applyStructuralRules(result["not"], check);
  return result;
}

function admitNull(schema: JsonSchema): void {
  const type = schema["type"];
  if (typeof type === "string" && type !== "null") schema["type"] = [type, "null"];
  else if (isList(type) && !type.includes("null")) schema["type"] = [...type, "null"];
  if (isList(schema["enum"]) && !schema["enum"].includes(null)) schema["enum"] = [...schema["enum"], null];
  // Alternatives of types (int-or-string): null is one more alternative. Untyped members (only
  // `required` and the like) already accept null.
  for (const keyword of ["anyOf", "oneOf"] as const) {
    const members = schema[keyword];
    const typed = isList(members) && members.length > 0 && members.every((m) => isObject(m) && m["type"] !== undefined);
    if (type === undefined && typed && !members.some((m) => isObject(m) && m["type"] === "null")) schema[keyword] = [...members, { type: "null" }];
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !isList(value);
}
