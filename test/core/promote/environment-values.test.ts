import { describe, expect, it } from "vitest";
import {
  classifyValue,
  containsEnvironmentName,
  isCapacityField,
  isSecretFile,
  isVersionField,
} from "../../../core/promote/environment-values.ts";
import { matchesFieldPattern, parseFieldPattern } from "../../../core/promote/field-patterns.ts";

describe("classifyValue", () => {
  it.each([
    ["10.20.0.10", "ip"],
    ["1.1.1.1:53", "ip"],
    ["fd00::10", "ip"],
    ["[fd00::10]:6443", "ip"],
    ["10.20.10.10-10.20.10.50", "ip"],
    ["10.20.0.0/16", "cidr"],
    ["fd00::/64", "cidr"],
    ["https://acme-staging-v02.api.letsencrypt.org/directory", "url"],
    ["gitlab@staging.example.com", "email"],
    ["gitlab.staging.example.com", "hostname"],
    ["*.example.com", "hostname"],
    ["smtp.example.com:587", "hostname"],
    ["gitlab-smtp-staging", "environment-name"],
    ["letsencrypt-staging-account-key", "environment-name"],
  ])("%s is %s", (value, kind) => {
    expect(classifyValue(value, { environments: ["staging", "prod"] })).toBe(kind);
  });

  it.each([
    "8.6.0",
    "v1.16.2",
    "4.11.x",
    "values.yaml",
    "ingress-nginx.ingress-nginx.svc",
    "redis.cache.svc.cluster.local",
    "production-grade",
    "nginx",
    "2.5Gi",
    "ReadWriteOnce",
  ])("%s is an ordinary value", (value) => {
    expect(classifyValue(value, { environments: ["staging", "prod"] })).toBeUndefined();
  });

  it("reads API groups as groups, and looks inside lists and maps", () => {
    expect(classifyValue("cert-manager.io", { key: "group" })).toBeUndefined();
    expect(classifyValue(["example.com", "*.example.com"])).toBe("hostname");
    expect(classifyValue([{ start: "10.30.10.10", stop: "10.30.10.50" }])).toBe("ip");
    expect(classifyValue(3)).toBeUndefined();
  });

  it("matches an environment's name only as a word", () => {
    expect(containsEnvironmentName("cloudflare-api-token-prod", "prod")).toBe(true);
    expect(containsEnvironmentName("production", "prod")).toBe(false);
    expect(containsEnvironmentName("products", "prod")).toBe(false);
  });
});

describe("field kinds", () => {
  it("knows capacity fields by their path", () => {
    for (const path of [
      "spec.replicas",
      "spec.values.controller.replicaCount",
      "spec.values.gitlab.webservice.minReplicas",
      "spec.values.x.resources.requests.cpu",
      "spec.values.gitaly.persistence.size",
      "spec.values.postgresql.primary.persistence.storageClass",
      "spec.values.autoscaling.enabled",
    ]) {
      expect(isCapacityField(path.split(".")), path).toBe(true);
    }
    for (const path of ["spec.values.workerProcesses", "spec.chart.spec.version", "spec.values.resources"])
      expect(isCapacityField(path.split(".")), path).toBe(false);
  });

  it("knows version fields", () => {
    expect(isVersionField(["spec", "chart", "spec", "version"], "8.6.0")).toBe(true);
    expect(isVersionField(["spec", "values", "image", "tag"], "v1")).toBe(true);
    expect(isVersionField(["spec", "values", "imageTag"], "v1")).toBe(true);
    expect(isVersionField(["spec", "values", "image"], "nginx:1.27")).toBe(true);
    expect(isVersionField(["spec", "values", "image"], "nginx")).toBe(false);
    expect(isVersionField(["apiVersion"], "v1")).toBe(false);
    expect(isVersionField(["metadata", "labels", "version"], "v1")).toBe(false);
  });

  it("knows secret files by folder and content", () => {
    expect(isSecretFile("secrets/gitlab-smtp.yaml")).toBe(true);
    expect(isSecretFile("sealed-secrets/actual-podinfo-secrets.yaml")).toBe(true);
    expect(isSecretFile("db.yaml", "apiVersion: v1\nkind: Secret\n")).toBe(true);
    expect(isSecretFile("db.yaml", "data: {}\nsops:\n    age: []\n")).toBe(true);
    expect(isSecretFile("patch.yaml", "kind: HelmRelease\n")).toBe(false);
  });
});

describe("promote field patterns", () => {
  const object = { type: "object", kind: "HelmRelease", name: "gitlab" } as const;

  it("match kind, name and a field or anything below it", () => {
    expect(
      matchesFieldPattern(parseFieldPattern("spec.values.global.hosts"), object, ["spec", "values", "global", "hosts", "domain"]),
    ).toBe(true);
    expect(
      matchesFieldPattern(parseFieldPattern("HelmRelease/gitlab:spec.values.**.tag"), object, ["spec", "values", "a", "image", "tag"]),
    ).toBe(true);
    expect(matchesFieldPattern(parseFieldPattern("HelmRelease/*:spec.*.replicaCount"), object, ["spec", "values", "replicaCount"])).toBe(
      true,
    );
    expect(matchesFieldPattern(parseFieldPattern("HelmRelease/cilium:spec.values"), object, ["spec", "values", "x"])).toBe(false);
    expect(matchesFieldPattern(parseFieldPattern("Image/nginx:newTag"), { type: "image", name: "nginx" }, ["newTag"])).toBe(true);
    expect(matchesFieldPattern(parseFieldPattern("spec.values.a"), object, ["spec", "values"])).toBe(false);
  });

  it("reject a pattern without a field, naming the file", () => {
    expect(() => parseFieldPattern("HelmRelease/gitlab:", "gitops-ci.yaml")).toThrow(/invalid promote field pattern/);
    expect(() => parseFieldPattern("a/b/c:spec")).toThrow(/invalid promote field pattern/);
  });
});
