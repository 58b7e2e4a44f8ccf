// The README's two setup commands are the ones package.json defines and .ci/run runs.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { examplePath } from "../helpers/temp-repo.ts";

const run = promisify(execFile);
const read = (file: string) => readFile(examplePath(file), "utf8");

describe("the quick start's two commands", async () => {
  const readme = await read("README.md");
  const quickStart = readme.slice(readme.indexOf("## Quick start"), readme.indexOf("\n## ", readme.indexOf("## Quick start") + 1));
  const firstBlock = /```sh\n([\s\S]*?)```/.exec(quickStart)![1]!;
  const commands = firstBlock
    .split("\n")
    .map((line) => line.replace(/#.*$/, "").trim())
    .filter(Boolean);
  const scripts = (JSON.parse(await read("package.json")) as { scripts: Record<string, string> }).scripts;

  it("are exactly two, shown first, each an npm script running scripts/setup.sh", () => {
    expect(commands).toEqual(["npm run setup:main", "npm run setup:test"]);
    expect(scripts["setup:main"]).toBe("bash scripts/setup.sh main");
    expect(scripts["setup:test"]).toBe("bash scripts/setup.sh test");
  });

  it("are what .ci/run runs, the second after the first", async () => {
    const ci = (await read(".ci/run")).split("\n").filter((line) => !line.trim().startsWith("#"));
    const first = ci.findIndex((line) => /^npm run -s setup:main$/.test(line.trim()));
    const second = ci.findIndex((line) => /^npm run -s setup:test$/.test(line.trim()));
    expect(first).toBeGreaterThanOrEqual(0);
    expect(second).toBeGreaterThan(first);
    // Nothing else installs: what the tests need is listed in scripts/setup.sh.
    expect(ci.filter((line) => /apt-get|install\.sh|npm ci/.test(line))).toEqual([]);
  });

  it("refuses an unknown argument, naming it, with exit code 1", async () => {
    const failed = await run("bash", [examplePath("scripts/setup.sh"), "mian"]).catch(
      (error: unknown) => error as { code: number; stderr: string },
    );
    expect(failed).toMatchObject({ code: 1, stderr: expect.stringContaining("unknown argument 'mian'") });
  });

  it("lists the test suite's install.sh groups and Debian packages one per line", async () => {
    const script = await read("scripts/setup.sh");
    const list = (name: string) =>
      /\(([\s\S]*?)\n\)/
        .exec(script.slice(script.indexOf(`${name}=(`)))![1]!
        .split("\n")
        .slice(1)
        .map((line) => line.replace(/#.*$/, "").trim())
        .filter(Boolean);
    // (Other entries may join: one line each.)
    expect(list("TEST_TOOL_GROUPS")).toEqual(expect.arrayContaining(["cluster", "oracle"]));
    expect(list("TEST_APT_PACKAGES")).toEqual(expect.arrayContaining(["rsync:rsync", "xmllint:libxml2-utils"]));
    for (const entry of list("TEST_APT_PACKAGES")) expect(entry).toMatch(/^[\w.+-]+:[a-z0-9][a-z0-9.+-]+$/);
    // Every group is one install.sh knows, and the cluster binaries and the oracle are among them.
    const { stdout } = await run("bash", [examplePath("toolchain/install.sh"), "--list", ...list("TEST_TOOL_GROUPS")]);
    expect(
      stdout
        .split("\n")
        .filter(Boolean)
        .map((line) => line.split(" ")[0]),
    ).toEqual(expect.arrayContaining(["kube-apiserver", "kubectl", "etcd", "flux", "registry"]));
  });
});
