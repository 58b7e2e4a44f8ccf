// What *.cluster.test.ts files use of the shared local cluster: its kubeconfig, clients per
// identity, and "the current state" of a test fleet applied as Flux would.
import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { applyAsFlux } from "../../cluster/apply-as-flux.ts";
import { LOCAL_USERS, type LocalUser } from "../../cluster/local-cluster.ts";
import { kustomizationOf } from "../../core/diff/flux.ts";
import { discoverFleet } from "../../core/fleet/discover.ts";
import { createKubernetesClient, type KubernetesClient } from "../../core/kubernetes/client.ts";
import { loadClusterConnection } from "../../core/kubernetes/kubeconfig.ts";
import { renderFleet } from "../../tasks/render/index.ts";
import { captureContext, quietContext } from "../helpers/context.ts";

export function clusterKubeconfig(): string {
  return inject("clusterKubeconfig");
}

/** The environment a task sees: PATH for kustomize, and the local cluster's kubeconfig. */
export function clusterEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { PATH: process.env["PATH"], HOME: process.env["HOME"], KUBECONFIG: clusterKubeconfig(), ...extra };
}

export function contextOf(user: LocalUser): string {
  return LOCAL_USERS[user].context;
}

export async function clusterClient(user: LocalUser = "admin"): Promise<KubernetesClient> {
  return createKubernetesClient(await loadClusterConnection({ env: { KUBECONFIG: clusterKubeconfig() }, context: contextOf(user) }));
}

/** A name no other test of the run uses: tests share one cluster and run in parallel. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString("hex")}`;
}

/** Renders every overlay of one environment and applies it as kustomize-controller would. */
export async function applyFleet(root: string, environment: string): Promise<void> {
  const { context } = captureContext(root, clusterEnv());
  const { fleet, config } = await discoverFleet(quietContext(), root);
  const rendered = await renderFleet(context, fleet, (overlay) => overlay.environment === environment);
  const client = await clusterClient("admin");
  try {
    for (const result of rendered.sort((a, b) => a.overlay.order - b.overlay.order)) {
      if (!result.ok) throw new Error(`${result.overlay.path} did not render: ${result.findings.map((f) => f.message).join("; ")}`);
      await applyAsFlux(client, result.manifests, kustomizationOf(result.overlay, config?.kustomizationNaming));
    }
  } finally {
    client.close();
  }
}
