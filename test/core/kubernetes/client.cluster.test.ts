import { describe, expect, it } from "vitest";
import { createKubernetesClient } from "../../../core/kubernetes/client.ts";
import { KubernetesApiError } from "../../../core/kubernetes/errors.ts";
import { loadClusterConnection } from "../../../core/kubernetes/kubeconfig.ts";
import { clusterClient, clusterKubeconfig, uniqueName } from "../../cluster/local.ts";

describe("the Kubernetes API client against a real kube-apiserver", () => {
  it("discovers kinds (core, groups, CRDs) and whether they are namespaced, and knows what is not served", async () => {
    const client = await clusterClient("admin");
    try {
      expect((await client.version()).gitVersion).toBe("v1.35.8");
      expect(await client.resourceFor("v1", "ConfigMap")).toMatchObject({
        group: "",
        version: "v1",
        plural: "configmaps",
        namespaced: true,
      });
      expect(await client.resourceFor("rbac.authorization.k8s.io/v1", "ClusterRole")).toMatchObject({
        plural: "clusterroles",
        namespaced: false,
      });
      expect(await client.resourceFor("helm.toolkit.fluxcd.io/v2", "HelmRelease")).toMatchObject({
        plural: "helmreleases",
        namespaced: true,
      });
      expect(await client.resourceFor("cert-manager.io/v1", "ClusterIssuer")).toMatchObject({ namespaced: false });
      expect(await client.resourceFor("nothing.example.com/v1", "Thing")).toBeUndefined();
      expect(await client.resourceFor("v1", "Thing")).toBeUndefined();
    } finally {
      client.close();
    }
  });

  it("dry-runs a server-side apply as kustomize-controller without persisting it; get answers undefined for a missing object", async () => {
    const client = await clusterClient("admin");
    try {
      const configMaps = (await client.resourceFor("v1", "ConfigMap"))!;
      const name = uniqueName("dry");
      const object = { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "default" }, data: { a: "b" } };
      const merged = await client.apply(configMaps, object, { fieldManager: "kustomize-controller", dryRun: true, force: true });
      expect(merged).toMatchObject({
        metadata: { name, managedFields: [expect.objectContaining({ manager: "kustomize-controller", operation: "Apply" })] },
        data: { a: "b" },
      });
      expect(await client.get(configMaps, name, "default")).toBeUndefined();
    } finally {
      client.close();
    }
  });

  it("lists by label selector across namespaces, following continue tokens", async () => {
    const client = createKubernetesClient(await loadClusterConnection({ env: { KUBECONFIG: clusterKubeconfig() } }), { pageSize: 3 });
    try {
      const configMaps = (await client.resourceFor("v1", "ConfigMap"))!;
      const label = uniqueName("list");
      await Promise.all(
        Array.from({ length: 7 }, (_, index) =>
          client.apply(
            configMaps,
            {
              apiVersion: "v1",
              kind: "ConfigMap",
              metadata: { name: `${label}-${index}`, namespace: index % 2 ? "default" : "kube-public", labels: { test: label } },
            },
            { fieldManager: "test", dryRun: false, force: true },
          ),
        ),
      );
      const listed = await client.list(configMaps, { labelSelector: `test=${label}` });
      expect(listed.map((item) => (item["metadata"] as { name: string }).name).sort()).toEqual(
        Array.from({ length: 7 }, (_, index) => `${label}-${index}`),
      );
      expect(listed[0]).toMatchObject({ apiVersion: "v1", kind: "ConfigMap" });
    } finally {
      client.close();
    }
  });

  it("bounds the requests in flight", async () => {
    const connection = await loadClusterConnection({ env: { KUBECONFIG: clusterKubeconfig() } });
    const client = createKubernetesClient(connection, { concurrency: 2 });
    try {
      const namespaces = (await client.resourceFor("v1", "Namespace"))!;
      const started = performance.now();
      await Promise.all(Array.from({ length: 20 }, () => client.get(namespaces, "default")));
      expect(performance.now() - started).toBeLessThan(10_000);
    } finally {
      client.close();
    }
  });

  it("turns 401 and 403 into errors that name the identity, the verb and the resource", async () => {
    const nobody = await clusterClient("nobody");
    try {
      const secrets = (await nobody.resourceFor("v1", "Secret"))!;
      const forbidden = await nobody.get(secrets, "x", "default").catch((error: unknown) => error);
      expect(forbidden).toBeInstanceOf(KubernetesApiError);
      expect(forbidden).toMatchObject({ failure: "forbidden", httpStatus: 403 });
      expect((forbidden as Error).message).toBe(
        'forbidden: secrets "x" is forbidden: User "gitops-ci-nobody" cannot get resource "secrets" in API group "" in the namespace "default" (get secrets/x in namespace default); give the diff identity the rules in docs/rbac/diff-identity.yaml (dry-run requests are authorized like real ones)',
      );
    } finally {
      nobody.close();
    }
    const connection = await loadClusterConnection({ env: { KUBECONFIG: clusterKubeconfig() } });
    const wrongToken = createKubernetesClient({ ...connection, token: "not-a-token" });
    try {
      await expect(wrongToken.version()).rejects.toMatchObject({
        failure: "unauthorized",
        message: expect.stringContaining('rejected the credentials of context "gitops-ci-local" (401)'),
      });
    } finally {
      wrongToken.close();
    }
  });

  it("rejects a server certificate the kubeconfig's CA did not sign", async () => {
    const connection = await loadClusterConnection({ env: { KUBECONFIG: clusterKubeconfig() } });
    const { ca: _trusted, ...withoutCa } = connection;
    const client = createKubernetesClient(withoutCa);
    try {
      await expect(client.version()).rejects.toMatchObject({
        failure: "unreachable",
        message: expect.stringContaining("TLS verification failed"),
      });
    } finally {
      client.close();
    }
  });
});
