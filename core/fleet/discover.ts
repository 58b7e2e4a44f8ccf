// Picks the source of a repository's fleet: the config file's layers first, then the clusters
// Flux bootstraps (each built as Flux builds it), then the two folder conventions.
import path from "node:path";
import { findConfigFile, loadConfig, type GitopsCiConfig } from "../config.ts";
import { UserError } from "../errors.ts";
import type { Finding } from "../model/findings.ts";
import { isDirectory, symlinkLoops } from "../repo-files.ts";
import { registerRepositorySecrets } from "../secret-sources.ts";
import { assembleFleet, type Discovery } from "./assemble.ts";
import type { Fleet } from "../model/fleet.ts";
import { discoverLayoutA, discoverLayoutB } from "./conventions.ts";
import { discoverFromConfig } from "./from-config.ts";
import type { TaskContext } from "../context.ts";
import { discoverFromFluxClusters, type ClusterKustomization } from "./from-flux-clusters.ts";

export interface DiscoverOptions {
  /** Repository-relative or absolute config path; default: gitops-ci.yaml at the root if present. */
  configFile?: string;
}

export interface FleetDiscovery extends Discovery {
  config: GitopsCiConfig | undefined;
  /** Every Flux Kustomization the clusters apply, as built during discovery (Flux layouts only). */
  kustomizations?: ClusterKustomization[];
}

export async function discoverFleet(context: TaskContext, root: string, options: DiscoverOptions = {}): Promise<FleetDiscovery> {
  if (!(await isDirectory(root))) throw new UserError(`${root} is not a directory`);
  // Before any build or parser can print a value (a kustomize error quoting a literal, a YAML error a token).
  await registerRepositorySecrets(root, context.redactor, context.concurrency * 4);
  const configFile = options.configFile ? path.relative(root, path.resolve(root, options.configFile)) : await findConfigFile(root);
  const config = configFile ? await loadConfig(root, configFile) : undefined;

  const fromConfig = config && (await discoverFromConfig(root, config));
  const clusters = fromConfig ? undefined : await discoverFromFluxClusters(context, root, config?.clusters ?? []);
  const found = fromConfig ?? clusters?.found ?? (await discoverLayoutA(root)) ?? (await discoverLayoutB(root));
  if (!found) {
    throw new UserError(`no fleet found in ${root}`, {
      hint: "expected a Flux bootstrap sync (clusters/<name>/flux-system/gotk-sync.yaml or a FluxInstance), gitops/flux/<layer>/overlays/<env>/, clusters/base/ with clusters/<env>/, or a gitops-ci.yaml that declares the clusters or layers",
    });
  }
  if (config?.environments && found.source !== "config") {
    // Environment settings (kube contexts) from the config still apply to a discovered fleet.
    found.environments = found.environments.map((env) => config.environments?.find((c) => c.name === env.name) ?? env);
  }
  const discovery = await assembleFleet(root, found);
  discovery.findings.push(...(await symlinkLoops(root)).map(symlinkLoopFinding));
  if (clusters) attachBuilds(discovery.fleet, clusters.kustomizations);
  return { ...discovery, config, ...(clusters ? { kustomizations: clusters.kustomizations } : {}) };
}

/** Discovery built every Kustomization already: render takes those results instead of building again. */
function attachBuilds(fleet: Fleet, kustomizations: readonly ClusterKustomization[]): void {
  for (const overlay of fleet.overlays) {
    const built = kustomizations.find(
      (item) => item.cluster === overlay.environment && item.name === overlay.flux?.name && item.namespace === overlay.flux.namespace,
    );
    if (built?.result) overlay.build = { result: built.result, unresolved: built.unresolved };
  }
}

/** kustomize-controller cannot read a symlink loop, and no check can look inside it. */
function symlinkLoopFinding(file: string): Finding {
  return {
    severity: "error",
    check: "render/symlink-loop",
    file,
    message: `${file} is a symlink loop: it leads back to itself and never reaches a file, so nothing can read it`,
    hint: "point the symlink at a file or folder inside the repository, or remove it",
  };
}
