// docs/rbac/diff-identity.yaml is what the README tells people to apply: a token bound to exactly
// it must be able to run the diff, and nothing more.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import type { ObjectChange } from "../../../core/model/object-changes.ts";
import { discoverFleet } from "../../../core/fleet/discover.ts";
import { KubernetesApiError } from "../../../core/kubernetes/errors.ts";
import { PROJECT_ROOT } from "../../../core/toolchain.ts";
import { isRecord } from "../../../core/yaml-file.ts";
import { diff } from "../../../tasks/diff/index.ts";
import { renderFleet } from "../../../tasks/render/index.ts";
import { clusterFleet } from "../../cluster/fleet.ts";
import { applyFleet, clusterClient, clusterEnv, uniqueName } from "../../cluster/local.ts";
import { captureContext, quietContext } from "../../helpers/context.ts";
import { examplePath, makeRepo, writeTree } from "../../helpers/temp-repo.ts";

const RBAC_FILE = path.join(PROJECT_ROOT, "docs/rbac/diff-identity.yaml");

async function rbacDocuments(): Promise<Record<string, unknown>[]> {
  return parseAllDocuments(await readFile(RBAC_FILE, "utf8")).map((document) => document.toJS() as Record<string, unknown>);
}

beforeAll(async () => {
  const admin = await clusterClient("admin");
  try {
    for (const object of await rbacDocuments()) {
      const resource = await admin.resourceFor(String(object["apiVersion"]), String(object["kind"]));
      await admin.apply(resource!, object, { fieldManager: "test", dryRun: false, force: true });
    }
  } finally {
    admin.close();
  }
});

describe("the diff identity of docs/rbac/diff-identity.yaml", () => {
  it("can run the diff: created, changed and pruned objects, no problem (exit 1)", async () => {
    const id = uniqueName("rbac");
    const root = await makeRepo(clusterFleet({ id, kubeContext: "gitops-ci-local-diff" }));
    await applyFleet(root, "test");
    await writeTree(root, {
      "gitops/configs/base/settings.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ${id}\ndata:\n  mode: relaxed\n`,
      "gitops/apps/base/kustomization.yaml":
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - service.yaml\n  - extra.yaml\n",
      "gitops/apps/base/extra.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: ${id}\ndata:\n  a: b\n`,
    });
    const captured = captureContext(root, clusterEnv());
    const result = await diff(captured.context, { dir: ".", json: false });
    const env = result.report.environments[0]!;
    expect(env.context).toBe("gitops-ci-local-diff");
    expect(env.problems).toEqual([]);
    const actions = Object.fromEntries(env.changes.map((change: ObjectChange) => [`${change.ref.kind}/${change.ref.name}`, change.action]));
    expect(actions).toMatchObject({
      "ConfigMap/settings": "update",
      "ConfigMap/extra": "create",
      "ConfigMap/legacy": "prune",
      "Secret/credentials": "unchanged",
    });
    expect(result.exitCode).toBe(1);
  });

  it("cannot write for real: the admission policy denies every request that is not a dry-run", async () => {
    const client = await clusterClient("diff");
    try {
      const configMaps = (await client.resourceFor("v1", "ConfigMap"))!;
      const object = {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: uniqueName("write"), namespace: "default" },
        data: { a: "b" },
      };
      await expect(client.apply(configMaps, object, { fieldManager: "test", dryRun: true, force: true })).resolves.toMatchObject({
        kind: "ConfigMap",
      });
      // The policy takes effect within a second or two of its creation.
      let denied: unknown;
      for (let attempt = 0; attempt < 50 && !denied; attempt += 1) {
        try {
          await client.apply(configMaps, object, { fieldManager: "test", dryRun: false, force: true });
          await client.delete(configMaps, object.metadata.name, "default").catch(() => undefined);
          await new Promise((resolve) => setTimeout(resolve, 200));
        } catch (error) {
          denied = error;
        }
      }
      expect(denied).toBeInstanceOf(KubernetesApiError);
      expect((denied as KubernetesApiError).message).toContain("may only send dry-run requests");
    } finally {
      client.close();
    }
  });

  it("covers get, list, patch and create on every kind the bundled examples render", async () => {
    const role = (await rbacDocuments()).find((object) => object["kind"] === "ClusterRole")!;
    const rules = (role["rules"] as Record<string, unknown>[]).map((rule) => ({
      groups: rule["apiGroups"] as string[],
      resources: rule["resources"] as string[],
      verbs: rule["verbs"] as string[],
    }));
    const admin = await clusterClient("admin");
    try {
      const missing: string[] = [];
      for (const example of ["examples/layout-a", "examples/layout-b"]) {
        const root = examplePath(example);
        const { fleet } = await discoverFleet(quietContext(), root);
        const rendered = await renderFleet(captureContext(root, clusterEnv()).context, fleet);
        for (const manifest of rendered.flatMap((result) => result.manifests)) {
          const resource = await admin.resourceFor(manifest.ref.apiVersion, manifest.ref.kind);
          expect(resource, `${manifest.ref.apiVersion} ${manifest.ref.kind} is served by the local cluster`).toBeDefined();
          for (const verb of ["get", "list", "patch", "create"]) {
            const allowed = rules.some(
              (rule) => rule.groups.includes(resource!.group) && rule.resources.includes(resource!.plural) && rule.verbs.includes(verb),
            );
            if (!allowed) missing.push(`${verb} ${resource!.plural}.${resource!.group}`);
          }
        }
      }
      expect([...new Set(missing)]).toEqual([]);
      expect(isRecord(role["metadata"])).toBe(true);
    } finally {
      admin.close();
    }
  });
});
