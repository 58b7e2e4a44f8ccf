import { isList } from "../yaml-file.ts";
// Turns Kubernetes' OpenAPI v2 document (api/openapi-spec/swagger.json) into the standalone strict
// JSON schemas kubeconform looks up by default, one per kind, with the same semantics as
// yannh/kubernetes-json-schema's `*-standalone-strict` folders (openapi2jsonschema --expanded
// --kubernetes --stand-alone --strict). Pure: no I/O.

export type JsonSchema = Record<string, unknown>;

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface KubernetesKindSchema {
  gvk: GroupVersionKind;
  /** `deployment-apps-v1.json`: kubeconform's `{{ .ResourceKind }}{{ .KindSuffix }}.json`. */
  fileName: string;
  schema: JsonSchema;
}

export interface OpenApiConversion {
  schemas: KubernetesKindSchema[];
  /** Definitions that could not be converted, with the reason (a reference to a missing definition…). */
  problems: string[];
}

/** What openapi2jsonschema writes as `$schema`; kubeconform's compiler reads it as the latest draft. */
export const KUBERNETES_SCHEMA_DIALECT = "http://json-schema.org/schema#";

const DEFINITION_REF_PREFIX = "#/definitions/";
const GVK_EXTENSION = "x-kubernetes-group-version-kind";

/**
 * openapi2jsonschema's `--kubernetes` overrides: IntOrString accepts both forms, and Quantity also
 * accepts numbers (`cpu: 1`), which every Kubernetes client accepts although the API says string.
 */
const KUBERNETES_OVERRIDES: Readonly<Record<string, JsonSchema>> = {
  "io.k8s.apimachinery.pkg.util.intstr.IntOrString": { oneOf: [{ type: "string" }, { type: "integer" }] },
  "io.k8s.apimachinery.pkg.api.resource.Quantity": { oneOf: [{ type: "string" }, { type: "number" }] },
};

/**
 * Where a recursive type refers back to itself (JSONSchemaProps inside a CRD), the inner occurrence
 * accepts anything: the published schemas skip CustomResourceDefinition altogether instead.
 */
const RECURSION_CUT: JsonSchema = {};

/** `{kind}-{first segment of the group}-{version}.json`, core group `{kind}-{version}.json`, lowercased. */
export function kubernetesSchemaFileName(gvk: GroupVersionKind): string {
  const groupPart = gvk.group === "" ? "" : `-${gvk.group.split(".")[0]}`;
  return `${gvk.kind}${groupPart}-${gvk.version}.json`.toLowerCase();
}

export function apiVersionOf(gvk: Pick<GroupVersionKind, "group" | "version">): string {
  return gvk.group === "" ? gvk.version : `${gvk.group}/${gvk.version}`;
}

/** One schema per group/version/kind declared by a definition's `x-kubernetes-group-version-kind`. */
export function openApiToJsonSchemas(document: unknown): OpenApiConversion {
  const definitions = readDefinitions(document);
  const resolved: Record<string, JsonSchema> = { ...definitions, ...KUBERNETES_OVERRIDES };
  const schemas: KubernetesKindSchema[] = [];
  const problems: string[] = [];
  for (const name of Object.keys(definitions).sort()) {
    const definition = resolved[name];
    if (!definition) continue;
    const kinds = groupVersionKinds(definition);
    if (kinds.length === 0) continue;
    let expanded: JsonSchema;
    try {
      expanded = expandReferences(definition, resolved, [name]);
    } catch (error) {
      problems.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    for (const gvk of kinds) {
      schemas.push({ gvk, fileName: kubernetesSchemaFileName(gvk), schema: finishKindSchema(expanded, gvk) });
    }
  }
  return { schemas, problems };
}

function readDefinitions(document: unknown): Record<string, JsonSchema> {
  if (!isObject(document) || typeof document["swagger"] !== "string" || !isObject(document["definitions"])) {
    throw new Error("not an OpenAPI v2 document: expected `swagger` and `definitions` (Kubernetes' api/openapi-spec/swagger.json)");
  }
  const definitions: Record<string, JsonSchema> = {};
  for (const [name, value] of Object.entries(document["definitions"])) if (isObject(value)) definitions[name] = value;
  return definitions;
}

function groupVersionKinds(definition: JsonSchema): GroupVersionKind[] {
  const declared = definition[GVK_EXTENSION];
  if (!isList(declared)) return [];
  return declared.filter(isObject).flatMap((entry) => {
    const { group, version, kind } = entry;
    return typeof group === "string" && typeof version === "string" && typeof kind === "string" ? [{ group, version, kind }] : [];
  });
}

/**
 * Inlines every `$ref` (a fresh copy each time, so later passes can treat each position on its
 * own). Like jsonref, a reference replaces its whole object: the sibling `description` goes.
 */
function expandReferences(schema: JsonSchema, definitions: Record<string, JsonSchema>, stack: readonly string[]): JsonSchema {
  const ref = schema["$ref"];
  if (typeof ref === "string") {
    if (!ref.startsWith(DEFINITION_REF_PREFIX)) throw new Error(`unsupported reference ${ref}`);
    const name = ref.slice(DEFINITION_REF_PREFIX.length);
    if (stack.includes(name)) return { ...RECURSION_CUT };
    const target = definitions[name];
    if (!target) throw new Error(`reference to a missing definition ${name}`);
    return expandReferences(target, definitions, [...stack, name]);
  }
  return mapSubschemas(schema, (child) => expandReferences(child, definitions, stack));
}

/** The strict, nullable, kind-pinned form of an expanded definition. */
function finishKindSchema(schema: JsonSchema, gvk: GroupVersionKind): JsonSchema {
  const finished = applyKubernetesRules(schema, { nullable: false });
  const properties = finished["properties"];
  if (isObject(properties)) {
    pinEnum(properties["apiVersion"], apiVersionOf(gvk));
    pinEnum(properties["kind"], gvk.kind);
  }
  if (finished["type"] === undefined) finished["type"] = "object";
  finished["$schema"] = KUBERNETES_SCHEMA_DIALECT;
  return finished;
}

function pinEnum(property: unknown, value: string): void {
  if (isObject(property)) property["enum"] = [value];
}

/**
 * The openapi2jsonschema rules, applied by position:
 * - strict: an object schema that lists `properties` and says nothing about others refuses them;
 * - nullable: every field may be null unless its object lists it as required (Go pointers and
 *   omitempty: Kubernetes reads `field: null` as "not set"); the document root may not;
 * - `format: int-or-string` becomes a string-or-integer choice.
 */
function applyKubernetesRules(schema: JsonSchema, position: { nullable: boolean }): JsonSchema {
  let result: JsonSchema = { ...schema };
  if (result["format"] === "int-or-string") {
    const { format: _format, type: _type, ...rest } = result;
    result = { ...rest, oneOf: [{ type: "string" }, { type: "integer" }] };
  }
  const choices = result["oneOf"];
  if (isList(choices)) {
    // Nullability goes on the choice as a whole: a null matching every branch would fail oneOf.
    const members = choices.map((choice) => (isObject(choice) ? applyKubernetesRules(choice, { nullable: false }) : choice));
    result["oneOf"] = position.nullable && !members.some((m) => isObject(m) && m["type"] === "null") ? [...members, { type: "null" }] : members;
  } else if (position.nullable && typeof result["type"] === "string" && result["type"] !== "null") {
    result["type"] = [result["type"], "null"];
  }
  const properties = result["properties"];
  if (isObject(properties)) {
    const required = isList(result["required"]) ? result["required"] : [];
    const strictProperties: Record<string, unknown> = {};
    for (const [name, property] of Object.entries(properties)) {
      strictProperties[name] = isObject(property) ? applyKubernetesRules(property, { nullable: !required.includes(name) }) : property;
    }
    result["properties"] = strictProperties;
    if (result["additionalProperties"] === undefined) result["additionalProperties"] = false;
  }
  if (isObject(result["items"])) result["items"] = applyKubernetesRules(result["items"], { nullable: true });
  if (isObject(result["additionalProperties"])) result["additionalProperties"] = applyKubernetesRules(result["additionalProperties"], { nullable: true });
  for (const keyword of ["allOf", "anyOf"] as const) {
    const members = result[keyword];
    if (isList(members)) result[keyword] = members.map((m) => (isObject(m) ? applyKubernetesRules(m, { nullable: false }) : m));
  }
  return result;
}

/** Copies a schema, replacing each direct subschema (properties, items, additionalProperties, combinators). */
function mapSubschemas(schema: JsonSchema, map: (child: JsonSchema) => JsonSchema): JsonSchema {
  const copy: JsonSchema = { ...schema };
  const properties = schema["properties"];
  if (isObject(properties)) {
    const mapped: Record<string, unknown> = {};
    for (const [name, property] of Object.entries(properties)) mapped[name] = isObject(property) ? map(property) : property;
    copy["properties"] = mapped;
  }
  for (const keyword of ["items", "additionalProperties", "not"] as const) {
    const child = schema[keyword];
    if (isObject(child)) copy[keyword] = map(child);
  }
  for (const keyword of ["allOf", "anyOf", "oneOf"] as const) {
    const members = schema[keyword];
    if (isList(members)) copy[keyword] = members.map((member) => (isObject(member) ? map(member) : member));
  }
  return copy;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !isList(value);
}
