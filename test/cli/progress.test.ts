// Progress as a person sees it: `gitops-ci check` under a real pseudo-terminal (util-linux
// `script`), piped as in a plain log, and in a job-like GitLab CI run.
import { execFile } from "node:child_process";
import { cp, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { examplePath, makeTempDir } from "../helpers/temp-repo.ts";

const run = promisify(execFile);
const CLI = examplePath("bin/gitops-ci.js");
const CLEAR_LINE = "\r\x1b[2K";
const ESC = "\x1b";

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI with only the variables given (and PATH, HOME), stdout and stderr piped. */
async function piped(args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: baseEnv(env), maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== "number") throw error;
    return { code: failed.code, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

/** The CLI on a pseudo-terminal: `script` gives it one for stdout and stderr and copies what it shows. */
async function onTerminal(shellCommand: string, env: Record<string, string> = {}): Promise<Outcome> {
  const quoted = [process.execPath, CLI].map((word) => `'${word}'`).join(" ");
  return run("script", ["-qefc", `${quoted} ${shellCommand}`, "/dev/null"], {
    env: { ...baseEnv(env), TERM: "xterm" },
    maxBuffer: 64 * 1024 * 1024,
  })
    .then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }))
    .catch((caught: unknown) => {
      const error = caught as { code?: number; stdout?: string; stderr?: string };
      if (typeof error.code !== "number") throw caught;
      return { code: error.code, stdout: error.stdout ?? "", stderr: error.stderr ?? "" };
    });
}

function baseEnv(extra: Record<string, string>): Record<string, string> {
  return { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", ...extra };
}

const layoutB = examplePath("examples/layout-b");

describe("progress on a terminal", () => {
  it("draws a live line on stderr while it checks, clears it before the summary, and colours the summary", async () => {
    const { code, stdout: screen } = await onTerminal(`check '${layoutB}'`);
    expect(code).toBe(0);
    // The line is redrawn in place: the phase, what it counts, the time.
    expect(screen).toMatch(/\r\x1b\[2KRendering: Kustomizations built 9\/9, overlays rendered 9\/9 \(\d+\.\ds\)/);
    expect(screen).toMatch(/\r\x1b\[2KValidating: overlays validated 9\/9 \(\d+\.\ds\)/);
    // Cleared before the summary is written, and nothing is drawn after it.
    const summary = screen.indexOf("9 overlays, 0 errors, 0 warnings");
    expect(summary).toBeGreaterThan(0);
    const lastDraw = screen.lastIndexOf(`${CLEAR_LINE}Secrets`);
    expect(lastDraw).toBeGreaterThan(0);
    expect(screen.indexOf(CLEAR_LINE, lastDraw + CLEAR_LINE.length)).toBeGreaterThan(lastDraw);
    expect(screen.indexOf(CLEAR_LINE, lastDraw + CLEAR_LINE.length)).toBeLessThan(summary);
    expect(screen.slice(summary)).not.toContain(CLEAR_LINE);
    // Coloured status and cluster names; no GitLab sections outside GitLab CI.
    expect(screen).toContain(`${ESC}[32mok${ESC}[0m`);
    expect(screen).toContain(`${ESC}[1mproduction${ESC}[0m`);
    expect(screen).not.toContain("section_start");
  });

  it("respects NO_COLOR: the live line stays, the colours go", async () => {
    const { code, stdout: screen } = await onTerminal(`check '${layoutB}'`, { NO_COLOR: "1" });
    expect(code).toBe(0);
    expect(screen).toContain(`${CLEAR_LINE}Rendering`);
    expect(screen).not.toMatch(/\x1b\[[0-9;]*m/);
  });

  it("keeps --json on stdout free of progress while the terminal shows it", async () => {
    const dir = await makeTempDir();
    const jsonFile = path.join(dir, "report.json");
    const { code, stdout: screen } = await onTerminal(`check '${layoutB}' --json > '${jsonFile}'`);
    expect(code).toBe(0);
    expect(screen).toContain(`${CLEAR_LINE}Rendering`);
    const json = await readFile(jsonFile, "utf8");
    expect(json).not.toContain(ESC);
    expect(json).not.toContain("\r");
    expect(JSON.parse(json)).toMatchObject({ tool: "gitops-ci", summary: expect.any(Array) });
  });
});

describe("progress in a log", () => {
  it("writes no live line and no escape codes when the streams are not terminals", async () => {
    const { code, stdout, stderr } = await piped(["check", layoutB]);
    expect(code).toBe(0);
    expect(stdout + stderr).not.toContain(ESC);
    expect(stdout + stderr).not.toContain("\r");
    // Their HelmReleases' chart output included.
    expect(stdout).toMatch(/^production {2}3 overlays, 31 objects, 0 errors, 0 warnings/m);
  });
});

/** Every section marker, in order. */
function sections(log: string): { kind: "start" | "end"; at: number; name: string; collapsed: boolean; header: string }[] {
  return [...log.matchAll(/\x1b\[0Ksection_(start|end):(\d+):([A-Za-z0-9_.-]+)(\[collapsed=true\])?\r\x1b\[0K([^\n]*)/g)].map((match) => ({
    kind: match[1] as "start" | "end",
    at: Number(match[2]),
    name: match[3]!,
    collapsed: match[4] !== undefined,
    header: match[5]!,
  }));
}

describe("progress in a GitLab CI job", () => {
  const job = { CI: "true", GITLAB_CI: "true" };

  it("opens and closes a section per phase and per cluster; a failing cluster's section is open and holds its findings", async () => {
    const root = await makeTempDir();
    await cp(layoutB, root, { recursive: true });
    const broken = path.join(root, "clusters/production/applications/kustomization.yaml");
    await writeFile(broken, (await readFile(broken, "utf8")).replace("  - hpa.yaml\n", "  - hpa.yaml\n  - missing.yaml\n"));
    const before = Math.floor(Date.now() / 1000);
    const { code, stdout, stderr } = await piped(["check", root], job);
    const after = Math.ceil(Date.now() / 1000);
    expect(code).toBe(1);

    // Phases on stderr, clusters on stdout: each start has its end, in order, timestamps of this run.
    const phases = sections(stderr);
    const clusters = sections(stdout);
    for (const markers of [phases, clusters]) {
      const open: string[] = [];
      for (const marker of markers) {
        expect(marker.at).toBeGreaterThanOrEqual(before);
        expect(marker.at).toBeLessThanOrEqual(after);
        if (marker.kind === "start") open.push(marker.name);
        else expect(open.pop()).toBe(marker.name);
      }
      expect(open).toEqual([]);
    }
    expect(phases.filter((marker) => marker.kind === "start").map((marker) => marker.header)).toEqual([
      "Discovering the fleet",
      "Rendering",
      "Validating",
      "Layer contracts and repository standards",
      "Secrets",
    ]);
    // Each phase says how long it took before it closes.
    expect(stderr).toMatch(/Rendering: 9 Kustomizations built, 9 overlays rendered, \d+\.\ds\n\x1b\[0Ksection_end:/);

    const starts = clusters.filter((marker) => marker.kind === "start");
    expect(starts.map((marker) => [marker.name, marker.collapsed])).toEqual([
      ["gitops_ci_cluster_local", true],
      ["gitops_ci_cluster_production", false],
      ["gitops_ci_cluster_staging", true],
    ]);
    expect(starts[1]!.header).toMatch(/^production {2}3 overlays, \d+ objects, [1-9]\d* errors?/);
    const production = stdout.slice(
      stdout.indexOf("section_start:", stdout.indexOf("gitops_ci_cluster_local")),
      stdout.indexOf("section_end", stdout.indexOf("gitops_ci_cluster_production")),
    );
    expect(production).toMatch(/error clusters\/production\/applications.*missing\.yaml/);
    expect(stdout + stderr).not.toContain(CLEAR_LINE);
  });

  it("keeps --json on stdout a JSON document", async () => {
    const { code, stdout, stderr } = await piped(["check", layoutB, "--json"], job);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ tool: "gitops-ci" });
    expect(stdout).not.toContain("section_");
    expect(sections(stderr).length).toBeGreaterThan(0);
  });
});
