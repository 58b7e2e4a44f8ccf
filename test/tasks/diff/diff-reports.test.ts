import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { diffProblem } from "../../../core/model/object-changes.ts";
import { REPORT_FILES } from "../../../core/report/write-reports.ts";
import { captureContext } from "../../helpers/context.ts";
import { parseXml, type XmlElement } from "../../core/report/xml.ts";
import { writeDiffReport, type DiffReport } from "../../../tasks/diff/index.ts";

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

function testCases(element: XmlElement): XmlElement[] {
  return element.name === "testcase" ? [element] : element.children.flatMap(testCases);
}

describe("diff reports: problems are findings", () => {
  it("writes a diff problem into the JUnit and Code Quality reports, redacted, with its check, file and line", async () => {
    const outDir = await mkdtemp(path.join(tmpdir(), "gitops-ci-diff-reports-"));
    dirs.push(outDir);
    const { context } = captureContext(outDir);
    context.redactor.add("hunter2-secret-value");
    const report: DiffReport = {
      tool: "gitops-ci",
      command: "diff",
      root: outDir,
      environments: [
        {
          environment: "prod",
          layers: ["apps"],
          changes: [],
          problems: [
            diffProblem("diff/dry-run", {
              environment: "prod",
              layer: "apps",
              resource: { apiVersion: "apps/v1", kind: "Deployment", namespace: "web", name: "api" },
              file: "apps/prod/deployment.yaml",
              line: 3,
              message: "admission webhook denied the request: token hunter2-secret-value is not allowed",
            }),
          ],
        },
      ],
    };
    await writeDiffReport(context, outDir, report, "diff");

    expect((await readdir(outDir)).sort()).toEqual(["diff.json", "diff.md", REPORT_FILES.codeQuality, REPORT_FILES.junit].sort());
    const junitText = await readFile(path.join(outDir, REPORT_FILES.junit), "utf8");
    const codeQualityText = await readFile(path.join(outDir, REPORT_FILES.codeQuality), "utf8");
    for (const text of [junitText, codeQualityText, await readFile(path.join(outDir, "diff.json"), "utf8")])
      expect(text).not.toContain("hunter2-secret-value");

    const failing = testCases(parseXml(junitText)).filter((testCase) => testCase.children.some((child) => child.name === "failure"));
    expect(failing).toHaveLength(1);
    expect(failing[0]!.attributes).toMatchObject({ classname: "diff/dry-run", file: "apps/prod/deployment.yaml" });
    expect(failing[0]!.attributes["name"]).toContain("Deployment web/api: admission webhook denied the request");

    const issues = JSON.parse(codeQualityText) as {
      check_name: string;
      severity: string;
      location: { path: string; lines: { begin: number } };
      description: string;
    }[];
    expect(issues).toEqual([
      expect.objectContaining({
        check_name: "diff/dry-run",
        severity: "major",
        location: { path: "apps/prod/deployment.yaml", lines: { begin: 3 } },
      }),
    ]);
    expect(issues[0]!.description).toContain("admission webhook denied the request");
  });

  it("writes reports without failures when the diff is complete", async () => {
    const outDir = await mkdtemp(path.join(tmpdir(), "gitops-ci-diff-reports-"));
    dirs.push(outDir);
    const { context } = captureContext(outDir);
    await writeDiffReport(
      context,
      outDir,
      {
        tool: "gitops-ci",
        command: "diff",
        root: outDir,
        environments: [{ environment: "prod", layers: ["apps"], changes: [], problems: [] }],
      },
      "diff",
    );
    expect(
      testCases(parseXml(await readFile(path.join(outDir, REPORT_FILES.junit), "utf8"))).filter((testCase) =>
        testCase.children.some((child) => child.name === "failure"),
      ),
    ).toEqual([]);
    expect(JSON.parse(await readFile(path.join(outDir, REPORT_FILES.codeQuality), "utf8"))).toEqual([]);
  });
});
