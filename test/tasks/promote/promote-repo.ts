// A throwaway clone of a bundled example for promote tests: committed on main, with a local bare
// repository as its `origin`, and staging moved ahead of prod the way a release does.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { git } from "../../helpers/git.ts";
import { copyExample, makeTempDir } from "../../helpers/temp-repo.ts";

export { git };

export interface PromoteRepo {
  root: string;
  /** The bare repository `origin` points at. */
  remote: string;
}

export async function exampleClone(example: string): Promise<PromoteRepo> {
  const root = await copyExample(example);
  const remote = path.join(await makeTempDir(), "remote.git");
  git(path.dirname(remote), "init", "-q", "--bare", "-b", "main", remote);
  git(root, "init", "-q", "-b", "main");
  git(root, "add", ".");
  git(root, "commit", "-q", "-m", "initial");
  git(root, "remote", "add", "origin", remote);
  git(root, "push", "-q", "origin", "main");
  return { root, remote };
}

export async function editFile(root: string, file: string, edit: (text: string) => string): Promise<void> {
  const target = path.join(root, file);
  const before = await readFile(target, "utf8");
  const after = edit(before);
  if (after === before) throw new Error(`edit of ${file} changed nothing`);
  await writeFile(target, after);
}

export const APPS = "gitops/flux/apps/overlays";
export const CONTROLLERS = "gitops/flux/infrastructure/controllers/overlays";

/**
 * Staging runs newer versions than prod: GitLab chart 8.6.0 in a patch of its own, a webservice
 * image tag, ingress-nginx chart 4.12.0 through its inline JSON 6902 patch, and one new chart value.
 */
export async function stagingAhead(root: string): Promise<void> {
  await writeFile(
    path.join(root, APPS, "staging/gitlab-version-patch.yaml"),
    "# GitLab 18.1: rehearsed on staging first.\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: gitlab\n  namespace: gitlab\nspec:\n  chart:\n    spec:\n      version: 8.6.0\n",
  );
  await editFile(root, `${APPS}/staging/kustomization.yaml`, (text) =>
    text.replace(
      "  - path: gitlab-resources-patch.yaml\n",
      "  - path: gitlab-resources-patch.yaml\n  - path: gitlab-version-patch.yaml\nimages:\n  - name: registry.gitlab.com/gitlab-org/build/cng/gitlab-webservice-ce\n    newTag: v18.1.0\n",
    ),
  );
  await editFile(root, `${APPS}/staging/gitlab-resources-patch.yaml`, (text) =>
    text.replace("      webservice:\n", "      webservice:\n        workerProcesses: 4\n"),
  );
  await editFile(root, `${CONTROLLERS}/staging/kustomization.yaml`, (text) =>
    text.replace(
      "        value: 1\n",
      "        value: 1\n      - op: replace\n        path: /spec/chart/spec/version\n        value: 4.12.0\n",
    ),
  );
  git(root, "add", "-A");
  git(root, "commit", "-q", "-m", "staging: GitLab 18.1, ingress-nginx 4.12");
  git(root, "push", "-q", "origin", "main");
}
