// The names kustomize accepts for a kustomization, in its order of preference.
import { access } from "node:fs/promises";
import path from "node:path";

export const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"] as const;

export async function findKustomizationFile(dir: string): Promise<string | undefined> {
  for (const name of KUSTOMIZATION_FILES) {
    try {
      await access(path.join(dir, name));
      return name;
    } catch {
      // next
    }
  }
  return undefined;
}
