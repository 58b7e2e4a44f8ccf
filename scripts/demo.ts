// npm run demo: a real kube-apiserver on loopback, the layout-b example's staging environment
// applied as Flux would, then a change to the fleet, and what `gitops-ci diff` says about it: in
// the terminal and as the merge request note section. Everything it starts, it stops.
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { applyAsFlux } from "../cluster/apply-as-flux.ts";
import { installCrds, pinnedCrds } from "../cluster/crds.ts";
import { buildEnv, startLocalCluster, stopLocalCluster } from "../cluster/local-cluster.ts";
import { runCli } from "../cli/main.ts";
import { createTaskContext } from "../core/context.ts";
import { kustomizationOf } from "../core/diff/flux.ts";
import { describeError } from "../core/errors.ts";
import { discoverFleet } from "../core/fleet/discover.ts";
import { createKubernetesClient, type KubernetesClient } from "../core/kubernetes/client.ts";
import { loadClusterConnection } from "../core/kubernetes/kubeconfig.ts";
import { createProcessRunner } from "../core/process-runner.ts";
import { createToolchain, defaultToolsDir, PROJECT_ROOT } from "../core/toolchain.ts";
import { renderFleet } from "../tasks/render/index.ts";

const ENVIRONMENT = "staging";
const env = { ...process.env };
const stateDir = path.join(defaultToolsDir(env), "cluster-demo");
const work = await mkdtemp(path.join(tmpdir(), "gitops-ci-demo-"));
const fleet = path.join(work, "fleet");
const step = (text: string) => process.stderr.write(`\n==> ${text}\n`);

/** Small edits to the copied example; each names what a reviewer should see in the diff. */
async function edit(file: string, change: (text: string) => string): Promise<void> {
  const absolute = path.join(fleet, file);
  await writeFile(absolute, change(await readFile(absolute, "utf8")));
}

try {
  step("pinned kustomize, kube-apiserver and etcd (bash toolchain/install.sh: a no-op when built)");
  const toolchain = createToolchain(env);
  const runner = createProcessRunner({ env: buildEnv(env), resolveTool: (tool) => toolchain.resolve(tool) });
  const install = await runner.run("bash", [path.join(PROJECT_ROOT, "toolchain/install.sh"), "kustomize"], { timeoutMs: 60 * 60_000 });
  if (install.exitCode !== 0) throw new Error(`bash toolchain/install.sh kustomize failed:\n${install.stderr}`);

  step("local cluster: etcd + kube-apiserver on loopback, Flux/cert-manager/Cilium/Sealed Secrets CRDs");
  const cluster = await startLocalCluster({ stateDir, env, owner: process.pid, log: (text) => process.stderr.write(`    ${text}\n`) });
  const admin = createKubernetesClient(await loadClusterConnection({ env: { KUBECONFIG: cluster.kubeconfig } }));
  try {
    await installCrds(admin, await pinnedCrds(env));
    await applyFile(admin, path.join(PROJECT_ROOT, "docs/rbac/diff-identity.yaml"));
    process.stderr.write("    applied docs/rbac/diff-identity.yaml: the diff runs as that least-privilege identity\n");

    step(`current state: examples/layout-b, environment ${ENVIRONMENT}, applied as kustomize-controller would`);
    await cp(path.join(PROJECT_ROOT, "examples/layout-b"), fleet, { recursive: true });
    // A plain Secret, for the demo only (the example keeps its secrets in SealedSecrets): it shows masking.
    await writeFile(
      path.join(fleet, "clusters/staging/applications/podinfo-api.yaml"),
      "apiVersion: v1\nkind: Secret\nmetadata:\n  name: podinfo-api\n  namespace: podinfo\nstringData:\n  token: demo-token-before-3c9e\n",
    );
    await edit("clusters/staging/applications/kustomization.yaml", (text) =>
      text.replace("resources:\n", "resources:\n  - podinfo-api.yaml\n"),
    );
    const context = createTaskContext({
      cwd: fleet,
      env: { PATH: env["PATH"], HOME: env["HOME"] },
      stdout: process.stdout,
      stderr: process.stderr,
      concurrency: 2,
    });
    const discovery = await discoverFleet(context, fleet);
    for (const result of await renderFleet(context, discovery.fleet, (overlay) => overlay.environment === ENVIRONMENT)) {
      const applied = await applyAsFlux(admin, result.manifests, kustomizationOf(result.overlay, discovery.config?.kustomizationNaming));
      process.stderr.write(`    ${result.overlay.layer}: ${applied} objects\n`);
    }
  } finally {
    admin.close();
  }

  step("the change under review");
  const changes = [
    [
      "clusters/staging/applications/patches/podinfo-patch.yaml",
      "podinfo: 3 replicas, new UI message",
      (text: string) => text.replace("replicas: 2", "replicas: 3").replace("value: staging", "value: staging (v2)"),
    ],
    [
      "clusters/staging/infrastructure/helm/values.yaml",
      "ingress-nginx values: 3 replicas (a new hashed ConfigMap; the old one is pruned)",
      (text: string) => text.replace("replicaCount: 2", "replicaCount: 3"),
    ],
    [
      "clusters/base/applications/podinfo/kustomization.yaml",
      "the podinfo Ingress is removed (pruned)",
      (text: string) => text.replace("  - ingress.yaml\n", ""),
    ],
    [
      "clusters/staging/applications/kustomization.yaml",
      "… and its staging patch",
      (text: string) => text.replace(/ {2}- path: patches\/ingress-patch.yaml\n( {4}.*\n)+/, ""),
    ],
    [
      "clusters/staging/applications/podinfo-api.yaml",
      "the Secret's token rotated, a key added",
      (text: string) => text.replace("demo-token-before-3c9e", "demo-token-after-81f0\n  signing-key: demo-signing-key-77d2"),
    ],
  ] as const;
  for (const [file, description, change] of changes) {
    await edit(file, change);
    process.stderr.write(`    ${description} (${file})\n`);
  }
  await writeFile(
    path.join(fleet, "clusters/staging/infrastructure/canary-namespace.yaml"),
    "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: podinfo-canary\n",
  );
  await edit("clusters/staging/infrastructure/kustomization.yaml", (text) =>
    text.replace("resources:\n", "resources:\n  - canary-namespace.yaml\n"),
  );
  await writeFile(
    path.join(fleet, "clusters/staging/applications/canary.yaml"),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: canary-settings\n  namespace: podinfo-canary\ndata:\n  weight: "10"\n',
  );
  await edit("clusters/staging/applications/kustomization.yaml", (text) => text.replace("resources:\n", "resources:\n  - canary.yaml\n"));
  process.stderr.write("    a new Namespace in infrastructure, and a ConfigMap in it in applications (waits on infrastructure)\n");

  step(`gitops-ci diff ${ENVIRONMENT} --context gitops-ci-local-diff`);
  const out = path.join(work, "out");
  const code = await runCli(["diff", fleet, "--env", ENVIRONMENT, "--context", "gitops-ci-local-diff", "--out", out], {
    cwd: PROJECT_ROOT,
    env: { PATH: env["PATH"], HOME: env["HOME"], KUBECONFIG: cluster.kubeconfig },
    stdout: process.stdout,
    stderr: process.stderr,
    cpus: 2,
  });
  process.stderr.write(`\n    exit code ${code} (0 no changes, 1 changes, 2 could not run)\n`);

  step("the merge request note section (diff.md)");
  process.stdout.write(`${await readFile(path.join(out, "diff.md"), "utf8")}\n`);
  process.exitCode = code === 1 ? 0 : 1;
} catch (error) {
  process.stderr.write(`${describeError(error)}\n`);
  process.exitCode = 1;
} finally {
  step("stopping the local cluster");
  await stopLocalCluster(stateDir, { removeState: true })
    .then(() => process.stderr.write("    stopped; no process left\n"))
    .catch((error: unknown) => {
      process.stderr.write(`    ${String(error)}\n`);
      process.exitCode = 1;
    });
  await rm(work, { recursive: true, force: true });
}

async function applyFile(client: KubernetesClient, file: string): Promise<void> {
  for (const document of parseAllDocuments(await readFile(file, "utf8"))) {
    const object = document.toJS() as Record<string, unknown>;
    const resource = await client.resourceFor(String(object["apiVersion"]), String(object["kind"]));
    if (!resource) throw new Error(`the cluster does not serve ${String(object["apiVersion"])} ${String(object["kind"])}`);
    await client.apply(resource, object, { fieldManager: "gitops-ci-demo", dryRun: false, force: true });
  }
}
