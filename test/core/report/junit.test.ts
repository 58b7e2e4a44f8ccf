import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Finding } from "../../../core/model/findings.ts";
import { formatJUnit } from "../../../core/report/junit.ts";
import { findings, sampleReport, summary } from "./sample-report.ts";
import { findAll, parseXml, type XmlElement } from "./xml.ts";

const byName = (root: XmlElement, name: string) => findAll(root, "testsuite").find((suite) => suite.attributes["name"] === name);
const cases = (suite: XmlElement | undefined) => (suite ? findAll(suite, "testcase") : []);
const failureOf = (testCase: XmlElement) => testCase.children.find((child) => child.name === "failure");

describe("formatJUnit", () => {
  const xml = formatJUnit(sampleReport());
  const root = parseXml(xml);

  it("is one testsuites root with a testsuite per layer × environment, plus the fleet", () => {
    expect(root.name).toBe("testsuites");
    expect(findAll(root, "testsuite").map((suite) => suite.attributes["name"])).toEqual([
      "fleet",
      "controllers/prod",
      "controllers/staging",
      "apps/prod",
      "apps/staging",
    ]);
  });

  it("has counts that agree with the test cases, at every level", () => {
    for (const element of [root, ...findAll(root, "testsuite")]) {
      const all = cases(element);
      expect(element.attributes["tests"]).toBe(String(all.length));
      expect(element.attributes["failures"]).toBe(String(all.filter((testCase) => failureOf(testCase)).length));
      expect(element.attributes["errors"]).toBe("0");
    }
    expect(root.attributes["failures"]).toBe(String(findings.filter((finding) => finding.severity === "error").length));
  });

  it("gives every test case the attributes GitLab reads: classname (its suite column), name, and file where known", () => {
    for (const testCase of cases(root)) {
      expect(testCase.attributes["classname"]).toMatch(/\S/);
      expect(testCase.attributes["name"]).toMatch(/\S/);
      expect(testCase.attributes["file"]).toMatch(/\S/);
    }
  });

  it("shows a passing overlay as one passed test per check that ran there", () => {
    const prod = cases(byName(root, "controllers/prod"));
    expect(prod.map((testCase) => [testCase.attributes["classname"], testCase.attributes["name"]])).toEqual([
      ["render", "controllers/prod"],
      ["validate", "controllers/prod"],
    ]);
    expect(prod.every((testCase) => testCase.children.length === 0)).toBe(true);
  });

  it("fails one test per error finding, named so the merge request widget's list says what and where", () => {
    const failing = cases(byName(root, "apps/prod")).filter((testCase) => failureOf(testCase));
    expect(failing).toHaveLength(3);
    const first = failing[0]!;
    expect(first.attributes).toMatchObject({
      classname: "validate/schema",
      name: "apps/prod: Deployment shop/web: spec.replicas: Invalid type. Expected: integer, given: string",
      file: "gitops/flux/apps/base/web.yaml",
    });
    const failure = failureOf(first)!;
    expect(failure.attributes).toEqual({
      message: "spec.replicas: Invalid type. Expected: integer, given: string",
      type: "validate/schema",
    });
    // GitLab shows the element's text in the test's details: location, resource, message, hint.
    expect(failure.text).toBe(
      "gitops/flux/apps/base/web.yaml:12\napps/prod Deployment shop/web\nspec.replicas: Invalid type. Expected: integer, given: string\nhint: Quote-free numbers: `replicas: 3`",
    );
  });

  it("keeps warnings and info out of the failures, in system-out of the check's test case", () => {
    const staging = cases(byName(root, "controllers/staging"));
    expect(staging.some((testCase) => failureOf(testCase))).toBe(false);
    const outputs = staging.map((testCase) => testCase.children.find((child) => child.name === "system-out")?.text);
    expect(outputs[0]).toContain(
      "warning gitops/flux/infrastructure/controllers/overlays/staging/kustomization.yaml overlay renders only what its base renders (render/empty-overlay)",
    );
    expect(outputs[1]).toContain("info CustomResourceDefinition schemas are not validated (validate/skipped-crd)");
  });

  it("marks checks that could not run on an overlay that did not render as skipped, with the reason as text", () => {
    const staging = cases(byName(root, "apps/staging"));
    expect(failureOf(staging[0]!)?.attributes["type"]).toBe("render/kustomize");
    const skipped = staging[1]!.children.find((child) => child.name === "skipped");
    expect(skipped?.text).toBe("not run: apps/staging did not render");
    expect(byName(root, "apps/staging")!.attributes["skipped"]).toBe("1");
  });

  it("fails the render test of an unrendered overlay even when no finding says why", () => {
    const input = { summary: [{ ...summary[0]!, rendered: false }], findings: [] };
    const only = parseXml(formatJUnit(input));
    const render = cases(byName(only, "controllers/prod"))[0]!;
    expect(render.attributes["classname"]).toBe("render");
    expect(failureOf(render)?.attributes["message"]).toBe("the overlay did not render");
  });

  it("round-trips messages with markup, quotes and line breaks exactly through attributes and text", () => {
    const tricky = findings[1]!;
    const testCase = cases(root).find((candidate) => failureOf(candidate)?.attributes["message"]?.startsWith("a | pipe"))!;
    expect(failureOf(testCase)!.attributes["message"]).toBe(tricky.message);
    expect(failureOf(testCase)!.text).toContain(tricky.message);
    expect(testCase.attributes["name"]).toBe(
      "apps/prod: Deployment shop/web: a | pipe, <script>alert(1)</script>, `ticks`, @group and #12 & ~label",
    );
  });

  it("turns characters XML cannot carry into visible escapes and drops colour codes", () => {
    const testCase = cases(root).find((candidate) => candidate.attributes["classname"] === "validate/missing-schema")!;
    expect(failureOf(testCase)!.attributes["message"]).toBe("no schema for example.com/v1 Widget red and a bell \\u0007 and NUL \\u0000");
    const odd: Finding = {
      severity: "error",
      check: "x/y",
      layer: "apps",
      environment: "prod",
      message: "vt\u000b ff\u000c lone\ud800 ok\u{1F600} nonchar\uffff",
    };
    const parsed = parseXml(formatJUnit(sampleReport([odd])));
    const message = findAll(parsed, "failure").find((failure) => failure.attributes["type"] === "x/y")!.attributes["message"];
    expect(message).toBe("vt\\u000b ff\\u000c lone\\ud800 ok\u{1F600} nonchar\\uffff");
  });

  it("keeps classname + name unique, since GitLab keeps only the first test of a name", () => {
    const twice = parseXml(formatJUnit(sampleReport([findings[0]!, findings[0]!])));
    const keys = cases(twice).map((testCase) => `${testCase.attributes["classname"]} ${testCase.attributes["name"]}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.filter((key) => key.startsWith("validate/schema apps/prod: Deployment shop/web: spec.replicas"))).toHaveLength(3);
    expect(keys).toContain(
      "validate/schema apps/prod: Deployment shop/web: spec.replicas: Invalid type. Expected: integer, given: string (#3)",
    );
  });

  it("uses the checks the caller says ran, when given", () => {
    const parsed = parseXml(formatJUnit({ summary: [summary[0]!], findings: [], checks: ["render", "validate", "policy"] }));
    expect(cases(parsed).map((testCase) => testCase.attributes["classname"])).toEqual(["render", "validate", "policy"]);
  });

  it("is byte-for-byte the same for the same input", () => {
    expect(formatJUnit(sampleReport())).toBe(xml);
  });
});

// GitLab's documented subset (docs.gitlab.com/ci/testing/unit_test_reports: testsuite name;
// testcase classname, name, file, time; failure, error, skipped, system-out, system-err) with the
// attributes the Jenkins xunit plugin's junit-10.xsd requires (testsuite name/tests/failures/errors,
// testcase name). Written for this test; `classname` is required because GitLab keys tests by it.
const GITLAB_JUNIT_XSD = `<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:simpleType name="count"><xs:restriction base="xs:nonNegativeInteger"/></xs:simpleType>
  <xs:simpleType name="nonEmpty"><xs:restriction base="xs:string"><xs:minLength value="1"/></xs:restriction></xs:simpleType>
  <xs:complexType name="result">
    <xs:simpleContent>
      <xs:extension base="xs:string">
        <xs:attribute name="message" type="xs:string"/>
        <xs:attribute name="type" type="xs:string"/>
      </xs:extension>
    </xs:simpleContent>
  </xs:complexType>
  <xs:element name="testsuites">
    <xs:complexType>
      <xs:sequence><xs:element ref="testsuite" minOccurs="0" maxOccurs="unbounded"/></xs:sequence>
      <xs:attribute name="name" type="xs:string"/>
      <xs:attribute name="tests" type="count"/>
      <xs:attribute name="failures" type="count"/>
      <xs:attribute name="errors" type="count"/>
      <xs:attribute name="time" type="xs:decimal"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="testsuite">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="properties" minOccurs="0">
          <xs:complexType>
            <xs:sequence>
              <xs:element name="property" maxOccurs="unbounded">
                <xs:complexType>
                  <xs:attribute name="name" type="nonEmpty" use="required"/>
                  <xs:attribute name="value" type="xs:string" use="required"/>
                </xs:complexType>
              </xs:element>
            </xs:sequence>
          </xs:complexType>
        </xs:element>
        <xs:element ref="testcase" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence>
      <xs:attribute name="name" type="nonEmpty" use="required"/>
      <xs:attribute name="tests" type="count" use="required"/>
      <xs:attribute name="failures" type="count" use="required"/>
      <xs:attribute name="errors" type="count" use="required"/>
      <xs:attribute name="skipped" type="count"/>
      <xs:attribute name="time" type="xs:decimal"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="testcase">
    <xs:complexType>
      <xs:sequence>
        <xs:choice minOccurs="0">
          <xs:element name="failure" type="result"/>
          <xs:element name="error" type="result"/>
          <xs:element name="skipped" type="result"/>
        </xs:choice>
        <xs:element name="system-out" type="xs:string" minOccurs="0"/>
        <xs:element name="system-err" type="xs:string" minOccurs="0"/>
      </xs:sequence>
      <xs:attribute name="classname" type="nonEmpty" use="required"/>
      <xs:attribute name="name" type="nonEmpty" use="required"/>
      <xs:attribute name="file" type="xs:string"/>
      <xs:attribute name="time" type="xs:decimal"/>
    </xs:complexType>
  </xs:element>
</xs:schema>
`;

// .ci/run installs xmllint (libxml2-utils); on a machine without it this block is reported as skipped.
const xmllint = spawnSync("xmllint", ["--version"]).status === 0;

describe.skipIf(!xmllint)("formatJUnit checked by libxml2 (xmllint)", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "junit-"));
    await writeFile(path.join(dir, "gitlab-junit.xsd"), GITLAB_JUNIT_XSD);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const lint = async (xml: string) => {
    const file = path.join(dir, "junit.xml");
    await writeFile(file, xml);
    return spawnSync("xmllint", ["--noout", "--schema", path.join(dir, "gitlab-junit.xsd"), file], { encoding: "utf8" });
  };

  it("validates the sample report, with every hostile character in it", async () => {
    const hostile: Finding = {
      severity: "error",
      check: "x/y",
      layer: "apps",
      environment: "prod",
      message: "\u0000\u0001\u001b[1m]]><![CDATA[ &amp; \"'\r\n\t\ud800",
      hint: "</failure><failure>",
    };
    const result = await lint(formatJUnit(sampleReport([hostile])));
    expect(result.stderr).toContain("validates");
    expect(result.status).toBe(0);
  });

  it("validates a report with no findings", async () => {
    const result = await lint(formatJUnit({ summary, findings: [] }));
    expect(result.status, result.stderr).toBe(0);
  });
});
