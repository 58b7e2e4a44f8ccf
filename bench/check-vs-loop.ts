// npm run bench: `gitops-ci check` against the sequential `kustomize build | kubeconform` loop
// that teams copy from the Flux example repository, on the same generated tree, in one run.
import { availableParallelism } from "node:os";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createProcessRunner } from "../core/process-runner.ts";
import { coreSchemaDir, CORE_SCHEMA_TEMPLATE, CRD_SCHEMA_TEMPLATE, resolveKubernetesVersion, SHIPPED_CRD_SCHEMAS } from "../core/schemas/locations.ts";
import { createToolchain, defaultKubernetesVersion, PROJECT_ROOT } from "../core/toolchain.ts";
import { writeSyntheticFleet } from "./synthetic-fleet.ts";

const { values } = parseArgs({
  options: {
    environments: { type: "string", default: "8" },
    workloads: { type: "string", default: "20" },
    runs: { type: "string", default: "3" },
  },
});

const env = { ...process.env };
const toolchain = createToolchain(env);
const runner = createProcessRunner({ env, resolveTool: (tool) => toolchain.resolve(tool), defaultTimeoutMs: 30 * 60_000 });
const root = await mkdtemp(path.join(tmpdir(), "gitops-ci-bench-"));
try {
  const { overlays, objects } = await writeSyntheticFleet(root, { environments: Number(values.environments), workloadsPerLayer: Number(values.workloads) });
  const version = await resolveKubernetesVersion(toolchain.toolsDir, await defaultKubernetesVersion());
  const [kustomize, kubeconform] = await Promise.all([toolchain.resolve("kustomize"), toolchain.resolve("kubeconform")]);
  // The loop from the Flux example's scripts/validate.sh, with offline schemas instead of downloads.
  const loop = [
    "set -euo pipefail",
    `for dir in ${overlays.map((overlay) => `'${overlay}'`).join(" ")}; do`,
    `  '${kustomize}' build "$dir" --load-restrictor=LoadRestrictionsNone | '${kubeconform}' -strict -ignore-missing-schemas -kubernetes-version ${version} \\`,
    `    -schema-location '${path.join(coreSchemaDir(toolchain.toolsDir), CORE_SCHEMA_TEMPLATE)}' -schema-location '${path.join(SHIPPED_CRD_SCHEMAS, CRD_SCHEMA_TEMPLATE)}' -summary - > /dev/null`,
    "done",
  ].join("\n");

  const time = async (label: string, command: string, args: string[]): Promise<number> => {
    const started = performance.now();
    const result = await runner.run(command, args, { cwd: root });
    const seconds = (performance.now() - started) / 1000;
    if (result.exitCode !== 0) throw new Error(`${label} failed (exit ${result.exitCode}):\n${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}`);
    return seconds;
  };

  console.log(`fleet: ${overlays.length} overlays, ${objects} objects; ${availableParallelism()} CPUs; Kubernetes ${version}`);
  const loopTimes: number[] = [];
  const checkTimes: number[] = [];
  for (let run = 0; run < Number(values.runs); run += 1) {
    loopTimes.push(await time("loop", "bash", ["-c", loop]));
    checkTimes.push(await time("gitops-ci check", process.execPath, [path.join(PROJECT_ROOT, "bin/gitops-ci.ts"), "check", root]));
    console.log(`run ${run + 1}: loop ${loopTimes.at(-1)!.toFixed(2)} s, gitops-ci check ${checkTimes.at(-1)!.toFixed(2)} s`);
  }
  const loopMedian = median(loopTimes);
  const checkMedian = median(checkTimes);
  console.log(`\nmedian: sequential kustomize|kubeconform loop ${loopMedian.toFixed(2)} s, gitops-ci check ${checkMedian.toFixed(2)} s`);
  console.log(`ratio (loop / check): ${(loopMedian / checkMedian).toFixed(2)}x`);
} finally {
  await rm(root, { recursive: true, force: true });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
