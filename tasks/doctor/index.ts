// `gitops-ci doctor`: which binaries a run would use, their versions, and where they came from.
import type { TaskContext } from "../../core/context.ts";
import { ExitCode, UserError } from "../../core/errors.ts";
import { formatTable } from "../../core/report/terminal.ts";
import { pinnedVersion, TOOLS, type ToolSource } from "../../core/toolchain.ts";

export interface ToolReport {
  name: string;
  pinned: string | undefined;
  version: string | undefined;
  path: string | undefined;
  source: ToolSource | undefined;
  problem: string | undefined;
}

export interface DoctorResult {
  tools: ToolReport[];
  exitCode: ExitCode;
}

export async function doctor(context: TaskContext, options: { json: boolean }): Promise<DoctorResult> {
  const tools = await Promise.all(TOOLS.map((tool) => inspectTool(context, tool)));
  if (options.json) {
    context.output.out(JSON.stringify({ toolsDir: context.toolchain.toolsDir, tools }, null, 2));
  } else {
    const rows = tools.map((tool) => [
      tool.name,
      tool.version ?? "-",
      tool.pinned ?? "-",
      tool.source ? `${tool.source}: ${tool.path}` : "missing",
    ]);
    context.output.out(formatTable(["TOOL", "VERSION", "PINNED", "FROM"], rows));
    for (const tool of tools.filter((t) => t.problem)) context.output.err(`${tool.name}: ${tool.problem}`);
  }
  const missing = tools.some((tool) => tool.path === undefined);
  return { tools, exitCode: missing ? ExitCode.couldNotRun : ExitCode.ok };
}

async function inspectTool(context: TaskContext, tool: (typeof TOOLS)[number]): Promise<ToolReport> {
  const pinned = await pinnedVersion(tool);
  const report: ToolReport = { name: tool.name, pinned, version: undefined, path: undefined, source: undefined, problem: undefined };
  try {
    const location = await context.toolchain.locate(tool.name);
    report.path = location.path;
    report.source = location.source;
  } catch (error) {
    report.problem = error instanceof UserError ? `${error.message}; ${error.hint ?? ""}`.trim() : String(error);
    return report;
  }
  const result = await context.runner.run(tool.name, tool.versionArgs, { timeoutMs: 30_000 });
  report.version = extractVersion(`${result.stdout}\n${result.stderr}`);
  if (result.exitCode !== 0 && !report.version) report.problem = `\`${result.command}\` exited with ${result.exitCode}`;
  else if (pinned && report.version && !sameVersion(report.version, pinned)) {
    report.problem = `version ${report.version} differs from the pin ${pinned}; results may differ from CI (run \`npm run setup\` and put .tools/bin first, or update the pin)`;
  }
  return report;
}

export function extractVersion(output: string): string | undefined {
  return /v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?/.exec(output)?.[0];
}

function sameVersion(a: string, b: string): boolean {
  return a.replace(/^v/, "") === b.replace(/^v/, "");
}
