import { describe, expect, it } from "vitest";
import { fieldsThatMatter, sameJson, toDiffYaml } from "../../../core/diff/normalize.ts";
import { formatSecretKeyChanges, secretKeyChanges, secretValuesOf, withoutSecretValues } from "../../../core/diff/secret-changes.ts";

const live = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: {
    name: "web",
    namespace: "apps",
    uid: "6a1c",
    resourceVersion: "4242",
    generation: 7,
    creationTimestamp: "2026-01-01T00:00:00Z",
    managedFields: [{ manager: "kustomize-controller" }],
    selfLink: "/apis/apps/v1/namespaces/apps/deployments/web",
    labels: { app: "web" },
    annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}", team: "a" },
    finalizers: ["x"],
  },
  spec: { replicas: 2 },
  status: { readyReplicas: 2 },
};

describe("fieldsThatMatter", () => {
  it("keeps spec, name, namespace, labels and annotations; drops status and what the server sets", () => {
    expect(fieldsThatMatter(live)).toEqual({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: "apps", labels: { app: "web" }, annotations: { team: "a" } },
      spec: { replicas: 2 },
    });
    expect(live.metadata.uid).toBe("6a1c"); // the input is not modified
  });

  it("compares JSON deeply regardless of key order, and prints sorted YAML", () => {
    expect(sameJson({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(sameJson({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(sameJson([1, 2], [2, 1])).toBe(false);
    expect(toDiffYaml({ b: 1, a: { d: 1, c: 2 } })).toBe("a:\n  c: 2\n  d: 1\nb: 1\n");
  });
});

describe("Secret changes", () => {
  const before = { apiVersion: "v1", kind: "Secret", data: { keep: "YQ==", change: "Yg==", drop: "Yw==" } };
  const after = { apiVersion: "v1", kind: "Secret", data: { keep: "YQ==", change: "eg==", add: "ZA==" } };

  it("lists keys added, removed and changed, never a value", () => {
    const changes = secretKeyChanges(before, after);
    expect(formatSecretKeyChanges(changes)).toBe("data.add: added\ndata.change: changed\ndata.drop: removed");
    expect(JSON.stringify(changes)).not.toMatch(/Yg==|eg==|ZA==|Yw==/);
  });

  it("drops value fields for the rest of the diff, and finds values for the redactor in both encodings", () => {
    expect(withoutSecretValues({ ...after, stringData: { x: "y" }, type: "Opaque" })).toEqual({
      apiVersion: "v1",
      kind: "Secret",
      type: "Opaque",
    });
    expect(
      secretValuesOf({
        apiVersion: "v1",
        kind: "Secret",
        data: { a: Buffer.from("hunter2-value").toString("base64") },
        stringData: { b: "plain-value" },
      }),
    ).toEqual([Buffer.from("hunter2-value").toString("base64"), "hunter2-value", "plain-value"]);
    expect(secretValuesOf({ apiVersion: "v1", kind: "ConfigMap", data: { a: "b" } })).toEqual([]);
  });
});
