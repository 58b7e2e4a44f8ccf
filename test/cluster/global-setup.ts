// One real local cluster (etcd + kube-apiserver, with the pinned CRDs) for every *.cluster.test.ts
// file of a run, stopped when the run ends, failed or not. Its state lives in a temporary folder;
// a watchdog stops it should this process die without running the teardown.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { installCrds, pinnedCrds } from "../../cluster/crds.ts";
import { startLocalCluster, stopLocalCluster } from "../../cluster/local-cluster.ts";
import { createKubernetesClient } from "../../core/kubernetes/client.ts";
import { loadClusterConnection } from "../../core/kubernetes/kubeconfig.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** Kubeconfig of the local cluster: contexts gitops-ci-local (admin), -diff and -nobody. */
    clusterKubeconfig: string;
    clusterServer: string;
    clusterStartupMs: number;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stateDir = await mkdtemp(path.join(tmpdir(), "gitops-ci-test-cluster-"));
  const env = { ...process.env };
  const state = await startLocalCluster({ stateDir, env, owner: process.pid, log: (text) => process.stderr.write(`[cluster] ${text}\n`) });
  try {
    const client = createKubernetesClient(await loadClusterConnection({ env: { KUBECONFIG: state.kubeconfig } }));
    try {
      await installCrds(client, await pinnedCrds(env));
    } finally {
      client.close();
    }
  } catch (error) {
    await stopLocalCluster(stateDir, { removeState: true });
    throw error;
  }
  project.provide("clusterKubeconfig", state.kubeconfig);
  project.provide("clusterServer", state.server);
  project.provide("clusterStartupMs", state.startupMs);
  return async () => {
    await stopLocalCluster(stateDir, { removeState: true });
  };
}
