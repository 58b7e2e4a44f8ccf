import { describe, expect, it } from "vitest";
import { diffFields, formatFieldChange } from "../../../core/diff/field-changes.ts";

const pod = (containers: unknown[], volumes: unknown[] = []) => ({ spec: { template: { spec: { containers, volumes } } } });

describe("diffFields", () => {
  it("matches containers by name: an added sidecar is one addition, not a shift of every entry", () => {
    const before = pod([{ name: "app", image: "app:1" }]);
    const after = pod([
      { name: "proxy", image: "envoy:1" },
      { name: "app", image: "app:2" },
    ]);
    expect(diffFields(before, after)).toEqual([
      { path: "spec.template.spec.containers[name=app].image", kind: "changed", before: "app:1", after: "app:2" },
      { path: "spec.template.spec.containers[name=proxy]", kind: "added", after: { name: "proxy", image: "envoy:1" } },
    ]);
  });

  it("matches env by name, volumeMounts by mountPath and ports by name or containerPort", () => {
    const before = pod([
      {
        name: "app",
        env: [
          { name: "A", value: "1" },
          { name: "B", value: "2" },
        ],
        volumeMounts: [
          { name: "data", mountPath: "/a" },
          { name: "data", mountPath: "/b", readOnly: true },
        ],
        ports: [{ containerPort: 80 }, { containerPort: 443 }],
      },
    ]);
    const after = pod([
      {
        name: "app",
        env: [{ name: "B", value: "3" }],
        volumeMounts: [
          { name: "data", mountPath: "/a" },
          { name: "data", mountPath: "/b", readOnly: false },
        ],
        ports: [{ containerPort: 443 }, { containerPort: 8080 }],
      },
    ]);
    expect(diffFields(before, after).map((change) => formatFieldChange(change))).toEqual([
      '- spec.template.spec.containers[name=app].env[name=A]: {"name":"A","value":"1"}',
      '~ spec.template.spec.containers[name=app].env[name=B].value: "2" → "3"',
      '- spec.template.spec.containers[name=app].ports[containerPort=80]: {"containerPort":80}',
      '+ spec.template.spec.containers[name=app].ports[containerPort=8080]: {"containerPort":8080}',
      "~ spec.template.spec.containers[name=app].volumeMounts[mountPath=/b].readOnly: true → false",
    ]);
  });

  it("reports a reorder once, of keyed and of plain lists, and nothing for equal objects", () => {
    const before = pod([{ name: "a", args: ["--x", "--y"] }, { name: "b" }], [{ name: "v1" }, { name: "v2" }]);
    const after = pod([{ name: "b" }, { name: "a", args: ["--y", "--x"] }], [{ name: "v2" }, { name: "v1" }]);
    expect(diffFields(before, after)).toEqual([
      { path: "spec.template.spec.containers[name=a].args", kind: "reordered", before: ["--x", "--y"], after: ["--y", "--x"] },
      { path: "spec.template.spec.containers", kind: "reordered", before: ["a", "b"], after: ["b", "a"] },
      { path: "spec.template.spec.volumes", kind: "reordered", before: ["v1", "v2"], after: ["v2", "v1"] },
    ]);
    expect(diffFields(before, structuredClone(before))).toEqual([]);
  });

  it("marks chart-bump labels and checksum annotations as noise, wherever the metadata is", () => {
    const object = (version: string) => ({
      metadata: { labels: { "helm.sh/chart": `web-${version}`, "app.kubernetes.io/version": version, app: "web" } },
      spec: { template: { metadata: { annotations: { "checksum/config": version, other: version } } } },
    });
    const changes = diffFields(object("1"), object("2"));
    expect(changes.filter((change) => change.noise).map((change) => change.path)).toEqual([
      'metadata.labels["app.kubernetes.io/version"]',
      'metadata.labels["helm.sh/chart"]',
      'spec.template.metadata.annotations["checksum/config"]',
    ]);
    expect(changes.filter((change) => !change.noise).map((change) => change.path)).toEqual(["spec.template.metadata.annotations.other"]);
  });

  it("shows a list whose length changes without keys as one change of the list", () => {
    expect(diffFields({ args: ["a"] }, { args: ["a", "b"] })).toEqual([
      { path: "args", kind: "changed", before: ["a"], after: ["a", "b"] },
    ]);
  });
});
