import { describe, expect, it } from "vitest";
import {
  KUBERNETES_SCHEMA_DIALECT,
  kubernetesSchemaFileName,
  openApiToJsonSchemas,
  type JsonSchema,
} from "../../../core/schemas/openapi-to-json-schema.ts";

const ref = (name: string) => ({ $ref: `#/definitions/${name}` });
const gvk = (group: string, version: string, kind: string) => ({ "x-kubernetes-group-version-kind": [{ group, version, kind }] });

function swagger(definitions: Record<string, JsonSchema>): unknown {
  return { swagger: "2.0", info: { title: "Kubernetes", version: "unversioned" }, definitions };
}

const META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const PROPS = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps";

const DEFINITIONS: Record<string, JsonSchema> = {
  "io.k8s.api.apps.v1.Deployment": {
    type: "object",
    properties: {
      apiVersion: { type: "string" },
      kind: { type: "string" },
      metadata: { ...ref(META), description: "Standard object's metadata." },
      spec: ref("io.k8s.api.apps.v1.DeploymentSpec"),
    },
    ...gvk("apps", "v1", "Deployment"),
  },
  "io.k8s.api.apps.v1.DeploymentSpec": {
    type: "object",
    required: ["selector"],
    properties: {
      replicas: { type: "integer", format: "int32" },
      selector: { type: "object", properties: { matchLabels: { type: "object", additionalProperties: { type: "string" } } } },
      maxSurge: ref(INT_OR_STRING),
      requests: { type: "object", additionalProperties: ref(QUANTITY) },
      tags: { type: "array", items: { type: "string" } },
    },
  },
  [META]: { description: "ObjectMeta is metadata.", type: "object", properties: { name: { type: "string" } } },
  [INT_OR_STRING]: { type: "string", format: "int-or-string" },
  [QUANTITY]: { type: "string" },
  "io.k8s.api.core.v1.Namespace": { type: "object", properties: { kind: { type: "string" } }, ...gvk("", "v1", "Namespace") },
  "io.k8s.api.core.v1.NamespaceSpec": { type: "object", properties: { finalizers: { type: "array", items: { type: "string" } } } },
};

function convert(definitions: Record<string, JsonSchema> = DEFINITIONS) {
  return openApiToJsonSchemas(swagger(definitions));
}

function schemaFor(fileName: string, definitions?: Record<string, JsonSchema>): JsonSchema {
  const found = convert(definitions).schemas.find((schema) => schema.fileName === fileName);
  if (!found) throw new Error(`no ${fileName}`);
  return found.schema;
}

/** Walks `properties` by name: at(schema, "spec", "replicas"). */
function at(schema: JsonSchema, ...names: string[]): JsonSchema {
  let current = schema;
  for (const name of names) current = (current["properties"] as Record<string, JsonSchema>)[name]!;
  return current;
}

describe("kubernetesSchemaFileName", () => {
  it("follows kubeconform's KindSuffix: first segment of the group, core group without one", () => {
    expect(kubernetesSchemaFileName({ group: "", version: "v1", kind: "ConfigMap" })).toBe("configmap-v1.json");
    expect(kubernetesSchemaFileName({ group: "apps", version: "v1", kind: "Deployment" })).toBe("deployment-apps-v1.json");
    expect(kubernetesSchemaFileName({ group: "networking.k8s.io", version: "v1", kind: "Ingress" })).toBe("ingress-networking-v1.json");
    expect(kubernetesSchemaFileName({ group: "internal.apiserver.k8s.io", version: "v1alpha1", kind: "StorageVersion" })).toBe(
      "storageversion-internal-v1alpha1.json",
    );
  });
});

describe("openApiToJsonSchemas", () => {
  it("writes a schema for each definition with a group/version/kind, and only those", () => {
    expect(convert().schemas.map((schema) => schema.fileName)).toEqual(["deployment-apps-v1.json", "namespace-v1.json"]);
  });

  it("inlines every reference; a reference replaces its object, description included, like jsonref", () => {
    const deployment = schemaFor("deployment-apps-v1.json");
    expect(JSON.stringify(deployment)).not.toContain("$ref");
    expect(at(deployment, "metadata")["description"]).toBe("ObjectMeta is metadata.");
    expect(at(deployment, "metadata", "name")["type"]).toEqual(["string", "null"]);
  });

  it("is strict: objects with properties refuse others, maps keep their value schema", () => {
    const deployment = schemaFor("deployment-apps-v1.json");
    expect(deployment["additionalProperties"]).toBe(false);
    expect(at(deployment, "spec")["additionalProperties"]).toBe(false);
    expect(at(deployment, "spec", "selector")["additionalProperties"]).toBe(false);
    expect(at(deployment, "spec", "selector", "matchLabels")["additionalProperties"]).toEqual({ type: ["string", "null"] });
  });

  it("admits null except for required fields and the document itself", () => {
    const deployment = schemaFor("deployment-apps-v1.json");
    expect(deployment["type"]).toBe("object");
    expect(at(deployment, "spec")["type"]).toEqual(["object", "null"]);
    expect(at(deployment, "spec", "replicas")["type"]).toEqual(["integer", "null"]);
    expect(at(deployment, "spec", "selector")["type"]).toBe("object");
    expect(at(deployment, "spec", "tags")["items"]).toEqual({ type: ["string", "null"] });
  });

  it("accepts an integer or a string for IntOrString, and a number or a string for Quantity", () => {
    const spec = at(schemaFor("deployment-apps-v1.json"), "spec");
    expect(at(spec, "maxSurge")).toEqual({ oneOf: [{ type: "string" }, { type: "integer" }, { type: "null" }] });
    expect(at(spec, "requests")["additionalProperties"]).toEqual({ oneOf: [{ type: "string" }, { type: "number" }, { type: "null" }] });
  });

  it("pins apiVersion and kind to the file's own kind, and names the dialect", () => {
    const deployment = schemaFor("deployment-apps-v1.json");
    expect(at(deployment, "apiVersion")["enum"]).toEqual(["apps/v1"]);
    expect(at(deployment, "kind")["enum"]).toEqual(["Deployment"]);
    expect(at(schemaFor("namespace-v1.json"), "kind")["enum"]).toEqual(["Namespace"]);
    expect(deployment["$schema"]).toBe(KUBERNETES_SCHEMA_DIALECT);
  });

  it("writes one file per group/version/kind of a shared definition", () => {
    const definitions = {
      "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions": {
        type: "object",
        properties: { apiVersion: { type: "string" }, kind: { type: "string" } },
        "x-kubernetes-group-version-kind": [
          { group: "", version: "v1", kind: "DeleteOptions" },
          { group: "batch", version: "v1", kind: "DeleteOptions" },
        ],
      },
    };
    const { schemas } = convert(definitions);
    expect(schemas.map((schema) => schema.fileName)).toEqual(["deleteoptions-v1.json", "deleteoptions-batch-v1.json"]);
    expect(at(schemas[1]!.schema, "apiVersion")["enum"]).toEqual(["batch/v1"]);
  });

  it("cuts recursion (JSONSchemaProps) with a schema that accepts anything", () => {
    const definitions = {
      "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition": {
        type: "object",
        properties: { spec: { type: "object", properties: { schema: ref(PROPS) } } },
        ...gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
      },
      [PROPS]: {
        type: "object",
        properties: {
          type: { type: "string" },
          items: ref(PROPS),
          properties: { type: "object", additionalProperties: ref(PROPS) },
        },
      },
    };
    const crd = schemaFor("customresourcedefinition-apiextensions-v1.json", definitions);
    const props = at(crd, "spec", "schema");
    expect(props["additionalProperties"]).toBe(false);
    expect(at(props, "type")["type"]).toEqual(["string", "null"]);
    expect(at(props, "items")).toEqual({});
    expect(at(props, "properties")["additionalProperties"]).toEqual({});
  });

  it("reports a reference to a missing definition instead of writing a broken schema", () => {
    const definitions = {
      "io.k8s.api.core.v1.Pod": { type: "object", properties: { spec: ref("io.k8s.api.core.v1.Missing") }, ...gvk("", "v1", "Pod") },
    };
    const { schemas, problems } = convert(definitions);
    expect(schemas).toEqual([]);
    expect(problems).toEqual(["io.k8s.api.core.v1.Pod: reference to a missing definition io.k8s.api.core.v1.Missing"]);
  });

  it("refuses a document that is not OpenAPI v2", () => {
    expect(() => openApiToJsonSchemas({ openapi: "3.0.0", components: {} })).toThrow(/not an OpenAPI v2 document/);
    expect(() => openApiToJsonSchemas("swagger")).toThrow(/not an OpenAPI v2 document/);
  });

  it("does not change its input", () => {
    const definitions = structuredClone(DEFINITIONS);
    convert(definitions);
    expect(definitions).toEqual(DEFINITIONS);
  });
});
