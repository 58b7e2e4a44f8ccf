// Picks the source of a repository's fleet: the config file first, then Flux Kustomization
// objects, then the two folder conventions.
import path from "node:path";
import { findConfigFile, loadConfig, type GitopsCiConfig } from "../config.ts";
import { UserError } from "../errors.ts";
import { isDirectory } from "../repo-files.ts";
import { assembleFleet, type Discovery } from "./assemble.ts";
import { discoverLayoutA, discoverLayoutB } from "./conventions.ts";
import { discoverFromConfig } from "./from-config.ts";
import { discoverFromFluxKustomizations } from "./from-flux-kustomizations.ts";

export interface DiscoverOptions {
  /** Repository-relative or absolute config path; default: gitops-ci.yaml at the root if present. */
  configFile?: string;
}

export interface FleetDiscovery extends Discovery {
  config: GitopsCiConfig | undefined;
}

export async function discoverFleet(root: string, options: DiscoverOptions = {}): Promise<FleetDiscovery> {
  if (!(await isDirectory(root))) throw new UserError(`${root} is not a directory`);
  const configFile = options.configFile ? path.relative(root, path.resolve(root, options.configFile)) : await findConfigFile(root);
  const config = configFile ? await loadConfig(root, configFile) : undefined;

  const found =
    (config && (await discoverFromConfig(root, config))) ??
    (await discoverFromFluxKustomizations(root)) ??
    (await discoverLayoutA(root)) ??
    (await discoverLayoutB(root));
  if (!found) {
    throw new UserError(`no fleet found in ${root}`, {
      hint: "expected gitops/flux/<layer>/overlays/<env>/, clusters/base/ with clusters/<env>/, Flux Kustomization objects, or a gitops-ci.yaml that declares the layers",
    });
  }
  if (config?.environments && found.source !== "config") {
    // Environment settings (kube contexts) from the config still apply to a discovered fleet.
    found.environments = found.environments.map((env) => config.environments?.find((c) => c.name === env.name) ?? env);
  }
  const discovery = await assembleFleet(root, found);
  return { ...discovery, config };
}
