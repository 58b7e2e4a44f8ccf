// The check as a JUnit XML report (artifacts:reports:junit), so the merge request's test summary
// lists each blocking finding as a failed test and each clean overlay as passed checks.
//
// How GitLab reads it (docs.gitlab.com/ci/testing/unit_test_reports, lib/gitlab/ci/parsers/test/junit.rb):
// - `testcase classname` is shown as the suite, `name` as the test, `file` as its file; the
//   `testsuite name` is parsed but not shown. The merge request widget lists failed tests by
//   `name` alone, so a failing test's name says where and what: `apps/prod: Deployment web: …`.
// - Tests are keyed by classname + name across the whole job and duplicates are dropped, so
//   every key here is made unique.
// - Only failed, errored and skipped tests show their text; passing tests' output is dropped.
//   Warnings and info therefore ride in `system-out` (kept for Jenkins and the artifact) and are
//   surfaced by the Code Quality report and the merge request note instead. They are not
//   `skipped`: that would claim a check did not run.
// - `skipped` is used for what it means: checks that could not run because the overlay did not render.
import { describeResource, formatLocation, type Finding } from "../model/findings.ts";
import { checkFamily, groupByScope, performedChecks, stripAnsi, type CheckReportInput, type FindingScope } from "./summary.ts";

interface TestCase {
  classname: string;
  name: string;
  file?: string;
  failure?: { message: string; type: string; body: string };
  skipped?: string;
  systemOut?: string;
}

interface TestSuite {
  name: string;
  properties: [string, string][];
  cases: TestCase[];
}

/** Longest first line of a message that goes into a test's name; the full text is in the failure. */
const NAME_MESSAGE_LIMIT = 160;

export function formatJUnit(input: CheckReportInput): string {
  const families = performedChecks(input);
  const suites = groupByScope(input).map((scope) => suiteFor(scope, families));
  makeKeysUnique(suites.flatMap((suite) => suite.cases));

  const all = suites.flatMap((suite) => suite.cases);
  const lines = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="gitops-ci" tests="${all.length}" failures="${count(all, "failure")}" errors="0" time="0">`,
    ...suites.flatMap(formatSuite),
    `</testsuites>`,
  ];
  return `${lines.join("\n")}\n`;
}

function suiteFor(scope: FindingScope, performed: readonly string[]): TestSuite {
  const reported = [...new Set(scope.findings.map((finding) => checkFamily(finding.check)))].sort();
  const families = scope.row ? [...new Set([...performed, ...reported])] : reported;
  const cases = families.flatMap((family) =>
    casesFor(
      scope,
      family,
      scope.findings.filter((finding) => checkFamily(finding.check) === family),
    ),
  );
  const properties: [string, string][] = scope.row
    ? [
        ["layer", scope.row.layer],
        ["environment", scope.row.environment],
        ["path", scope.row.path],
        ["rendered", String(scope.row.rendered)],
        ["objects", String(scope.row.objects)],
      ]
    : [];
  return { name: scope.label, properties, cases };
}

function casesFor(scope: FindingScope, family: string, findings: readonly Finding[]): TestCase[] {
  const errors = findings.filter((finding) => finding.severity === "error");
  const notes = findings.filter((finding) => finding.severity !== "error");
  const overlayPath = scope.row?.path;
  const cases: TestCase[] = errors.map((finding) => failingCase(scope, finding));

  if (scope.row && !scope.row.rendered && family === "render" && errors.length === 0) {
    cases.push({
      classname: "render",
      name: `${scope.label}: the overlay did not render`,
      ...(overlayPath ? { file: overlayPath } : {}),
      failure: {
        message: "the overlay did not render",
        type: "render",
        body: `${scope.label}: the overlay did not render and no finding says why; see the job log.`,
      },
    });
  }
  if (cases.length === 0) {
    const passing: TestCase = { classname: family, name: scope.label, ...(overlayPath ? { file: overlayPath } : {}) };
    if (scope.row && !scope.row.rendered) passing.skipped = `not run: ${scope.label} did not render`;
    cases.push(passing);
  }
  if (notes.length > 0) {
    // Passing tests' output is not shown by GitLab; on a failing test of the same family it is.
    const carrier = cases[0]!;
    carrier.systemOut = notes.map(describeNote).join("\n");
  }
  return cases;
}

function failingCase(scope: FindingScope, finding: Finding): TestCase {
  const message = stripAnsi(finding.message);
  const resource = finding.resource ? `${describeResource(finding.resource)}: ` : "";
  const file = finding.file ?? scope.row?.path;
  return {
    classname: finding.check,
    name: `${scope.label}: ${resource}${firstLine(message, NAME_MESSAGE_LIMIT)}`,
    ...(file ? { file } : {}),
    failure: { message, type: finding.check, body: describeFinding(scope, finding) },
  };
}

function describeFinding(scope: FindingScope, finding: Finding): string {
  const location = formatLocation(finding);
  return [
    location || undefined,
    finding.resource ? `${scope.label} ${describeResource(finding.resource)}` : scope.label,
    stripAnsi(finding.message),
    finding.hint ? `hint: ${stripAnsi(finding.hint)}` : undefined,
  ]
    .filter((line) => line !== undefined)
    .join("\n");
}

function describeNote(finding: Finding): string {
  const location = formatLocation(finding);
  const resource = finding.resource ? ` ${describeResource(finding.resource)}:` : "";
  const head = `${finding.severity}${location ? ` ${location}` : ""}${resource} ${stripAnsi(finding.message)} (${finding.check})`;
  return finding.hint ? `${head}\n    hint: ${stripAnsi(finding.hint)}` : head;
}

/** GitLab keeps the first test per classname + name; a repeated key gets ` (#2)`, ` (#3)`, … */
function makeKeysUnique(cases: TestCase[]): void {
  const seen = new Map<string, number>();
  for (const testCase of cases) {
    const key = `${testCase.classname}\u0000${testCase.name}`;
    const times = (seen.get(key) ?? 0) + 1;
    seen.set(key, times);
    if (times > 1) testCase.name = `${testCase.name} (#${times})`;
  }
}

function formatSuite(suite: TestSuite): string[] {
  const attributes = {
    name: suite.name,
    tests: String(suite.cases.length),
    failures: String(count(suite.cases, "failure")),
    errors: "0",
    skipped: String(count(suite.cases, "skipped")),
    time: "0",
  };
  const properties =
    suite.properties.length > 0
      ? ["    <properties>", ...suite.properties.map(([name, value]) => `      <property${attrs({ name, value })}/>`), "    </properties>"]
      : [];
  return [`  <testsuite${attrs(attributes)}>`, ...properties, ...suite.cases.map(formatCase), `  </testsuite>`];
}

function formatCase(testCase: TestCase): string {
  const open = `    <testcase${attrs({ classname: testCase.classname, name: testCase.name, file: testCase.file, time: "0" })}`;
  const children = [
    testCase.failure
      ? `<failure${attrs({ message: testCase.failure.message, type: testCase.failure.type })}>${escapeText(testCase.failure.body)}</failure>`
      : undefined,
    // GitLab shows the element's text as the reason, so the reason is both attribute and text.
    testCase.skipped !== undefined
      ? `<skipped${attrs({ message: testCase.skipped })}>${escapeText(testCase.skipped)}</skipped>`
      : undefined,
    testCase.systemOut !== undefined ? `<system-out>${escapeText(testCase.systemOut)}</system-out>` : undefined,
  ].filter((child) => child !== undefined);
  if (children.length === 0) return `${open}/>`;
  return [`${open}>`, ...children.map((child) => `      ${child}`), `    </testcase>`].join("\n");
}

function count(cases: readonly TestCase[], kind: "failure" | "skipped"): number {
  return cases.filter((testCase) => testCase[kind] !== undefined).length;
}

function attrs(values: Record<string, string | undefined>): string {
  return Object.entries(values)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => ` ${name}="${escapeAttribute(value)}"`)
    .join("");
}

function firstLine(text: string, limit: number): string {
  const line = text.trim().split(/\r?\n/, 1)[0] ?? "";
  return line.length > limit ? `${line.slice(0, limit - 1)}…` : line;
}

/**
 * Characters XML 1.0 cannot carry at all, not even as `&#…;`: C0 controls other than tab, line
 * feed and carriage return, U+FFFE/U+FFFF, and unpaired surrogates. They become visible `\u001b`
 * text instead of making the whole report unparseable.
 */
const NOT_XML =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function xmlSafe(text: string): string {
  return stripAnsi(text).replace(NOT_XML, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function escapeText(text: string): string {
  return xmlSafe(text).replace(/[&<>\r]/g, (char) => ENTITIES[char]!);
}

/** Attribute values also keep quotes and line breaks, which a parser would otherwise normalise to spaces. */
function escapeAttribute(text: string): string {
  return xmlSafe(text).replace(/[&<>"'\r\n\t]/g, (char) => ENTITIES[char]!);
}

const ENTITIES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
  "\r": "&#13;",
  "\n": "&#10;",
  "\t": "&#9;",
};
