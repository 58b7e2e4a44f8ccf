// npm run bench (second part): `gitops-ci diff --against` on a generated fleet in a git repository
// with one overlay changed, against a cold full `gitops-ci check` of the same fleet, in one run on
// the same tree and binaries. Both diff runs start from an empty render cache; the second diff
// reuses the first one's cache. A report, not a test: it prints each number beside its target.
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { PROJECT_ROOT } from "../core/toolchain.ts";
import { runMeasured, type MeasuredRun } from "./process-tree.ts";
import { writeSyntheticFleet } from "./synthetic-fleet.ts";

const { values } = parseArgs({ options: { overlays: { type: "string", default: "300" }, workloads: { type: "string", default: "20" } } });
const work = await mkdtemp(path.join(tmpdir(), "gitops-ci-bench-git-diff-"));
const gitopsCi = [path.join(PROJECT_ROOT, "bin/gitops-ci.ts")];
const env = { ...process.env };

try {
  const root = path.join(work, "fleet");
  const fleet = await writeSyntheticFleet(root, {
    environments: Math.ceil(Number(values.overlays) / 3),
    workloadsPerLayer: Number(values.workloads),
  });
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=bench", "-c", "user.email=bench@example.com", ...args], { cwd: root, stdio: "pipe" });
  git("init", "-q", "-b", "main");
  git("add", ".");
  git("commit", "-q", "-m", "fleet");
  console.log(
    `fleet: ${fleet.overlays.length} overlays, ${fleet.objects} objects; ${availableParallelism()} CPUs; load average ${loadavg()
      .map((n) => n.toFixed(1))
      .join(" ")}`,
  );

  const check = await measured("cold check", ["check", root, "--cache-dir", await mkdtemp(path.join(work, "cache-check-"))], root, [0, 1]);

  // The merge request: one overlay's replicas patch.
  const changed = fleet.overlays[fleet.overlays.length - 1]!;
  const patch = path.join(root, changed, "replicas-patch.yaml");
  await writeFile(patch, (await readFile(patch, "utf8")).replace("replicas: 3", "replicas: 5"));
  const cache = await mkdtemp(path.join(work, "cache-diff-"));
  const cold = await measured("diff --against, cold cache", ["diff", "--against", "HEAD", root, "--cache-dir", cache], root, [1]);
  const warm = await measured("diff --against, warm cache", ["diff", "--against", "HEAD", root, "--cache-dir", cache], root, [1]);

  const rows = [
    ["measure", "value", "target", "result"],
    ratio(`diff --against (1 of ${fleet.overlays.length} overlays changed), cold cache, % of a cold full check`, cold, check),
    ratio(`diff --against, warm cache, % of a cold full check`, warm, check),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  console.log(
    `\n${rows
      .map((row) =>
        row
          .map((cell, column) => cell.padEnd(widths[column]!))
          .join("  ")
          .trimEnd(),
      )
      .join("\n")}`,
  );
  console.log(`\nwall times: cold check ${seconds(check)}, diff --against cold ${seconds(cold)}, warm ${seconds(warm)}`);
  const summary = /rendered (\d+) of (\d+) Kustomizations here and (\d+) of (\d+) at the base/.exec(cold.stderr);
  if (summary)
    console.log(
      `rendered again: ${summary[1]} of ${summary[2]} Kustomizations on the merge request side, ${summary[3]} of ${summary[4]} at the merge base`,
    );
} catch (error) {
  console.log(`\nthe benchmark stopped: ${(error as Error).stack ?? String(error)}`);
} finally {
  await rm(work, { recursive: true, force: true });
}

async function measured(label: string, args: string[], cwd: string, expected: number[]): Promise<MeasuredRun> {
  const result = await runMeasured(process.execPath, [...gitopsCi, ...args], { cwd, env });
  if (!expected.includes(result.exitCode))
    console.log(`${label}: unexpected exit ${result.exitCode}:\n${result.stdout.slice(-1500)}\n${result.stderr.slice(-1500)}`);
  return result;
}

function ratio(measure: string, run: MeasuredRun, baseline: MeasuredRun): string[] {
  const percent = (100 * run.seconds) / baseline.seconds;
  return [
    measure,
    `${percent.toFixed(1)} % (${run.seconds.toFixed(2)} s vs ${baseline.seconds.toFixed(2)} s)`,
    "<= 10 %",
    percent <= 10 ? "pass" : "FAIL",
  ];
}

function seconds(run: MeasuredRun): string {
  return `${run.seconds.toFixed(2)} s`;
}
