import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Finding } from "../../../core/model/findings.ts";
import { REDACTED, Redactor } from "../../../core/redaction.ts";
import { REPORT_FILES, writeReports } from "../../../core/report/write-reports.ts";
import { sampleReport } from "./sample-report.ts";

// A secret holding every character some report escapes (&, <, >, ", ', |, `, \, a line break), so
// an escaped copy of it would slip past a redactor that only looked at finished files.
const CANARY = "CANARY-7f3a&<b>\"q'|`tick`\\path\nline-two-of-the-canary";

const leaky: Finding[] = [
  {
    severity: "error",
    check: "secrets/plaintext",
    layer: "apps",
    environment: "prod",
    resource: { kind: "Secret", namespace: "shop", name: `db-${CANARY}` },
    file: "gitops/flux/apps/base/secret.yaml",
    line: 3,
    message: `data.password is not encrypted: ${CANARY}`,
    hint: `remove ${CANARY} and rotate it`,
  },
  {
    severity: "warning",
    check: "secrets/base64",
    layer: "controllers",
    environment: "staging",
    message: `value ${Buffer.from(CANARY).toString("base64")} looks like a key`,
  },
  { severity: "error", check: "fleet/odd", message: `line one\n${CANARY.split("\n")[1]} leaked on its own` },
];

describe("writeReports", () => {
  let dir = "";
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("writes the four reports into the output directory", async () => {
    dir = await mkdtemp(path.join(tmpdir(), "reports-"));
    const outDir = path.join(dir, "nested", "out");
    const written = await writeReports(outDir, sampleReport(), new Redactor());
    expect(written).toEqual(Object.values(REPORT_FILES).map((name) => path.join(outDir, name)));
    expect((await readdir(outDir)).sort()).toEqual(["gl-code-quality-report.json", "junit.xml", "report.json", "report.md"]);
    JSON.parse(await readFile(path.join(outDir, REPORT_FILES.json), "utf8"));
    JSON.parse(await readFile(path.join(outDir, REPORT_FILES.codeQuality), "utf8"));
  });

  it("never lets a secret the redactor knows reach any artifact, raw, escaped or encoded", async () => {
    dir = await mkdtemp(path.join(tmpdir(), "reports-"));
    const redactor = new Redactor();
    redactor.add(CANARY);
    await writeReports(dir, sampleReport(leaky), redactor);

    for (const name of Object.values(REPORT_FILES)) {
      const text = await readFile(path.join(dir, name), "utf8");
      // Matched loosely, so an escaped copy (`CANARY\-7f3a`, `line\-two`) counts as a leak too.
      expect(text, name).not.toMatch(/CANARY/);
      expect(text, name).not.toMatch(/line\W{0,2}two\W{0,2}of/);
      expect(text, name).not.toContain(Buffer.from(CANARY).toString("base64"));
      // The mask itself shows, escaped as each format needs (`\[REDACTED\]` in Markdown).
      expect(text, name).toContain(REDACTED.slice(1, -1));
    }
  });

  it("does not touch the caller's findings", async () => {
    dir = await mkdtemp(path.join(tmpdir(), "reports-"));
    const redactor = new Redactor();
    redactor.add(CANARY);
    const input = sampleReport(leaky);
    await writeReports(dir, input, redactor);
    expect(input.findings.some((finding) => finding.message.includes(CANARY))).toBe(true);
  });
});
