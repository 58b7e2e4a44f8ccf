// npm run bench:diff: `gitops-ci diff` against `kubectl diff --server-side` on the same 1,000
// objects, against the same local kube-apiserver, in one run. Both do a server-side apply dry-run
// per object as kustomize-controller (field manager, forced ownership, Flux's owner labels).
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { applyAsFlux } from "../cluster/apply-as-flux.ts";
import { startLocalCluster, stopLocalCluster } from "../cluster/local-cluster.ts";
import { FLUX_FIELD_MANAGER, withOwnerLabels } from "../core/diff/flux.ts";
import { createKubernetesClient } from "../core/kubernetes/client.ts";
import { loadClusterConnection } from "../core/kubernetes/kubeconfig.ts";
import { resourceRefOf, type Manifest } from "../core/manifests.ts";
import { createProcessRunner } from "../core/process-runner.ts";
import { createToolchain, PROJECT_ROOT } from "../core/toolchain.ts";
import { createTaskContext } from "../core/context.ts";
import { discoverFleet } from "../core/fleet/discover.ts";
import { Redactor } from "../core/redaction.ts";
import { diffEnvironment } from "../tasks/diff/diff-environment.ts";
import { renderFleet } from "../tasks/render/index.ts";

const { values } = parseArgs({
  options: {
    objects: { type: "string", default: "1000" },
    runs: { type: "string", default: "3" },
    "api-concurrency": { type: "string", default: "16" },
  },
});
const total = Number(values.objects);
const env = { ...process.env };
const toolchain = createToolchain(env);
const work = await mkdtemp(path.join(tmpdir(), "gitops-ci-bench-diff-"));
const stateDir = path.join(work, "cluster");

/** `total` objects over namespaces of 100: 1 Namespace, 49 ConfigMaps, 25 Services, 25 Deployments each. */
function objects(count: number, version: number): Record<string, unknown>[] {
  const result: Record<string, unknown>[] = [];
  for (let ns = 0; result.length < count; ns += 1) {
    const namespace = `bench-${ns}`;
    result.push({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
    for (let index = 0; index < 99 && result.length < count; index += 1) {
      const name = `app-${index}`;
      // Every tenth object changes between the applied state and Git.
      const changed = version > 0 && index % 10 === 0;
      if (index % 4 < 2) {
        result.push({
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name, namespace },
          data: { setting: changed ? "new" : "old", index: String(index) },
        });
      } else if (index % 4 === 2) {
        result.push({
          apiVersion: "v1",
          kind: "Service",
          metadata: { name, namespace },
          spec: { selector: { app: name }, ports: [{ port: changed ? 8080 : 80 }] },
        });
      } else {
        result.push({
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: { name, namespace },
          spec: {
            replicas: changed ? 2 : 1,
            selector: { matchLabels: { app: name } },
            template: {
              metadata: { labels: { app: name } },
              spec: { containers: [{ name: "app", image: "registry.example.com/app:1.0.0" }] },
            },
          },
        });
      }
    }
  }
  return result;
}

const median = (numbers: number[]) => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)]!;

try {
  const cluster = await startLocalCluster({ stateDir, env, owner: process.pid, log: (text) => console.error(text) });
  const kustomization = { name: "bench", namespace: "flux-system" };
  const manifests = (list: Record<string, unknown>[]): Manifest[] => list.map((object) => ({ ref: resourceRefOf(object), object }));
  const client = createKubernetesClient(await loadClusterConnection({ env: { KUBECONFIG: cluster.kubeconfig } }));
  await applyAsFlux(client, manifests(objects(total, 0)), kustomization);
  client.close();

  // The same desired state as a gitops-ci fleet (one layer) and as one file for kubectl.
  const repo = path.join(work, "repo");
  const desired = objects(total, 1);
  await mkdir(path.join(repo, "bench/base"), { recursive: true });
  await mkdir(path.join(repo, "bench/overlays/bench"), { recursive: true });
  await writeFile(
    path.join(repo, "gitops-ci.yaml"),
    "apiVersion: gitops-ci/v1\nkind: Config\nlayers:\n  - name: bench\n    path: bench\nenvironments: [bench]\n",
  );
  await writeFile(path.join(repo, "bench/base/objects.yaml"), desired.map((object) => stringify(object)).join("---\n"));
  await writeFile(path.join(repo, "bench/base/kustomization.yaml"), "resources: [objects.yaml]\n");
  await writeFile(path.join(repo, "bench/overlays/bench/kustomization.yaml"), "resources: [../../base]\n");
  const kubectlFile = path.join(work, "desired.yaml");
  await writeFile(kubectlFile, desired.map((object) => stringify(withOwnerLabels(object, kustomization))).join("---\n"));

  const runner = createProcessRunner({
    env: { PATH: env["PATH"], HOME: env["HOME"], KUBECONFIG: cluster.kubeconfig },
    resolveTool: (tool) => toolchain.resolve(tool),
    defaultTimeoutMs: 30 * 60_000,
  });
  // The same objects rendered once, for the diff phase alone (no process start, no kustomize).
  const context = createTaskContext({
    cwd: repo,
    env: { PATH: env["PATH"], HOME: env["HOME"] },
    stdout: process.stdout,
    stderr: process.stderr,
    concurrency: availableParallelism(),
  });
  const rendered = await renderFleet(context, (await discoverFleet(context, repo)).fleet);
  const connection = await loadClusterConnection({ env: { KUBECONFIG: cluster.kubeconfig } });
  const ours: number[] = [];
  const phase: number[] = [];
  const theirs: number[] = [];
  const changes = { ours: 0, kubectl: 0 };
  console.log(
    `${total} objects (every tenth changed), ${availableParallelism()} CPUs, kube-apiserver ${cluster.server}, --api-concurrency ${values["api-concurrency"]}`,
  );
  for (let run = 0; run < Number(values.runs); run += 1) {
    let started = performance.now();
    const diff = await runner.run(process.execPath, [
      path.join(PROJECT_ROOT, "bin/gitops-ci.ts"),
      "diff",
      repo,
      "--json",
      "--api-concurrency",
      values["api-concurrency"],
    ]);
    ours.push((performance.now() - started) / 1000);
    if (diff.exitCode !== 1) throw new Error(`gitops-ci diff exited ${diff.exitCode}:\n${diff.stderr.slice(-3000)}`);
    const report = JSON.parse(diff.stdout) as { environments: { changes: { action: string }[] }[] };
    changes.ours = report.environments[0]!.changes.filter((change) => change.action === "update").length;

    const client = createKubernetesClient(connection, { concurrency: Number(values["api-concurrency"]) });
    started = performance.now();
    const inProcess = await diffEnvironment({
      environment: "bench",
      rendered,
      client,
      redactor: new Redactor(),
      concurrency: Number(values["api-concurrency"]),
    });
    phase.push((performance.now() - started) / 1000);
    client.close();
    if (inProcess.problems.length > 0) throw new Error(inProcess.problems[0]!.message);

    started = performance.now();
    const kubectl = await runner.run("kubectl", [
      "diff",
      "--server-side",
      `--field-manager=${FLUX_FIELD_MANAGER}`,
      "--force-conflicts",
      "-f",
      kubectlFile,
    ]);
    theirs.push((performance.now() - started) / 1000);
    if (kubectl.exitCode !== 1) throw new Error(`kubectl diff exited ${kubectl.exitCode}:\n${kubectl.stderr.slice(-3000)}`);
    changes.kubectl = kubectl.stdout.split("\n").filter((line) => line.startsWith("diff -u -N")).length;
    console.log(
      `run ${run + 1}: gitops-ci diff ${ours.at(-1)!.toFixed(2)} s (process start and kustomize render included; diff phase alone ${phase.at(-1)!.toFixed(2)} s), kubectl diff --server-side ${theirs.at(-1)!.toFixed(2)} s`,
    );
  }
  console.log(`\nchanged objects found: gitops-ci ${changes.ours}, kubectl ${changes.kubectl}`);
  console.log(
    `median: gitops-ci diff ${median(ours).toFixed(2)} s (diff phase ${median(phase).toFixed(2)} s), kubectl diff --server-side ${median(theirs).toFixed(2)} s`,
  );
  console.log(`ratio (kubectl / gitops-ci diff, end to end): ${(median(theirs) / median(ours)).toFixed(2)}x`);
  console.log(`ratio (kubectl / gitops-ci diff phase alone): ${(median(theirs) / median(phase)).toFixed(2)}x`);
} finally {
  await stopLocalCluster(stateDir).catch((error: unknown) => console.error(`stopping the cluster: ${String(error)}`));
  await rm(work, { recursive: true, force: true });
}
