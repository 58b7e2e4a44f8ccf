// `npm run cluster -- up|down|status [--no-crds]`: the local Kubernetes API server in .tools/cluster.
import path from "node:path";
import { parseArgs } from "node:util";
import { installCrds, pinnedCrds } from "../cluster/crds.ts";
import { isClusterRunning, readClusterState, startLocalCluster, stopLocalCluster } from "../cluster/local-cluster.ts";
import { describeError, exitCodeFor } from "../core/errors.ts";
import { createKubernetesClient } from "../core/kubernetes/client.ts";
import { loadClusterConnection } from "../core/kubernetes/kubeconfig.ts";
import { defaultToolsDir } from "../core/toolchain.ts";

const USAGE = "usage: npm run cluster -- up [--no-crds] | down | status";

async function main(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { "no-crds": { type: "boolean", default: false } },
    allowPositionals: true,
  });
  const stateDir = path.join(defaultToolsDir(env), "cluster");
  const say = (text: string) => process.stderr.write(`${text}\n`);
  switch (positionals[0]) {
    case "up": {
      const previous = await readClusterState(stateDir);
      if (previous && isClusterRunning(previous)) {
        say(`already running: ${previous.server}`);
        process.stdout.write(`export KUBECONFIG=${previous.kubeconfig}\n`);
        return 0;
      }
      const state = await startLocalCluster({ stateDir, env, log: say });
      if (!values["no-crds"]) {
        const started = performance.now();
        const client = createKubernetesClient(await loadClusterConnection({ env: { KUBECONFIG: state.kubeconfig } }));
        try {
          const crds = await pinnedCrds(env);
          await installCrds(client, crds);
          say(`installed ${crds.length} CRDs (schemas/crd-sources.txt) in ${((performance.now() - started) / 1000).toFixed(1)}s`);
        } finally {
          client.close();
        }
      }
      say(
        "contexts: gitops-ci-local (admin), gitops-ci-local-diff (bind docs/rbac/diff-identity.yaml), gitops-ci-local-nobody (no rights)",
      );
      process.stdout.write(`export KUBECONFIG=${state.kubeconfig}\n`);
      return 0;
    }
    case "down": {
      const { wasRunning } = await stopLocalCluster(stateDir);
      say(wasRunning ? "stopped; no cluster process is left" : "not running");
      return 0;
    }
    case "status": {
      const state = await readClusterState(stateDir);
      if (state && isClusterRunning(state)) {
        process.stdout.write(
          `running: ${state.server} (etcd pid ${state.etcd.pid}, kube-apiserver pid ${state.apiserver.pid})\nKUBECONFIG=${state.kubeconfig}\n`,
        );
        return 0;
      }
      process.stdout.write(state ? "stopped (stale state: run `npm run cluster -- down`)\n" : "not running\n");
      return 1;
    }
    default:
      say(USAGE);
      return 2;
  }
}

try {
  process.exitCode = await main(process.argv.slice(2), { ...process.env });
} catch (error) {
  process.stderr.write(`${describeError(error)}\n`);
  process.exitCode = exitCodeFor(error);
}
