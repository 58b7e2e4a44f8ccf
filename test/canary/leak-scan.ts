// Runs gitops-ci commands through the real CLI and scans everything they leave behind (stdout,
// stderr, every file under the output folder) for a secret value in every form it can take.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { runCli } from "../../cli/main.ts";

export interface CommandRun {
  label: string;
  args: string[];
  /** The exit code the command must end with: a command that fails at startup leaks nothing trivially. */
  exitCode: number;
}

export interface CommandOutcome {
  label: string;
  exitCode: number;
  output: string;
}

export interface Transcript {
  outcomes: CommandOutcome[];
  /** Every command's output and every artifact, labelled. */
  text: string;
  artifacts: string[];
}

/** Shortest fragment looked for: shorter ones match ordinary text by chance. */
const MIN_FRAGMENT = 6;

/**
 * The forms a value leaks in: as it is, JSON-escaped, each line of a multi-line value, and base64 at
 * each of the three alignments it can have inside a longer encoded string (only the characters
 * that depend on the value alone).
 */
export function leakForms(value: string): string[] {
  const forms = new Set<string>([value, JSON.stringify(value).slice(1, -1)]);
  for (const line of value.split("\n")) if (line.trim().length >= MIN_FRAGMENT) forms.add(line.trim());
  const bytes = Buffer.from(value, "utf8");
  for (const offset of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString("base64");
    const start = Math.ceil((8 * offset) / 6);
    const end = Math.floor((8 * (offset + bytes.length)) / 6);
    forms.add(encoded.slice(start, end));
  }
  return [...forms].filter((form) => form.length >= MIN_FRAGMENT);
}

/** The first form of a value found in `text`, or undefined. */
export function findLeak(text: string, value: string): string | undefined {
  return leakForms(value).find((form) => text.includes(form));
}

export async function runCommands(
  cwd: string,
  env: Record<string, string | undefined>,
  runs: readonly Omit<CommandRun, "exitCode">[],
  outDir?: string,
): Promise<Transcript> {
  const outcomes: CommandOutcome[] = [];
  let text = "";
  for (const run of runs) {
    let output = "";
    const write = { write: (chunk: string) => (output += chunk) };
    const exitCode = await runCli(run.args, { cwd, env, stdout: write, stderr: write, cpus: 2 });
    outcomes.push({ label: run.label, exitCode, output });
    text += `\n### ${run.label} (exit ${exitCode})\n${output}`;
  }
  const artifacts = outDir ? await filesUnder(outDir) : [];
  for (const file of artifacts) text += `\n### ${file}\n${await readFile(file, "utf8")}`;
  return { outcomes, text, artifacts };
}

/** Each command's exit code by label, to compare with what the runs expect in one assertion. */
export function exitCodes(transcript: Transcript): Record<string, number> {
  return Object.fromEntries(transcript.outcomes.map((outcome) => [outcome.label, outcome.exitCode]));
}

export function expectedExitCodes(runs: readonly CommandRun[]): Record<string, number> {
  return Object.fromEntries(runs.map((run) => [run.label, run.exitCode]));
}

export async function filesUnder(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
  } catch {
    return [];
  }
}

/** The commands that read a repository and write artifacts, with the exit codes of a run with error findings. */
export function repositoryCommands(root: string, out: string): CommandRun[] {
  return [
    { label: "plan", args: ["plan", root], exitCode: 0 },
    { label: "render", args: ["render", root, "--out", path.join(out, "render")], exitCode: 1 },
    { label: "check", args: ["check", root, "--out", path.join(out, "check")], exitCode: 1 },
    { label: "check --json", args: ["check", root, "--json"], exitCode: 1 },
    {
      label: "report --dry-run",
      args: ["report", "--from", path.join(out, "check"), "--dry-run", path.join(out, "note", "note.md"), "--out", path.join(out, "note")],
      exitCode: 0,
    },
    { label: "diff (no cluster)", args: ["diff", root, "--out", path.join(out, "diff")], exitCode: 2 },
  ];
}
