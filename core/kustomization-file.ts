// The names kustomize accepts for a kustomization, in its order of preference.
import { pathExists } from "./repo-files.ts";
import path from "node:path";

export const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"] as const;

export async function findKustomizationFile(dir: string): Promise<string | undefined> {
  for (const name of KUSTOMIZATION_FILES) if (await pathExists(path.join(dir, name))) return name;
  return undefined;
}
