// Runs pipeline files with gitlab-ci-local (a dev dependency): GitLab's CI JSON schema validation,
// rules, needs and parallel:matrix as GitLab evaluates them, and jobs for real in shell mode.
// Each run gets a throwaway git repository holding a GitOps fleet, the component under test at
// pipeline/templates/, and the case's .gitlab-ci.yml; jobs find `gitops-ci` on PATH through a shim
// that runs this checkout's CLI (its pinned tools and schemas come from .tools/, as in `npm run`).
import { execFile } from "node:child_process";
import { chmod, copyFile, cp, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { PROJECT_ROOT } from "../../core/toolchain.ts";
import { makeTempDir } from "../helpers/temp-repo.ts";

export const CASES_DIR = path.join(PROJECT_ROOT, "test", "pipeline", "cases");
export const COMPONENT = "pipeline/templates/gitops-ci.yml";
const GITLAB_CI_LOCAL = path.join(PROJECT_ROOT, "node_modules", ".bin", "gitlab-ci-local");
const NODE_BIN = path.join(PROJECT_ROOT, "node_modules", ".bin");

export interface RunResult {
  exitCode: number;
  stdout: string;
  /** stdout, then stderr. */
  output: string;
}

export interface PipelineRepo {
  root: string;
  git(...args: string[]): Promise<string>;
  /** Runs gitlab-ci-local in the repository. */
  run(args: readonly string[], options?: { timeoutMs?: number }): Promise<RunResult>;
  /** Files a job left in gitlab-ci-local's artifact store, relative to its artifact folder. */
  artifactsOf(jobName: string): Promise<string[]>;
  readArtifact(jobName: string, file: string): Promise<string>;
}

/**
 * A git repository with `fleet` (a folder under the project, e.g. examples/layout-a) at its root,
 * the component at pipeline/templates/, and the pipeline (a file, or its text) as .gitlab-ci.yml,
 * all committed on main.
 */
export async function makePipelineRepo(options: { fleet?: string } & ({ pipelineFile: string } | { pipelineText: string })): Promise<PipelineRepo> {
  const root = await makeTempDir("gitops-ci-pipeline-");
  const home = await makeTempDir("gitops-ci-pipeline-home-");
  if (options.fleet) await cp(path.join(PROJECT_ROOT, options.fleet), root, { recursive: true });
  await mkdir(path.join(root, path.dirname(COMPONENT)), { recursive: true });
  await copyFile(path.join(PROJECT_ROOT, COMPONENT), path.join(root, COMPONENT));
  await writeFile(path.join(root, ".gitlab-ci.yml"), "pipelineText" in options ? options.pipelineText : await readFile(options.pipelineFile, "utf8"));

  // `gitops-ci` for the jobs: this checkout's CLI under the Node 24 that npm ci installed.
  const shimDir = path.join(home, "bin");
  await mkdir(shimDir, { recursive: true });
  await writeFile(path.join(shimDir, "gitops-ci"), `#!/bin/sh\nexec "${path.join(NODE_BIN, "node")}" "${path.join(PROJECT_ROOT, "bin", "gitops-ci.ts")}" "$@"\n`);
  await chmod(path.join(shimDir, "gitops-ci"), 0o755);

  const env: NodeJS.ProcessEnv = {
    PATH: [shimDir, NODE_BIN, process.env["PATH"] ?? "/usr/bin:/bin"].join(path.delimiter),
    HOME: home,
    LANG: "C.UTF-8",
    // The tests set CI_PIPELINE_SOURCE on purpose: no warning for it.
    GCL_IGNORE_PREDEFINED_VARS: "CI_PIPELINE_SOURCE",
    // No terminal: plain job logs.
    NO_COLOR: "1",
    FORCE_COLOR: "0",
  };
  const exec = (file: string, args: readonly string[], timeoutMs: number) =>
    new Promise<RunResult>((resolve) => {
      execFile(file, [...args], { cwd: root, env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ exitCode: code, stdout, output: `${stdout}${stderr}` });
      });
    });

  const git = async (...args: string[]) => {
    const result = await exec("git", ["-c", "user.name=gitops-ci-test", "-c", "user.email=test@example.com", ...args], 30_000);
    if (result.exitCode !== 0) throw new Error(`git ${args.join(" ")} failed:\n${result.output}`);
    return result.output.trim();
  };
  await git("init", "-q", "-b", "main");
  // gitlab-ci-local derives CI_PROJECT_PATH and friends from the origin remote.
  await git("remote", "add", "origin", "https://gitlab.example.com/platform/fleet.git");
  await git("add", "-A");
  await git("commit", "-q", "-m", "fleet");

  const artifactsRoot = path.join(root, ".gitlab-ci-local", "artifacts");
  const artifactDir = async (jobName: string) => {
    // gitlab-ci-local encodes a job name into its folder name; match it by its readable parts.
    const wanted = jobName.replace(/[^A-Za-z0-9-]+/g, "");
    const dirs = await readdir(artifactsRoot).catch(() => [] as string[]);
    const found = dirs.find((dir) => decodeJobDir(dir) === wanted);
    if (!found) throw new Error(`no artifacts of ${jobName} in ${artifactsRoot}: ${dirs.join(", ")}`);
    return path.join(artifactsRoot, found);
  };

  return {
    root,
    git,
    run: (args, runOptions = {}) => exec(GITLAB_CI_LOCAL, ["--no-color", ...args], runOptions.timeoutMs ?? 240_000),
    async artifactsOf(jobName) {
      const dir = await artifactDir(jobName);
      const files = await readdir(dir, { recursive: true, withFileTypes: true });
      return files
        .filter((entry) => entry.isFile())
        .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
        .sort();
    },
    async readArtifact(jobName, file) {
      return readFile(path.join(await artifactDir(jobName), file), "utf8");
    },
  };
}

/** gitlab-ci-local's folder names replace `:`, ` `, `[`, `]` with letter pairs; keep the readable rest. */
function decodeJobDir(dir: string): string {
  return dir.replace(/Og|Oi|Bb|XQ/g, "").replace(/[^A-Za-z0-9-]+/g, "");
}

export interface JobEvent {
  job: string;
  event: "start" | "finish";
  failed: boolean;
}

/** Job starts and ends in the order gitlab-ci-local logged them. */
export function jobEvents(output: string): JobEvent[] {
  const events: JobEvent[] = [];
  for (const line of output.split("\n")) {
    const start = /^(\S.*?)\s+starting shell\b/.exec(line);
    if (start) events.push({ job: normalizeJob(start[1]!), event: "start", failed: false });
    const finish = /^(\S.*?)\s+finished in (.*)$/.exec(line);
    if (finish) events.push({ job: normalizeJob(finish[1]!), event: "finish", failed: /\bFAIL\b/.test(finish[2]!) });
  }
  return events;
}

function normalizeJob(name: string): string {
  return name.replace(/\s+/g, " ").trim();
}

/** A job as `gitlab-ci-local --list-json` shows it (rules evaluated, matrix expanded). */
export interface ListedJob {
  name: string;
  stage: string;
  when: string;
  allow_failure: boolean;
  needs: { job: string; artifacts?: boolean; parallel?: { matrix: Record<string, string[]>[] } }[] | null;
}

/** The jobs a pipeline would create: `--list-json` also lists the `when: never` ones. */
export function parseListJson(stdout: string): ListedJob[] {
  return (JSON.parse(stdout) as ListedJob[]).filter((job) => job.when !== "never");
}
