// What building the image cannot show; everything else (the tools at their pins, no test-only
// binary, the CLI's files, Node 24, the non-root user, the schemas) is tested on the built image
// itself by `npm run test:image` (test/image/image.image.test.ts).
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

describe("docker/Dockerfile", async () => {
  const text = await readProjectFile("docker/Dockerfile");
  const stages = parseDockerfile(text);
  const tools = stages.find((stage) => stage.name === "tools");

  it("starts from the official images unless told otherwise, so the pipeline's build is unchanged", () => {
    // test:image builds with local stand-ins for both: only these defaults decide what GitLab pulls.
    const globalArgs = text.split("\n").slice(
      0,
      text.split("\n").findIndex((line) => /^FROM\s/i.test(line)),
    );
    expect(globalArgs).toContain("ARG NODE_IMAGE=node:24-bookworm-slim");
    expect(globalArgs).toContain("ARG GO_IMAGE=golang:1.26-bookworm");
    expect(stages.map((stage) => stage.from)).toEqual(["${NODE_IMAGE}", "${GO_IMAGE}", "${NODE_IMAGE}"]);
  });

  it("copies only the toolchain pins before it builds the tools, so an app change reuses the tools layer", () => {
    expect(tools, "a stage named tools").toBeDefined();
    const instructions = tools!.instructions;
    const install = instructions.findIndex(
      (instruction) => instruction.keyword === "RUN" && runCommands(instruction).includes("bash toolchain/install.sh"),
    );
    expect(install).toBeGreaterThanOrEqual(0);
    const copies = instructions
      .slice(0, install)
      .filter((instruction) => instruction.keyword === "COPY" && !instruction.args.startsWith("--from="));
    expect(copies.map((instruction) => instruction.args)).toEqual(["toolchain/ toolchain/"]);
  });
});
