import { describe, expect, it } from "vitest";
import {
  crdSchemaFileName,
  crdToJsonSchemas,
  isCustomResourceDefinition,
  openApiToStrictJsonSchema,
  type JsonSchema,
} from "../../../core/schemas/crd-to-json-schema.ts";

function crd(versions: unknown[], overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "widgets.Example.com" },
    spec: { group: "Example.com", names: { kind: "Widget", plural: "widgets" }, scope: "Namespaced", versions, ...overrides },
  };
}

const version = (name: string, served: boolean, openAPIV3Schema?: JsonSchema) => ({
  name,
  served,
  storage: served,
  ...(openAPIV3Schema ? { schema: { openAPIV3Schema } } : {}),
});

/** Walks `properties` by name. */
function at(schema: JsonSchema, ...names: string[]): JsonSchema {
  let current = schema;
  for (const name of names) current = (current["properties"] as Record<string, JsonSchema>)[name]!;
  return current;
}

describe("crdToJsonSchemas", () => {
  it("writes one schema per served version, named in the CRDs-catalog layout", () => {
    const result = crdToJsonSchemas(
      crd([version("v1", true, { type: "object" }), version("v1beta1", false, { type: "object" }), version("v2", true)]),
    );
    expect(result.name).toBe("widgets.Example.com");
    expect(result.schemas.map((schema) => schema.fileName)).toEqual(["example.com/widget_v1.json"]);
    expect(result.skipped).toEqual([
      { version: "v1beta1", reason: "not served" },
      { version: "v2", reason: "no openAPIV3Schema" },
    ]);
  });

  it("reads apiextensions.k8s.io/v1beta1 CRDs with one schema for every version", () => {
    const legacy: Record<string, unknown> = {
      apiVersion: "apiextensions.k8s.io/v1beta1",
      kind: "CustomResourceDefinition",
      metadata: { name: "widgets.example.com" },
      spec: {
        group: "example.com",
        names: { kind: "Widget", plural: "widgets" },
        version: "v1alpha1",
        validation: { openAPIV3Schema: { type: "object", properties: { spec: { type: "object" } } } },
      },
    };
    const [schema] = crdToJsonSchemas(legacy).schemas;
    expect(schema?.fileName).toBe("example.com/widget_v1alpha1.json");
  });

  it("refuses what is not a usable CRD", () => {
    expect(isCustomResourceDefinition({ apiVersion: "v1", kind: "ConfigMap" })).toBe(false);
    expect(() => crdToJsonSchemas({ apiVersion: "v1", kind: "ConfigMap" })).toThrow(/not a CustomResourceDefinition/);
    expect(() => crdToJsonSchemas(crd([], { group: "" }))).toThrow(/widgets.Example.com has no spec.group or spec.names.kind/);
  });

  it("does not change its input", () => {
    const input = crd([version("v1", true, { type: "object", properties: { spec: { type: "object", properties: { a: { type: "string" } } } } })]);
    const copy = structuredClone(input);
    crdToJsonSchemas(input);
    expect(input).toEqual(copy);
  });
});

describe("crdSchemaFileName", () => {
  it("lowercases group, kind and version as kubeconform's {{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }} does", () => {
    expect(crdSchemaFileName("cilium.io", "CiliumLoadBalancerIPPool", "v2alpha1")).toBe("cilium.io/ciliumloadbalancerippool_v2alpha1.json");
  });
});

describe("openApiToStrictJsonSchema", () => {
  it("closes every object that declares properties, the root included, keeping apiVersion, kind and metadata allowed", () => {
    const schema = openApiToStrictJsonSchema({
      type: "object",
      properties: { spec: { type: "object", properties: { size: { type: "integer" } } } },
    });
    expect(schema["additionalProperties"]).toBe(false);
    expect(Object.keys(schema["properties"] as object)).toEqual(["spec", "apiVersion", "kind", "metadata"]);
    expect(at(schema, "spec")["additionalProperties"]).toBe(false);
  });

  it("leaves open what Kubernetes keeps open: preserve-unknown-fields, explicit additionalProperties, maps", () => {
    const schema = openApiToStrictJsonSchema({
      type: "object",
      properties: {
        values: { type: "object", "x-kubernetes-preserve-unknown-fields": true, properties: { known: { type: "string" } } },
        labels: { type: "object", additionalProperties: { type: "string" } },
        open: { type: "object", additionalProperties: true, properties: { a: { type: "string" } } },
      },
    });
    expect(at(schema, "values")["additionalProperties"]).toBeUndefined();
    expect(at(schema, "labels")["additionalProperties"]).toEqual({ type: "string" });
    expect(at(schema, "open")["additionalProperties"]).toBe(true);
  });

  it("does not close the properties of allOf/anyOf/oneOf/not members, which only add checks", () => {
    const schema = openApiToStrictJsonSchema({
      type: "object",
      properties: { mode: { type: "string" }, template: { type: "object" } },
      oneOf: [{ required: ["mode"], properties: { mode: { pattern: "^fast$" } } }, { required: ["template"] }],
      not: { properties: { mode: { enum: ["off"] } } },
    });
    const members = schema["oneOf"] as JsonSchema[];
    expect(members[0]).toEqual({ required: ["mode"], properties: { mode: { pattern: "^fast$" } } });
    expect((schema["not"] as JsonSchema)["additionalProperties"]).toBeUndefined();
  });

  it("gives embedded resources the fields every object has", () => {
    const schema = openApiToStrictJsonSchema({
      type: "object",
      properties: { template: { type: "object", "x-kubernetes-embedded-resource": true, properties: { spec: { type: "object" } } } },
    });
    expect(Object.keys(at(schema, "template")["properties"] as object)).toEqual(["spec", "apiVersion", "kind", "metadata"]);
    expect(at(schema, "template")["additionalProperties"]).toBe(false);
  });

  it("admits null where the CRD says nullable, in the type and in the enum", () => {
    const schema = openApiToStrictJsonSchema({
      type: "object",
      properties: {
        color: { type: "string", enum: ["red"], nullable: true },
        size: { type: "integer" },
        items: { type: "array", nullable: true, items: { type: "string" } },
      },
    });
    expect(at(schema, "color")).toMatchObject({ type: ["string", "null"], enum: ["red", null] });
    expect(at(schema, "size")["type"]).toBe("integer");
    expect(at(schema, "items")["type"]).toEqual(["array", "null"]);
  });

  it("accepts an integer or a string for x-kubernetes-int-or-string and format int-or-string", () => {
    const schema = openApiToStrictJsonSchema({
      type: "object",
      properties: {
        generated: { "x-kubernetes-int-or-string": true, anyOf: [{ type: "integer" }, { type: "string" }], pattern: "^\\d+%?$" },
        bare: { "x-kubernetes-int-or-string": true },
        nullable: { "x-kubernetes-int-or-string": true, nullable: true },
        legacy: { type: "string", format: "int-or-string" },
      },
    });
    expect(at(schema, "generated")["anyOf"]).toEqual([{ type: "integer" }, { type: "string" }]);
    expect(at(schema, "bare")["anyOf"]).toEqual([{ type: "integer" }, { type: "string" }]);
    expect(at(schema, "nullable")["anyOf"]).toEqual([{ type: "integer" }, { type: "string" }, { type: "null" }]);
    expect(at(schema, "legacy")).toEqual({ oneOf: [{ type: "string" }, { type: "integer" }] });
  });

  it("follows items given as a list of schemas", () => {
    const schema = openApiToStrictJsonSchema({
      type: "object",
      properties: { pair: { type: "array", items: [{ type: "object", properties: { a: { type: "string" } } }] } },
    });
    expect((at(schema, "pair")["items"] as JsonSchema[])[0]?.["additionalProperties"]).toBe(false);
  });
});
