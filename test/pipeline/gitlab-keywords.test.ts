// Every keyword, expression and interpolation function the pipeline files use, against a table of
// GitLab's generally available CI/CD syntax with the version each became GA in. gitlab-ci-local
// re-implements GitLab and accepts more than GitLab does (it ran matrix expressions, a beta
// GitLab.com does not have), so it cannot be the judge of what a GitLab of the minimum version
// accepts: this table is. Anything not in it, marked beta, experiment or feature-flagged, or GA
// after MINIMUM_GITLAB fails the test; add an entry only with the version from GitLab's documentation
// (the "History" notes of docs/ci/yaml, docs/ci/inputs, docs/ci/variables/predefined_variables).
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import type { Fleet } from "../../core/model/fleet.ts";
import { PROJECT_ROOT } from "../../core/toolchain.ts";
import { childPipeline } from "../../tasks/pipeline/child-pipeline.ts";
import { promotePipeline } from "../../tasks/pipeline/promote-pipeline.ts";

/** The README's minimum: CI/CD components and spec:inputs are GA from 17.0. */
const MINIMUM_GITLAB = "17.0";

type Status = { ga: string } | { forbidden: "beta" | "experiment" | "feature flag"; note: string };

/** Keyword paths as `job:<keyword>[:<sub>]`, `header:...`, `top:...`; expressions and functions by name. */
const TABLE: Readonly<Record<string, Status>> = {
  // Header (docs/ci/inputs): spec:inputs went GA with CI/CD components in 17.0.
  "header:spec": { ga: "17.0" },
  "header:spec:inputs": { ga: "17.0" },
  "header:spec:inputs:default": { ga: "17.0" },
  "header:spec:inputs:description": { ga: "17.0" },
  "header:spec:inputs:options": { ga: "17.0" },
  "header:spec:inputs:regex": { ga: "17.0" },
  "header:spec:inputs:type": { ga: "17.0" },
  "input-type:string": { ga: "17.0" },
  "input-type:boolean": { ga: "17.0" },
  "input-type:number": { ga: "17.0" },
  "input-type:array": { ga: "17.0" },
  "header:spec:inputs:rules": { forbidden: "feature flag", note: "conditional inputs (spec:inputs:rules), 18.x behind a flag" },

  // Top-level keywords (docs/ci/yaml).
  "top:stages": { ga: "8.0" },
  "top:default": { ga: "12.0" },
  "top:variables": { ga: "8.0" },
  "top:workflow": { ga: "12.5" },
  "top:workflow:rules": { ga: "12.5" },
  "top:workflow:rules:if": { ga: "12.5" },
  "top:workflow:rules:when": { ga: "12.5" },
  "top:include": { ga: "11.4" },
  "top:include:local": { ga: "11.4" },
  "top:include:component": { ga: "17.0" },
  "top:include:inputs": { ga: "17.0" },

  // Job keywords (docs/ci/yaml).
  "job:image": { ga: "8.0" },
  "job:stage": { ga: "8.0" },
  "job:script": { ga: "8.0" },
  "job:before_script": { ga: "8.0" },
  "job:variables": { ga: "8.0" },
  "job:extends": { ga: "11.3" },
  "job:when": { ga: "8.0" },
  "job:allow_failure": { ga: "8.0" },
  "job:resource_group": { ga: "12.7" },
  "job:needs": { ga: "12.2" },
  "job:needs:job": { ga: "12.6" },
  "job:needs:artifacts": { ga: "12.6" },
  "job:needs:optional": { ga: "13.10" },
  "job:needs:parallel:matrix": { ga: "16.3" },
  "job:parallel": { ga: "11.5" },
  "job:parallel:matrix": { ga: "13.3" },
  "job:rules": { ga: "12.3" },
  "job:rules:if": { ga: "12.3" },
  "job:rules:when": { ga: "12.3" },
  "job:rules:allow_failure": { ga: "12.8" },
  "job:environment": { ga: "8.9" },
  "job:environment:name": { ga: "8.11" },
  "job:environment:action": { ga: "8.13" },
  "environment-action:prepare": { ga: "13.2" },
  "environment-action:verify": { ga: "15.0" },
  "job:artifacts": { ga: "8.0" },
  "job:artifacts:paths": { ga: "8.0" },
  "job:artifacts:when": { ga: "8.9" },
  "job:artifacts:expire_in": { ga: "8.9" },
  "job:artifacts:reports": { ga: "11.2" },
  // Introduced in 12.5; its feature flag ci_expose_arbitrary_artifacts_in_mr was removed in 13.0 (gitlab-org/gitlab!29363).
  "job:artifacts:expose_as": { ga: "13.0" },
  "job:artifacts:reports:junit": { ga: "11.2" },
  "job:artifacts:reports:codequality": { ga: "13.2" },
  "job:cache": { ga: "8.0" },
  "job:cache:key": { ga: "9.0" },
  "job:cache:paths": { ga: "8.0" },
  "job:cache:when": { ga: "13.5" },
  "job:cache:fallback_keys": { ga: "16.0" },
  "job:trigger": { ga: "11.8" },
  "job:trigger:include": { ga: "12.7" },
  "job:trigger:include:artifact": { ga: "12.9" },
  "job:trigger:include:job": { ga: "12.9" },
  "job:trigger:strategy": { ga: "12.0" },
  "trigger-strategy:depend": { ga: "12.0" },
  "trigger-strategy:mirror": { ga: "18.2" },

  // Interpolation (docs/ci/inputs): `$[[ inputs.x ]]`, and its functions.
  "interpolation:inputs": { ga: "17.0" },
  "function:expand_vars": { ga: "17.0" },
  "function:truncate": { ga: "17.0" },
  "interpolation:matrix": { forbidden: "beta", note: "matrix expressions ($[[ matrix.X ]]), 18.6 beta: not on GitLab.com, ci_matrix_expressions flag on self-managed" },
  "interpolation:component": { forbidden: "beta", note: "$[[ component.x ]] context, newer than 17.0" },

  // rules:if expression syntax (docs/ci/jobs/job_rules, "CI/CD variable expressions").
  "expression:==": { ga: "11.0" },
  "expression:!=": { ga: "11.0" },
  "expression:=~": { ga: "11.0" },
  "expression:!~": { ga: "11.11" },
  "expression:&&": { ga: "12.0" },
  "expression:||": { ga: "12.0" },
  "expression:()": { ga: "13.3" },

  // Predefined variables the files reference (docs/ci/variables/predefined_variables).
  "variable:CI_COMMIT_BRANCH": { ga: "12.6" },
  "variable:CI_COMMIT_REF_SLUG": { ga: "9.0" },
  "variable:CI_DEFAULT_BRANCH": { ga: "12.4" },
  "variable:CI_JOB_NAME_SLUG": { ga: "15.4" },
  "variable:CI_MERGE_REQUEST_DIFF_BASE_SHA": { ga: "13.3" },
  "variable:CI_MERGE_REQUEST_IID": { ga: "11.6" },
  "variable:CI_PIPELINE_SOURCE": { ga: "10.0" },
  "variable:CI_SERVER_FQDN": { ga: "16.10" },
  // CI_PIPELINE_SOURCE values the rules compare with.
  "pipeline-source:merge_request_event": { ga: "11.6" },
  "pipeline-source:push": { ga: "10.0" },
  "pipeline-source:schedule": { ga: "10.0" },
  "pipeline-source:web": { ga: "10.0" },
  "pipeline-source:api": { ga: "10.0" },
  "pipeline-source:trigger": { ga: "10.0" },
};

/** Keywords whose value is a mapping of keywords (or a list of such mappings), by path. */
const NESTED: Readonly<Record<string, "map" | "list-of-maps" | "list-of-maps-or-strings">> = {
  "job:artifacts": "map",
  "job:artifacts:reports": "map",
  "job:cache": "map",
  "job:environment": "map",
  "job:trigger": "map",
  "job:trigger:include": "list-of-maps-or-strings",
  "job:parallel": "map",
  "job:rules": "list-of-maps",
  "job:needs": "list-of-maps-or-strings",
  "job:needs:parallel": "map",
  "header:spec": "map",
  "top:include": "list-of-maps-or-strings",
  "top:workflow": "map",
  "top:workflow:rules": "list-of-maps",
};
const TOP_LEVEL = new Set(["stages", "default", "variables", "workflow", "include"]);

function compareVersions(a: string, b: string): number {
  const [am = 0, an = 0] = a.split(".").map(Number);
  const [bm = 0, bn = 0] = b.split(".").map(Number);
  return am - bm || an - bn;
}

/** Every syntax item of one pipeline document (header and body), with where it was seen. */
function syntaxUsed(header: unknown, body: unknown): Map<string, string> {
  const used = new Map<string, string>();
  const use = (item: string, where: string) => {
    if (!used.has(item)) used.set(item, where);
  };

  if (isMap(header) && header["spec"] !== undefined) {
    use("header:spec", "spec");
    walk("header:spec", header["spec"], "spec", use);
  }
  const inputs = isMap(header) && isMap(header["spec"]) && isMap(header["spec"]["inputs"]) ? header["spec"]["inputs"] : {};
  for (const [name, input] of Object.entries(inputs)) {
    if (!isMap(input)) continue;
    for (const key of Object.keys(input)) use(`header:spec:inputs:${key}`, `spec:inputs:${name}`);
    use(`input-type:${typeof input["type"] === "string" ? input["type"] : "string"}`, `spec:inputs:${name}`);
  }

  if (isMap(body)) {
    for (const [name, value] of Object.entries(body)) {
      if (TOP_LEVEL.has(name)) {
        use(`top:${name}`, name);
        walk(`top:${name}`, value, name, use);
        if (name === "default" && isMap(value)) for (const key of Object.keys(value)) use(`job:${key}`, `default:${key}`);
        continue;
      }
      if (!isMap(value)) continue;
      for (const [key, keywordValue] of Object.entries(value)) {
        use(`job:${key}`, `${name}:${key}`);
        walk(`job:${key}`, keywordValue, `${name}:${key}`, use);
      }
      const environment = value["environment"];
      if (isMap(environment) && typeof environment["action"] === "string") use(`environment-action:${environment["action"]}`, `${name}:environment:action`);
      const trigger = value["trigger"];
      if (isMap(trigger) && typeof trigger["strategy"] === "string") use(`trigger-strategy:${trigger["strategy"]}`, `${name}:trigger:strategy`);
    }
  }

  // Interpolation, expressions and variables wherever a string holds them.
  for (const [text, where] of strings(header, "header").concat(strings(body, "body"))) {
    for (const block of text.matchAll(/\$\[\[\s*(.*?)\s*\]\]/g)) {
      const [access, ...functions] = block[1]!.split("|").map((part) => part.trim());
      use(`interpolation:${access!.split(".")[0]}`, where);
      for (const fn of functions) use(`function:${fn.replace(/\(.*$/, "").trim()}`, where);
    }
    for (const variable of text.matchAll(/\$\{?(CI_[A-Z0-9_]+)/g)) use(`variable:${variable[1]}`, where);
  }
  for (const [expression, where] of ruleExpressions(body)) {
    for (const operator of expression.match(/==|!=|=~|!~|&&|\|\|/g) ?? []) use(`expression:${operator}`, where);
    if (/\(/.test(expression.replace(/"[^"]*"|'[^']*'|\/(?:\\.|[^/])*\//g, ""))) use("expression:()", where);
    for (const source of expression.matchAll(/\$CI_PIPELINE_SOURCE\s*[!=]=\s*"([^"]+)"/g)) use(`pipeline-source:${source[1]}`, where);
  }
  return used;
}

function walk(keyPath: string, value: unknown, where: string, use: (item: string, where: string) => void): void {
  const shape = NESTED[keyPath];
  if (!shape) return;
  const maps = shape === "map" ? (isMap(value) ? [value] : []) : Array.isArray(value) ? value.filter(isMap) : [];
  for (const map of maps) {
    for (const [key, sub] of Object.entries(map)) {
      // spec:inputs holds input names, not keywords: read apart.
      if (keyPath === "header:spec" && key === "inputs") {
        use("header:spec:inputs", where);
        continue;
      }
      use(`${keyPath}:${key}`, `${where}:${key}`);
      walk(`${keyPath}:${key}`, sub, `${where}:${key}`, use);
    }
  }
}

function ruleExpressions(body: unknown): [string, string][] {
  const found: [string, string][] = [];
  if (!isMap(body)) return found;
  for (const [name, job] of Object.entries(body)) {
    // Job rules, and workflow:rules.
    const rules = isMap(job) ? job["rules"] : undefined;
    if (!Array.isArray(rules)) continue;
    for (const rule of rules) if (isMap(rule) && typeof rule["if"] === "string") found.push([rule["if"], `${name}:rules:if`]);
  }
  return found;
}

function strings(value: unknown, where: string): [string, string][] {
  if (typeof value === "string") return [[value, where]];
  if (Array.isArray(value)) return value.flatMap((item, index) => strings(item, `${where}[${index}]`));
  if (isMap(value)) return Object.entries(value).flatMap(([key, item]) => [...strings(key, `${where}.${key}`), ...strings(item, `${where}.${key}`)]);
  return [];
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Items not GA at the minimum: unknown, forbidden, or GA later. */
function violations(used: ReadonlyMap<string, string>, minimum = MINIMUM_GITLAB): string[] {
  const problems: string[] = [];
  for (const [item, where] of used) {
    const status = TABLE[item];
    if (!status) problems.push(`${item} (at ${where}) is not in the table of GA syntax: look it up in GitLab's documentation and add it with its GA version`);
    else if ("forbidden" in status) problems.push(`${item} (at ${where}) is ${status.forbidden}: ${status.note}`);
    else if (compareVersions(status.ga, minimum) > 0) problems.push(`${item} (at ${where}) is GA only from GitLab ${status.ga}, after the minimum ${minimum}`);
  }
  return problems;
}

async function componentDocuments(file: string): Promise<{ header: unknown; body: unknown }> {
  const documents = parseAllDocuments(await readFile(path.join(PROJECT_ROOT, file), "utf8"));
  expect(documents.every((document) => document.errors.length === 0)).toBe(true);
  const [first, second] = documents.map((document) => document.toJS() as unknown);
  return second === undefined ? { header: undefined, body: first } : { header: first, body: second };
}

/** A small fleet with the standard three layers in two environments, for the generated child pipeline. */
function fleet(): Fleet {
  const layers = [
    { name: "controllers", dependsOn: [] },
    { name: "configs", dependsOn: ["controllers"] },
    { name: "apps", dependsOn: ["configs"] },
  ];
  const environments = [{ name: "staging" }, { name: "prod" }];
  return {
    root: "/fleet",
    source: "layout-a",
    environments,
    layers,
    overlays: environments.flatMap((env) => layers.map((layer, index) => ({ environment: env.name, layer: layer.name, path: `${layer.name}/overlays/${env.name}`, dependsOn: layer.dependsOn, order: index + 1 }))),
  };
}

describe("GitLab syntax of the pipeline files: GA at the minimum version only", () => {
  it("the component uses only GA syntax of GitLab 17.0", async () => {
    const { header, body } = await componentDocuments("pipeline/templates/gitops-ci.yml");
    const used = syntaxUsed(header, body);
    // The walk sees what matters: inputs, the layer job's matrix, the report's needs and rules.
    expect([...used.keys()]).toEqual(expect.arrayContaining(["header:spec:inputs", "interpolation:inputs", "job:parallel:matrix", "job:needs:optional", "job:rules:if", "environment-action:verify", "job:trigger:strategy"]));
    expect(violations(used)).toEqual([]);
  });

  it("the generated child pipeline uses only GA syntax of GitLab 17.0", () => {
    const all = fleet();
    // Every overlay, a merge request's few (dependencies dropped), and none (the aggregation job alone).
    for (const overlays of [all.overlays, all.overlays.filter((overlay) => overlay.environment === "prod" && overlay.layer !== "controllers"), []]) {
      const pipeline = childPipeline(all, overlays, { image: "registry.example.com/gitops-ci:1.0.0", dir: ".", kubernetesVersion: "1.35.0", strict: true });
      const used = syntaxUsed(undefined, pipeline);
      expect([...used.keys()]).toEqual(expect.arrayContaining(["top:stages", "top:default", "job:when", ...(overlays.length > 0 ? ["job:needs", "job:cache:fallback_keys"] : [])]));
      expect(violations(used)).toEqual([]);
    }
  });

  it("the generated promote pipeline uses only GA syntax of GitLab 17.0", () => {
    for (const order of [["staging", "prod"], ["dev", "staging", "prod"], ["only"]]) {
      const used = syntaxUsed(undefined, promotePipeline(order, { image: "registry.example.com/gitops-ci:1.0.0", dir: ".", tokenVariable: "GITOPS_CI_GITLAB_TOKEN" }));
      if (order.length > 1) expect([...used.keys()]).toEqual(expect.arrayContaining(["job:environment:action", "environment-action:prepare", "job:resource_group", "job:when"]));
      expect(violations(used)).toEqual([]);
    }
  });

  it("the test cases' pipeline files use only GA syntax of GitLab 17.0", async () => {
    for (const name of ["merge-request", "generated", "layout-b-layers"]) {
      const { body } = await componentDocuments(`test/pipeline/cases/${name}/.gitlab-ci.yml`);
      expect(violations(syntaxUsed(undefined, body)), name).toEqual([]);
    }
  });

  it("fails on matrix expressions, on unknown keywords and on syntax newer than the minimum", () => {
    const body = {
      "gitops-ci:configs": {
        script: ["true"],
        needs: [{ job: "gitops-ci:controllers", parallel: { matrix: [{ GITOPS_CI_ENV: ["$[[ matrix.GITOPS_CI_ENV ]]"] }] } }],
        inputs: { retries: 2 },
        trigger: { include: "child.yml", strategy: "mirror" },
      },
    };
    const problems = violations(syntaxUsed(undefined, body));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^interpolation:matrix \(at .*\) is beta: matrix expressions/),
        expect.stringMatching(/^job:inputs \(at gitops-ci:configs:inputs\) is not in the table/),
        expect.stringMatching(/^trigger-strategy:mirror .* is GA only from GitLab 18\.2, after the minimum 17\.0/),
      ]),
    );
    // The same table judged against a later minimum accepts what became GA by then.
    expect(violations(new Map([["trigger-strategy:mirror", "x"]]), "18.2")).toEqual([]);
  });

  it("the README states the same minimum and the component's header says it", async () => {
    const readme = await readFile(path.join(PROJECT_ROOT, "README.md"), "utf8");
    expect(readme).toContain(`GitLab ${MINIMUM_GITLAB} or later`);
    const component = await readFile(path.join(PROJECT_ROOT, "pipeline/templates/gitops-ci.yml"), "utf8");
    expect(component).toContain(`Needs GitLab >= ${MINIMUM_GITLAB}`);
  });
});
