// Parses the command line, builds the task context and maps the outcome to an exit code.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { createTaskContext, type TaskContext } from "../core/context.ts";
import { describeError, ExitCode, exitCodeFor, UserError } from "../core/errors.ts";
import type { WritableLike } from "../core/output.ts";
import type { TerminalOptions } from "../core/progress.ts";
import { Redactor } from "../core/redaction.ts";
import { check } from "../tasks/check/index.ts";
import { diffAgainst } from "../tasks/diff/against.ts";
import { diff } from "../tasks/diff/index.ts";
import { doctor } from "../tasks/doctor/index.ts";
import { drift } from "../tasks/drift/index.ts";
import { envAdd } from "../tasks/env/index.ts";
import { init } from "../tasks/init/index.ts";
import { plan } from "../tasks/plan/index.ts";
import { promote } from "../tasks/promote/index.ts";
import { collectChildren, generatePipeline, generatePromoteJobs } from "../tasks/pipeline/index.ts";
import { render } from "../tasks/render/index.ts";
import { report } from "../tasks/report/index.ts";
import { schemas } from "../tasks/schemas/index.ts";

export interface CliEnvironment {
  cwd: string;
  env: Record<string, string | undefined>;
  stdout: WritableLike;
  stderr: WritableLike;
  cpus: number;
  /** Whether each stream is a terminal (process.stdout.isTTY): colours and the live progress line. */
  stdoutIsTTY?: boolean;
  stderrIsTTY?: boolean;
}

interface Command {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig["options"]>;
  run(context: TaskContext, values: Record<string, unknown>, positionals: string[]): Promise<number>;
}

const common = {
  config: { type: "string", short: "c" },
  json: { type: "boolean", default: false },
} as const;

/**
 * Every command that renders takes them; GITOPS_CI_CACHE_DIR is the default cache dir. The cache
 * also keeps the charts of HelmReleases; --offline renders charts only from it.
 */
const cacheOption = { "cache-dir": { type: "string" }, offline: { type: "boolean", default: false } } as const;

const VERSION = "0.1.0";

const COMMANDS: Record<string, Command> = {
  init: {
    summary:
      "show what gitops-ci finds in a repository, and set it up: gitops-ci.yaml where needed, the .gitlab-ci.yml include, the CI/CD variables",
    usage: "gitops-ci init [DIR] [--write] [--component REF] [--image IMAGE] [--config FILE] [--cache-dir DIR]",
    options: {
      config: common.config,
      ...cacheOption,
      write: { type: "boolean", default: false },
      component: { type: "string" },
      image: { type: "string" },
    },
    run: async (context, values, positionals) =>
      (
        await init(context, {
          dir: positionals[0] ?? ".",
          write: values["write"] === true,
          version: VERSION,
          ...optionalString("configFile", values["config"]),
          ...optionalString("component", values["component"]),
          ...optionalString("image", values["image"]),
        })
      ).exitCode,
  },
  check: {
    summary: "render and check every overlay (the main job)",
    usage:
      "gitops-ci check [DIR] [--changed-since REV] [--only ENV/LAYER]... [--out DIR] [--json] [--config FILE] [--kubernetes-version X.Y.Z] [--strict] [--concurrency N] [--cache-dir DIR] [--offline]",
    options: {
      ...common,
      ...cacheOption,
      out: { type: "string", short: "o" },
      concurrency: { type: "string" },
      "kubernetes-version": { type: "string" },
      strict: { type: "boolean", default: false },
      "changed-since": { type: "string" },
      only: { type: "string", multiple: true },
    },
    run: async (context, values, positionals) =>
      (
        await check(context, {
          ...(Array.isArray(values["only"]) ? { only: values["only"].map(String) } : {}),
          dir: positionals[0] ?? ".",
          json: values["json"] === true,
          strict: values["strict"] === true,
          ...optionalString("configFile", values["config"]),
          ...optionalString("outDir", values["out"]),
          ...optionalString("kubernetesVersion", values["kubernetes-version"]),
          ...optionalString("changedSince", values["changed-since"]),
        })
      ).exitCode,
  },
  render: {
    summary: "render every overlay with kustomize, as Flux's kustomize-controller does",
    usage:
      "gitops-ci render [DIR] [--out DIR] [--config FILE] [--kubernetes-version X.Y.Z] [--concurrency N] [--cache-dir DIR] [--offline]",
    options: {
      config: common.config,
      ...cacheOption,
      out: { type: "string", short: "o" },
      concurrency: { type: "string" },
      "kubernetes-version": { type: "string" },
    },
    run: async (context, values, positionals) =>
      (
        await render(context, {
          dir: positionals[0] ?? ".",
          ...optionalString("configFile", values["config"]),
          ...optionalString("outDir", values["out"]),
          ...optionalString("kubernetesVersion", values["kubernetes-version"]),
        })
      ).exitCode,
  },
  plan: {
    summary: "print environments × layers × overlay paths, in reconcile order",
    usage: "gitops-ci plan [DIR] [--json] [--config FILE] [--cache-dir DIR] [--offline]",
    options: { ...common, ...cacheOption },
    run: async (context, values, positionals) =>
      (
        await plan(context, {
          dir: positionals[0] ?? ".",
          json: values["json"] === true,
          ...optionalString("configFile", values["config"]),
        })
      ).exitCode,
  },
  schemas: {
    summary: "write the JSON schemas kubeconform needs offline: CRDs and core Kubernetes kinds",
    usage:
      "gitops-ci schemas --out DIR [--crds FILE_OR_DIR]... [--from-rendered DIR] [--from-cluster [--context NAME]] [--kubernetes-openapi swagger.json --kubernetes-version 1.35.4]",
    options: {
      out: { type: "string", short: "o" },
      crds: { type: "string", multiple: true },
      "from-rendered": { type: "string" },
      "from-cluster": { type: "boolean", default: false },
      context: { type: "string" },
      "kubernetes-openapi": { type: "string" },
      "kubernetes-version": { type: "string" },
    },
    run: async (context, values, positionals) => {
      if (positionals.length > 0) {
        throw new UserError(`unexpected argument "${positionals[0]}"`, {
          hint: "repeat --crds for each file or folder: --crds a.yaml --crds crds/",
        });
      }
      const outDir = values["out"];
      if (typeof outDir !== "string") throw new UserError("--out is required", { hint: "gitops-ci schemas --out DIR ..." });
      const crdPaths = Array.isArray(values["crds"]) ? values["crds"].map(String) : [];
      return (
        await schemas(context, {
          outDir,
          crdPaths,
          ...optionalString("renderedDir", values["from-rendered"]),
          ...(values["from-cluster"] === true ? { fromCluster: optionalString("kubeContext", values["context"]) } : {}),
          ...optionalString("kubernetesOpenApi", values["kubernetes-openapi"]),
          ...optionalString("kubernetesVersion", values["kubernetes-version"]),
        })
      ).exitCode;
    },
  },
  pipeline: {
    summary: "write the child pipeline of a large fleet from the plan, or collect its reports in the parent",
    usage:
      "gitops-ci pipeline --from-plan [DIR] --out FILE [--changed-since REV] [--image IMAGE] [--kubernetes-version X.Y.Z] [--strict] [--config FILE] [--cache-dir DIR] [--offline]\n" +
      "       gitops-ci pipeline --collect-children --child FILE [--out DIR] [--trigger-job NAME]\n" +
      "       gitops-ci pipeline --promote-jobs [DIR] --out FILE [--image IMAGE] [--token-variable NAME] [--config FILE]",
    options: {
      config: common.config,
      ...cacheOption,
      "from-plan": { type: "boolean", default: false },
      "collect-children": { type: "boolean", default: false },
      "promote-jobs": { type: "boolean", default: false },
      "token-variable": { type: "string" },
      out: { type: "string", short: "o" },
      child: { type: "string" },
      "trigger-job": { type: "string" },
      image: { type: "string" },
      "changed-since": { type: "string" },
      "kubernetes-version": { type: "string" },
      strict: { type: "boolean", default: false },
    },
    run: async (context, values, positionals) => {
      if (values["collect-children"] === true) {
        const childFile = values["child"];
        if (typeof childFile !== "string")
          throw new UserError("--child is required with --collect-children", { hint: "pass the file `--from-plan --out` wrote" });
        return (
          await collectChildren(context, {
            childFile,
            ...optionalString("outDir", values["out"]),
            ...optionalString("triggerJob", values["trigger-job"]),
          })
        ).exitCode;
      }
      if (values["promote-jobs"] === true) {
        const out = values["out"];
        if (typeof out !== "string")
          throw new UserError("--out is required with --promote-jobs", { hint: "gitops-ci pipeline --promote-jobs . --out promote.yml" });
        return (
          await generatePromoteJobs(context, {
            dir: positionals[0] ?? ".",
            out,
            ...optionalString("configFile", values["config"]),
            ...optionalString("image", values["image"]),
            ...optionalString("tokenVariable", values["token-variable"]),
          })
        ).exitCode;
      }
      if (values["from-plan"] !== true)
        throw new UserError("say what to do: --from-plan, --collect-children or --promote-jobs", {
          hint: "gitops-ci pipeline --from-plan . --out child.yml",
        });
      const out = values["out"];
      if (typeof out !== "string")
        throw new UserError("--out is required with --from-plan", { hint: "gitops-ci pipeline --from-plan . --out child.yml" });
      return (
        await generatePipeline(context, {
          dir: positionals[0] ?? ".",
          out,
          strict: values["strict"] === true,
          ...optionalString("configFile", values["config"]),
          ...optionalString("image", values["image"]),
          ...optionalString("changedSince", values["changed-since"]),
          ...optionalString("kubernetesVersion", values["kubernetes-version"]),
        })
      ).exitCode;
    },
  },
  report: {
    summary: "post the check (and diff) results to the merge request as one note, updated in place",
    usage:
      "gitops-ci report --from DIR [--from DIR]... [--plan DIR [--changed-since REV] [--config FILE]] [--dry-run FILE] [--out DIR] [--key NAME]",
    options: {
      from: { type: "string", multiple: true },
      "dry-run": { type: "string" },
      out: { type: "string", short: "o" },
      key: { type: "string" },
      plan: { type: "string" },
      "changed-since": { type: "string" },
      config: { type: "string", short: "c" },
    },
    run: async (context, values) =>
      (
        await report(context, {
          from: Array.isArray(values["from"]) ? values["from"].map(String) : [],
          ...optionalString("dryRun", values["dry-run"]),
          ...optionalString("outDir", values["out"]),
          ...optionalString("key", values["key"]),
          ...optionalString("plan", values["plan"]),
          ...optionalString("changedSince", values["changed-since"]),
          ...optionalString("configFile", values["config"]),
        })
      ).exitCode,
  },
  diff: {
    summary: "what Flux would create, change and prune in each cluster: against the live cluster, or (--against REV) against REV's render",
    usage:
      "gitops-ci diff [DIR] [--env ENV] [--context NAME] [--out DIR] [--json] [--config FILE] [--api-concurrency N] [--cache-dir DIR] [--offline]\n" +
      "       gitops-ci diff --against REV [DIR] [--out DIR] [--json] [--show-noise] [--config FILE] [--cache-dir DIR] [--offline]",
    options: {
      ...common,
      ...cacheOption,
      env: { type: "string", short: "e" },
      context: { type: "string" },
      out: { type: "string", short: "o" },
      "api-concurrency": { type: "string" },
      against: { type: "string" },
      "show-noise": { type: "boolean", default: false },
    },
    run: async (context, values, positionals) => {
      if (typeof values["against"] === "string") {
        if (values["env"] !== undefined || values["context"] !== undefined)
          throw new UserError("--against compares two renders and reads no cluster: --env and --context do not apply");
        return (
          await diffAgainst(context, {
            dir: positionals[0] ?? ".",
            against: values["against"],
            json: values["json"] === true,
            showNoise: values["show-noise"] === true,
            ...optionalString("configFile", values["config"]),
            ...optionalString("outDir", values["out"]),
          })
        ).exitCode;
      }
      return (
        await diff(context, {
          dir: positionals[0] ?? ".",
          json: values["json"] === true,
          ...optionalString("configFile", values["config"]),
          ...optionalString("environment", values["env"]),
          ...optionalString("kubeContext", values["context"]),
          ...optionalString("outDir", values["out"]),
          ...optionalPositive("apiConcurrency", values["api-concurrency"]),
        })
      ).exitCode;
    },
  },
  drift: {
    summary: "scheduled: diff each environment's render against its cluster, keep one GitLab issue per environment",
    usage: "gitops-ci drift [DIR] [--env ENV] [--out DIR] [--json] [--config FILE] [--api-concurrency N] [--cache-dir DIR] [--offline]",
    options: {
      ...common,
      ...cacheOption,
      env: { type: "string", short: "e" },
      out: { type: "string", short: "o" },
      "api-concurrency": { type: "string" },
    },
    run: async (context, values, positionals) =>
      (
        await drift(context, {
          dir: positionals[0] ?? ".",
          json: values["json"] === true,
          ...optionalString("configFile", values["config"]),
          ...optionalString("environment", values["env"]),
          ...optionalString("outDir", values["out"]),
          ...optionalPositive("apiConcurrency", values["api-concurrency"]),
        })
      ).exitCode,
  },
  promote: {
    summary: "move one environment's image tags, chart versions and values to another, in one merge request",
    usage:
      "gitops-ci promote [DIR] --to ENV [--from ENV] [--layer LAYER] [--component NAME] [--dry-run] [--target-branch BRANCH] [--json] [--config FILE] [--cache-dir DIR] [--offline]",
    options: {
      ...common,
      ...cacheOption,
      from: { type: "string" },
      to: { type: "string" },
      layer: { type: "string" },
      component: { type: "string" },
      "dry-run": { type: "boolean", default: false },
      "target-branch": { type: "string" },
    },
    run: async (context, values, positionals) => {
      const to = values["to"];
      if (typeof to !== "string") throw new UserError("--to is required", { hint: "gitops-ci promote --from staging --to prod" });
      return (
        await promote(context, {
          dir: positionals[0] ?? ".",
          to,
          json: values["json"] === true,
          dryRun: values["dry-run"] === true,
          ...optionalString("from", values["from"]),
          ...optionalString("layer", values["layer"]),
          ...optionalString("component", values["component"] || undefined),
          ...optionalString("targetBranch", values["target-branch"]),
          ...optionalString("configFile", values["config"]),
        })
      ).exitCode;
    },
  },
  env: {
    summary: "add an environment: copy another's overlays in every layer and list the values to set",
    usage: "gitops-ci env add NAME --from ENV [DIR] [--json] [--config FILE] [--cache-dir DIR] [--offline]",
    options: { ...common, ...cacheOption, from: { type: "string" } },
    run: async (context, values, positionals) => {
      const [action, name, dir] = positionals;
      if (action !== "add" || !name)
        throw new UserError("usage: gitops-ci env add NAME --from ENV [DIR]", { hint: "env add is the only env command" });
      const from = values["from"];
      if (typeof from !== "string") throw new UserError("--from is required", { hint: `gitops-ci env add ${name} --from staging` });
      return (
        await envAdd(context, {
          dir: dir ?? ".",
          name,
          from,
          json: values["json"] === true,
          ...optionalString("configFile", values["config"]),
        })
      ).exitCode;
    },
  },
  doctor: {
    summary: "print each external tool, its version and where it came from",
    usage: "gitops-ci doctor [--json]",
    options: { json: common.json },
    run: async (context, values) => (await doctor(context, { json: values["json"] === true })).exitCode,
  },
};

export async function runCli(argv: readonly string[], environment: CliEnvironment): Promise<number> {
  const redactor = new Redactor();
  const [name, ...rest] = argv;
  const write = (stream: WritableLike, text: string) => void stream.write(redactor.redact(text.endsWith("\n") ? text : `${text}\n`));
  if (!name || name === "--help" || name === "-h" || name === "help") {
    write(environment.stdout, usage());
    return name ? ExitCode.ok : ExitCode.couldNotRun;
  }
  if (name === "--version" || name === "-V") {
    write(environment.stdout, `gitops-ci ${VERSION}`);
    return ExitCode.ok;
  }
  const command = COMMANDS[name];
  if (!command) {
    write(environment.stderr, `error: unknown command "${name}"\n\n${usage()}`);
    return ExitCode.couldNotRun;
  }
  try {
    const { values: parsedValues, positionals } = parseArgs({
      args: [...rest],
      options: { ...command.options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
    const values = parsedValues as Record<string, unknown>;
    if (values["help"]) {
      write(environment.stdout, `${command.summary}\n\nusage: ${command.usage}`);
      return ExitCode.ok;
    }
    const context = createTaskContext({
      cwd: environment.cwd,
      env: environment.env,
      stdout: environment.stdout,
      stderr: environment.stderr,
      concurrency: parseConcurrency(values["concurrency"], environment.cpus),
      redactor,
      terminal: terminalOptions(environment, values["json"] === true),
      ...optionalString("cacheDir", values["cache-dir"] ?? (environment.env["GITOPS_CI_CACHE_DIR"] || undefined)),
      ...buildTimeout(environment.env["GITOPS_CI_BUILD_TIMEOUT"]),
      offline: values["offline"] === true,
    });
    return await command.run(context, values, positionals);
  } catch (error) {
    const usageProblem = (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
    const message = usageProblem
      ? `error: ${(error as Error).message}\nusage: ${command.usage}`
      : describeError(error, { stack: environment.env["GITOPS_CI_DEBUG"] === "1" });
    write(environment.stderr, message);
    return usageProblem ? ExitCode.couldNotRun : exitCodeFor(error);
  }
}

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`);
  return [
    "gitops-ci: checks a Flux v2 GitOps repository in GitLab CI",
    "",
    "usage: gitops-ci <command> [options]",
    "",
    "commands:",
    ...lines,
    "",
    "Run `gitops-ci <command> --help` for a command's options.",
    "Exit codes: 0 clean, 1 findings of error severity, 2 could not run (bad usage, a tool failed, or a bug in gitops-ci).",
    "GITOPS_CI_DEBUG=1 adds the stack trace to an internal error.",
    "GITOPS_CI_CACHE_DIR=DIR keeps renders and fetched charts between runs, as --cache-dir DIR does;",
    "--offline renders HelmReleases only from charts in that cache (a chart it lacks is a finding).",
    "GITOPS_CI_BUILD_TIMEOUT=SECONDS bounds one Kustomization's build (default 120).",
  ].join("\n");
}

/**
 * The live line only on a terminal's stderr and never in a CI job log; colours only on a terminal's
 * stdout, never with NO_COLOR (no-color.org: set and not empty) or --json; GitLab's job-log sections
 * only in a GitLab CI job.
 */
export function terminalOptions(environment: CliEnvironment, json: boolean): TerminalOptions {
  const env = environment.env;
  const dumb = env["TERM"] === "dumb";
  const ci = env["CI"] === "true" || env["GITLAB_CI"] === "true";
  return {
    live: environment.stderrIsTTY === true && !dumb && !ci,
    color: environment.stdoutIsTTY === true && !dumb && !json && !env["NO_COLOR"],
    sections: env["GITLAB_CI"] === "true",
  };
}

function parseConcurrency(value: unknown, cpus: number): number {
  if (value === undefined) return cpus;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1)
    throw new UserError(`--concurrency must be a positive integer, got ${JSON.stringify(value)}`);
  return parsed;
}

/** GITOPS_CI_BUILD_TIMEOUT: seconds one Kustomization's build may take. */
function buildTimeout(value: string | undefined): { buildTimeoutMs?: number } {
  if (value === undefined || value === "") return {};
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new UserError(`GITOPS_CI_BUILD_TIMEOUT must be a positive number of seconds, got "${value}"`);
  return { buildTimeoutMs: seconds * 1000 };
}

function optionalPositive<K extends string>(key: K, value: unknown): Partial<Record<K, number>> {
  if (value === undefined) return {};
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1)
    throw new UserError(
      `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be a positive integer, got ${JSON.stringify(value)}`,
    );
  return { [key]: parsed } as Record<K, number>;
}

function optionalString<K extends string>(key: K, value: unknown): Partial<Record<K, string>> {
  return typeof value === "string" ? ({ [key]: value } as Record<K, string>) : {};
}
