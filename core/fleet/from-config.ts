// Discovery from gitops-ci.yaml: the user's word overrides every convention.
import path from "node:path";
import type { GitopsCiConfig } from "../config.ts";
import { isDirectory, subdirectories } from "../repo-files.ts";
import type { FoundFleet, FoundOverlay } from "./assemble.ts";
import { unique } from "./assemble.ts";

export async function discoverFromConfig(root: string, config: GitopsCiConfig): Promise<FoundFleet | undefined> {
  if (!config.layers) return undefined;
  const layers = config.layers.map((layer) => ({
    name: layer.name,
    dependsOn: layer.dependsOn,
    overlays: layer.overlays ?? `${layer.path}/overlays/{env}`,
    ...(layer.path ? { path: layer.path } : {}),
    location: { file: config.file },
  }));

  const environmentNames = config.environments
    ? config.environments.map((env) => env.name)
    : unique((await Promise.all(layers.map((layer) => environmentsMatching(root, layer.overlays)))).flat()).sort();
  const environments = config.environments ?? environmentNames.map((name) => ({ name }));

  const overlays: FoundOverlay[] = [];
  for (const env of environmentNames) {
    for (const layer of layers) {
      const overlayPath = layer.overlays.replaceAll("{env}", env);
      // With an explicit environment list a missing folder is reported by assembleFleet as missing-path;
      // with discovered environments it means this environment lacks the layer.
      if (!config.environments && !(await isDirectory(path.join(root, overlayPath)))) continue;
      overlays.push({
        environment: env,
        layer: layer.name,
        path: overlayPath,
        dependsOn: layer.dependsOn,
        definedIn: { file: config.file },
      });
    }
  }
  return {
    source: "config",
    sourceFile: config.file,
    environments,
    layers,
    overlays,
    findings: [],
    locateMissing: (env, layer) => ({
      file: path.posix.dirname(layers.find((l) => l.name === layer)?.overlays.replaceAll("{env}", env) ?? config.file) + "/",
    }),
  };
}

/** Environments for which an overlay template like `apps/overlays/{env}` names an existing folder. */
async function environmentsMatching(root: string, template: string): Promise<string[]> {
  const [prefix = "", suffix = ""] = template.split("{env}", 2);
  const candidates = await subdirectories(path.join(root, prefix));
  const matches: string[] = [];
  for (const candidate of candidates) {
    if (candidate === "base") continue;
    if (await isDirectory(path.join(root, prefix, candidate, suffix))) matches.push(candidate);
  }
  return matches;
}
