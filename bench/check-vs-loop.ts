// npm run bench: `gitops-ci check` on a generated fleet against the sequential
// `kustomize build | kubeconform` loop that teams copy from the Flux example repository, and against
// the floor of one `kustomize build` process per overlay with every CPU busy; then the same check
// again on its warm render cache, and a cold check of a fleet three times as large. One run, same
// tree, same binaries. A report, not a test: it prints each number beside its target and exits 0.
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import {
  coreSchemaDir,
  CORE_SCHEMA_TEMPLATE,
  CRD_SCHEMA_TEMPLATE,
  resolveKubernetesVersion,
  SHIPPED_CRD_SCHEMAS,
} from "../core/schemas/locations.ts";
import { createToolchain, defaultKubernetesVersion, PROJECT_ROOT } from "../core/toolchain.ts";
import { runMeasured, type MeasuredRun } from "./process-tree.ts";
import { writeSyntheticFleet } from "./synthetic-fleet.ts";

const { values } = parseArgs({
  options: {
    overlays: { type: "string", default: "300" },
    "large-overlays": { type: "string", default: "1000" },
    workloads: { type: "string", default: "20" },
    runs: { type: "string", default: "1" },
  },
});

const LAYERS = 3; // synthetic-fleet.ts: controllers, configs, apps per environment
const cpus = availableParallelism();
const env = { ...process.env };
const toolchain = createToolchain(env);
const work = await mkdtemp(path.join(tmpdir(), "gitops-ci-bench-"));
const gitopsCi = [path.join(PROJECT_ROOT, "bin/gitops-ci.ts")];

interface Row {
  measure: string;
  value: string;
  target: string;
  pass: boolean | undefined;
}

try {
  const load = loadavg();
  const runs = Math.max(1, Number(values.runs));
  const version = await resolveKubernetesVersion(toolchain.toolsDir, await defaultKubernetesVersion());
  const [kustomize, kubeconform] = await Promise.all([toolchain.resolve("kustomize"), toolchain.resolve("kubeconform")]);
  const fleet = await generate("fleet", Number(values.overlays));
  console.log(
    `fleet: ${fleet.overlays.length} overlays, ${fleet.objects} objects; ${cpus} CPUs; load average ${load.map((n) => n.toFixed(1)).join(" ")}; Kubernetes ${version}`,
  );
  if (load[0]! > cpus)
    console.log(
      `note: the load average (${load[0]!.toFixed(1)}) is above the CPU count: other work shares this machine and every number below.`,
    );

  // The loop from the Flux example's scripts/validate.sh, with offline schemas instead of downloads.
  const loop = [
    "set -euo pipefail",
    'for dir in "$@"; do',
    `  '${kustomize}' build "$dir" --load-restrictor=LoadRestrictionsNone | '${kubeconform}' -strict -ignore-missing-schemas -kubernetes-version ${version} \\`,
    `    -schema-location '${path.join(coreSchemaDir(toolchain.toolsDir), CORE_SCHEMA_TEMPLATE)}' -schema-location '${path.join(SHIPPED_CRD_SCHEMAS, CRD_SCHEMA_TEMPLATE)}' -summary - > /dev/null`,
    "done",
  ].join("\n");
  // The floor: kustomize alone, one process per overlay, as many at once as there are CPUs.
  const floor = `printf '%s\\0' "$@" | xargs -0 -P ${cpus} -n 1 '${kustomize}' build --load-restrictor=LoadRestrictionsNone > /dev/null`;

  const loopRuns: MeasuredRun[] = [];
  const floorRuns: MeasuredRun[] = [];
  const coldRuns: MeasuredRun[] = [];
  const warmRuns: MeasuredRun[] = [];
  let profile: EngineProfile | undefined;
  for (let run = 1; run <= runs; run += 1) {
    loopRuns.push(await measured("sequential loop", "bash", ["-c", loop, "bash", ...fleet.overlays], fleet.root));
    floorRuns.push(await measured("parallel kustomize", "bash", ["-c", floor, "bash", ...fleet.overlays], fleet.root));
    const cacheDir = await mkdtemp(path.join(work, "cache-"));
    coldRuns.push(await measured("cold check", process.execPath, [...gitopsCi, "check", fleet.root, "--cache-dir", cacheDir], fleet.root));
    warmRuns.push(await measured("warm check", process.execPath, [...gitopsCi, "check", fleet.root, "--cache-dir", cacheDir], fleet.root));
    profile = await engineProfile(cacheDir);
    console.log(
      `run ${run}: loop ${seconds(loopRuns.at(-1))}, parallel kustomize ${seconds(floorRuns.at(-1))}, cold check ${seconds(coldRuns.at(-1))}, warm check ${seconds(warmRuns.at(-1))}`,
    );
  }
  await rm(fleet.root, { recursive: true, force: true });

  const largeOverlays = Number(values["large-overlays"]);
  let large: { overlays: number; run: MeasuredRun } | undefined;
  if (largeOverlays > 0) {
    const largeFleet = await generate("large", largeOverlays);
    const cacheDir = await mkdtemp(path.join(work, "cache-large-"));
    large = {
      overlays: largeFleet.overlays.length,
      run: await measured(
        "large cold check",
        process.execPath,
        [...gitopsCi, "check", largeFleet.root, "--cache-dir", cacheDir],
        largeFleet.root,
      ),
    };
    console.log(
      `large fleet: ${large.overlays} overlays, cold check ${seconds(large.run)}, peak memory ${megabytes(large.run.peakRssBytes)}`,
    );
    await rm(largeFleet.root, { recursive: true, force: true });
  }

  const loopS = median(loopRuns);
  const floorS = median(floorRuns);
  const coldS = median(coldRuns);
  const warmS = median(warmRuns);
  const n = fleet.overlays.length;
  const rows: Row[] = [
    ratioRow(`cold check vs sequential loop (${n})`, loopS, coldS, 4),
    {
      measure: `cold check vs parallel kustomize floor (${n}, ${cpus} at once)`,
      value:
        floorS === undefined || coldS === undefined
          ? "n/a"
          : `${(floorS / coldS).toFixed(2)}x (${coldS.toFixed(1)} s vs ${floorS.toFixed(1)} s)`,
      target: "> 1x (faster)",
      pass: floorS === undefined || coldS === undefined ? undefined : coldS < floorS,
    },
    {
      measure: `warm re-check, % of cold (${n})`,
      value: warmS === undefined || coldS === undefined ? "n/a" : `${((100 * warmS) / coldS).toFixed(1)} % (${warmS.toFixed(1)} s)`,
      target: "<= 15 %",
      pass: warmS === undefined || coldS === undefined ? undefined : warmS / coldS <= 0.15,
    },
    {
      measure: `cold check wall time (${large?.overlays ?? largeOverlays})`,
      value: large && ok(large.run) ? `${large.run.seconds.toFixed(1)} s` : "n/a",
      target: "< 60 s",
      pass: large && ok(large.run) ? large.run.seconds < 60 : undefined,
    },
    {
      measure: `cold check peak memory, process tree (${large?.overlays ?? largeOverlays})`,
      value:
        large?.run.peakRssBytes === undefined
          ? "n/a"
          : `${megabytes(large.run.peakRssBytes)} (${large.run.peakProcesses} processes at most)`,
      target: "< 1 GB",
      pass: large?.run.peakRssBytes === undefined ? undefined : large.run.peakRssBytes < 1e9,
    },
  ];
  console.log(`\n${formatTable(rows)}`);

  console.log(
    `\nwall times (median of ${runs}): sequential loop ${fmt(loopS)}, parallel kustomize ${fmt(floorS)}, cold check ${fmt(coldS)}, warm check ${fmt(warmS)}`,
  );
  console.log(
    `peak memory (${n} overlays): cold check ${megabytes(coldRuns.at(-1)?.peakRssBytes)}, warm check ${megabytes(warmRuns.at(-1)?.peakRssBytes)}`,
  );
  if (profile && coldS !== undefined && warmS !== undefined && floorS !== undefined) {
    const engineWall = profile.totalMs / 1000 / Math.min(cpus, profile.builds);
    console.log(
      [
        `\nwhere the cold check's time goes (${n} overlays):`,
        `  engine: ${profile.builds} builds, ${profile.meanMs.toFixed(0)} ms per build on average (median ${profile.medianMs.toFixed(0)} ms), ` +
          `${(profile.totalMs / 1000).toFixed(1)} s in all: ~${engineWall.toFixed(1)} s of wall time over ${Math.min(cpus, profile.builds)} engine processes`,
        `  kustomize CLI, for comparison: ${((floorS * 1000 * cpus) / n).toFixed(0)} ms per overlay, process start included (parallel floor × CPUs / overlays)`,
        `  everything but the builds (discovery, cache lookups, validation, checks, reports): ~${warmS.toFixed(1)} s (the warm check)`,
        `  cold − warm: ${(coldS - warmS).toFixed(1)} s of rendering`,
      ].join("\n"),
    );
  }
} catch (error) {
  console.log(`\nthe benchmark stopped: ${(error as Error).stack ?? String(error)}`);
} finally {
  await rm(work, { recursive: true, force: true });
}

async function generate(name: string, overlays: number) {
  const root = await mkdtemp(path.join(work, `${name}-`));
  const environments = Math.ceil(overlays / LAYERS);
  return { root, ...(await writeSyntheticFleet(root, { environments, workloadsPerLayer: Number(values.workloads) })) };
}

/** Exit 0 (clean) and 1 (findings) are both a finished check; anything else did not run. */
async function measured(label: string, file: string, args: string[], cwd: string): Promise<MeasuredRun> {
  const result = await runMeasured(file, args, { cwd, env });
  if (!ok(result)) console.log(`${label} failed (exit ${result.exitCode}):\n${result.stdout.slice(-1500)}\n${result.stderr.slice(-1500)}`);
  return result;
}

function ok(run: MeasuredRun): boolean {
  return run.exitCode === 0 || run.exitCode === 1;
}

interface EngineProfile {
  /** Distinct builds: identical requests share one entry. */
  builds: number;
  totalMs: number;
  meanMs: number;
  medianMs: number;
}

/** Engine time per build, from the cold run's cache entries: each holds the engine's durationMs. */
async function engineProfile(cacheDir: string): Promise<EngineProfile | undefined> {
  const durations: number[] = [];
  for (const shard of await readdir(cacheDir)) {
    for (const name of await readdir(path.join(cacheDir, shard)).catch(() => [] as string[])) {
      if (!name.endsWith(".json")) continue;
      const text = await readFile(path.join(cacheDir, shard, name), "utf8");
      const entry = JSON.parse(text.slice(text.indexOf("\n") + 1)) as { result: { durationMs: number } };
      durations.push(entry.result.durationMs);
    }
  }
  if (durations.length === 0) return undefined;
  const total = durations.reduce((sum, ms) => sum + ms, 0);
  const sorted = [...durations].sort((a, b) => a - b);
  return { builds: durations.length, totalMs: total, meanMs: total / durations.length, medianMs: sorted[Math.floor(sorted.length / 2)]! };
}

function ratioRow(measure: string, baseline: number | undefined, value: number | undefined, target: number): Row {
  if (baseline === undefined || value === undefined) return { measure, value: "n/a", target: `>= ${target}x`, pass: undefined };
  const ratio = baseline / value;
  return {
    measure,
    value: `${ratio.toFixed(2)}x (${value.toFixed(1)} s vs ${baseline.toFixed(1)} s)`,
    target: `>= ${target}x`,
    pass: ratio >= target,
  };
}

function formatTable(rows: readonly Row[]): string {
  const cells = [
    ["measure", "value", "target", "result"],
    ...rows.map((row) => [row.measure, row.value, row.target, row.pass === undefined ? "n/a" : row.pass ? "pass" : "FAIL"]),
  ];
  const widths = cells[0]!.map((_, column) => Math.max(...cells.map((line) => line[column]!.length)));
  const lines = cells.map((line) =>
    line
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join("  ")
      .trimEnd(),
  );
  return [lines[0]!, widths.map((width) => "-".repeat(width)).join("  "), ...lines.slice(1)].join("\n");
}

function median(runs: readonly MeasuredRun[]): number | undefined {
  const finished = runs
    .filter(ok)
    .map((run) => run.seconds)
    .sort((a, b) => a - b);
  return finished.length === 0 ? undefined : finished[Math.floor(finished.length / 2)];
}

function seconds(run: MeasuredRun | undefined): string {
  return run && ok(run) ? `${run.seconds.toFixed(2)} s` : "failed";
}

function fmt(value: number | undefined): string {
  return value === undefined ? "n/a" : `${value.toFixed(1)} s`;
}

function megabytes(bytes: number | undefined): string {
  return bytes === undefined ? "n/a" : `${(bytes / 1e6).toFixed(0)} MB`;
}
