// The image cannot be built here (no container engine), so this pins what can be checked: the
// image installs the tools with the very commands `npm run setup` (and so `.ci/run`) runs, from the
// same pins, and the build context and stages hold every file the CLI imports.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../core/toolchain.ts";

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Dockerfile instructions by stage: comments dropped, `\` continuations joined. */
function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (pending === "" && (line === "" || line.startsWith("#"))) continue;
    if (line.startsWith("#")) continue;
    pending += `${pending ? " " : ""}${line.replace(/\\$/, "").trim()}`;
    if (!line.endsWith("\\")) {
      logical.push(pending);
      pending = "";
    }
  }
  const stages: Stage[] = [];
  for (const line of logical) {
    const [keyword = "", ...rest] = line.split(/\s+/);
    const args = rest.join(" ");
    if (keyword.toUpperCase() === "FROM") {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ from: match?.[1] ?? args, name: match?.[2], instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ keyword: keyword.toUpperCase(), args });
    }
  }
  return stages;
}

/** A RUN's shell commands: `--mount` flags dropped, split on `&&` and `|`. */
function runCommands(instruction: Instruction): string[] {
  const shell = instruction.args.replace(/^(--\S+\s+)+/, "");
  return shell.split(/&&|\|/).map((command) => command.trim().replace(/\s+/g, " "));
}

async function readProjectFile(relative: string): Promise<string> {
  return readFile(path.join(PROJECT_ROOT, relative), "utf8");
}

/** Top-level folders of every project file reachable by relative imports from `entry`. */
async function importedTopLevelFolders(entry: string): Promise<Set<string>> {
  const seen = new Set<string>();
  const pending = [path.join(PROJECT_ROOT, entry)];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = await readFile(file, "utf8");
    for (const match of source.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"(\.{1,2}\/[^"]+)"/g)) {
      pending.push(path.resolve(path.dirname(file), match[1]!));
    }
  }
  return new Set([...seen].map((file) => path.relative(PROJECT_ROOT, file).split(path.sep)[0]!));
}

describe("docker/Dockerfile", async () => {
  const stages = parseDockerfile(await readProjectFile("docker/Dockerfile"));
  const tools = stages.find((stage) => stage.name === "tools");
  const final = stages.at(-1)!;
  const setupScript = (JSON.parse(await readProjectFile("package.json")) as { scripts: Record<string, string> }).scripts["setup"]!;

  it("runs exactly the commands of `npm run setup` in its tools stage, in the same order", () => {
    expect(tools, "a stage named tools").toBeDefined();
    const setupCommands = setupScript.split("&&").map((command) => command.trim());
    expect(setupCommands).toEqual(["bash toolchain/install.sh", "bash toolchain/kubernetes-schemas.sh"]);
    const toolchainCommands = tools!.instructions
      .filter((instruction) => instruction.keyword === "RUN")
      .flatMap(runCommands)
      .filter((command) => command.includes("toolchain/"));
    // No arguments: the same tool set (core) and the same Kubernetes release (the pin) as CI.
    expect(toolchainCommands).toEqual(setupCommands);
  });

  it("copies the toolchain pins before it builds the tools", () => {
    const instructions = tools!.instructions;
    const copyPins = instructions.findIndex((instruction) => instruction.keyword === "COPY" && /^toolchain\/?\s+toolchain\/?$/.test(instruction.args));
    const install = instructions.findIndex((instruction) => instruction.keyword === "RUN" && runCommands(instruction).includes("bash toolchain/install.sh"));
    expect(copyPins).toBeGreaterThanOrEqual(0);
    expect(install).toBeGreaterThan(copyPins);
    // Only the pins: an app change must not rebuild the Go tools.
    expect(instructions.slice(0, install).filter((instruction) => instruction.keyword === "COPY" && !instruction.args.startsWith("--from="))).toHaveLength(1);
  });

  it("builds every tool of the pins with Go from the tools stage, and nothing from the cluster group", () => {
    const run = tools!.instructions.filter((instruction) => instruction.keyword === "RUN").flatMap(runCommands);
    expect(run.some((command) => /--cluster|\bcluster\b|\ball\b/.test(command) && command.includes("install.sh"))).toBe(false);
    expect(tools!.from).toMatch(/^golang:1\.2[6-9]/);
  });

  it("gives the tools stage and the build context every folder the CLI imports", async () => {
    const folders = await importedTopLevelFolders("bin/gitops-ci.ts");
    const toolsCopies = tools!.instructions.filter((instruction) => instruction.keyword === "COPY").map((instruction) => instruction.args.split(/\s+/)[0]!.replace(/\/$/, ""));
    const allowlist = (await readProjectFile(".dockerignore"))
      .split("\n")
      .filter((line) => line.startsWith("!"))
      .map((line) => line.slice(1).replace(/\/$/, ""));
    for (const folder of folders) {
      expect(toolsCopies, `tools stage copies ${folder}/ (kubernetes-schemas.sh runs the CLI)`).toContain(folder);
      expect(allowlist, `.dockerignore lets ${folder}/ into the build context`).toContain(folder);
    }
    // Read at run time, not imported: the shipped CRD schemas and the pins `doctor` and the default Kubernetes version read.
    for (const folder of ["schemas", "toolchain", "package.json"]) expect(allowlist).toContain(folder);
  });

  it("ends in a Node 24 image that runs as a non-root user with gitops-ci on PATH and the schemas on disk", () => {
    expect(final.from).toMatch(/^node:24[.-]/);
    const users = final.instructions.filter((instruction) => instruction.keyword === "USER").map((instruction) => instruction.args);
    expect(users.at(-1)).toBeDefined();
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    const shell = final.instructions.filter((instruction) => instruction.keyword === "RUN").flatMap(runCommands);
    expect(shell).toContain("ln -s /opt/gitops-ci/bin/gitops-ci.js /usr/local/bin/gitops-ci");
    const copies = final.instructions.filter((instruction) => instruction.keyword === "COPY").map((instruction) => instruction.args);
    expect(copies).toContain("--from=tools /out/schemas/ /opt/gitops-ci-tools/schemas/");
    const env = final.instructions.filter((instruction) => instruction.keyword === "ENV").map((instruction) => instruction.args).join(" ");
    expect(env).toContain("GITOPS_CI_TOOLS_DIR=/opt/gitops-ci-tools");
  });
});
