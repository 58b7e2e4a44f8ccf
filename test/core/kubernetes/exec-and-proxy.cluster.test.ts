// A kubeconfig of the kind EKS, GKE and AKS hand out (an exec credential plugin), reached through
// an HTTP CONNECT proxy (proxy-url): gitops-ci and kubectl, given the same file, reach the same
// real kube-apiserver, and both go through the proxy. Without proxy-url, HTTPS_PROXY and NO_PROXY
// decide, as they do for kubectl.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { createKubernetesClient } from "../../../core/kubernetes/client.ts";
import { loadClusterConnection } from "../../../core/kubernetes/kubeconfig.ts";
import { createProcessRunner } from "../../../core/process-runner.ts";
import { PROJECT_ROOT } from "../../../core/toolchain.ts";
import { clusterKubeconfig, uniqueName } from "../../cluster/local.ts";
import { startForwardProxy, type ForwardProxy } from "../../helpers/forward-proxy.ts";

const KUBECTL = path.join(PROJECT_ROOT, ".tools", "bin", "kubectl");

describe("exec credentials and proxy-url against a real kube-apiserver", () => {
  let proxy: ForwardProxy;
  let kubeconfig: string;
  let dir: string;

  beforeAll(async () => {
    proxy = await startForwardProxy();
    const local = parse(await readFile(clusterKubeconfig(), "utf8")) as Record<string, any>;
    const admin = local["users"].find(
      (user: any) => user.name === local["contexts"].find((c: any) => c.name === local["current-context"]).context.user,
    );
    dir = await mkdtemp(path.join(tmpdir(), "gitops-ci-exec-"));
    const plugin = path.join(dir, "credential-plugin");
    // Like aws eks get-token: reads its request from KUBERNETES_EXEC_INFO and prints an ExecCredential.
    await writeFile(
      plugin,
      [
        "#!/bin/sh",
        'case "$KUBERNETES_EXEC_INFO" in *\'"interactive":false\'*) ;; *) echo "no exec info" >&2; exit 3 ;; esac',
        '[ "$CLUSTER_ROLE" = admin ] || exit 4',
        `printf '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"%s"}}' '${admin.user.token}'`,
        "",
      ].join("\n"),
    );
    await chmod(plugin, 0o755);
    const cluster = local["clusters"][0];
    kubeconfig = path.join(dir, "kubeconfig");
    await writeFile(
      kubeconfig,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        "current-context": "eks",
        clusters: [{ name: "eks", cluster: { ...cluster.cluster, "proxy-url": proxy.url } }],
        users: [
          {
            name: "eks",
            user: {
              exec: {
                apiVersion: "client.authentication.k8s.io/v1beta1",
                command: plugin,
                env: [{ name: "CLUSTER_ROLE", value: "admin" }],
                interactiveMode: "Never",
              },
            },
          },
        ],
        contexts: [{ name: "eks", context: { cluster: "eks", user: "eks", namespace: "kube-system" } }],
      }),
    );
  });

  afterAll(async () => {
    await proxy?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("authenticates with the plugin's token through the proxy, as kubectl does with the same kubeconfig", async () => {
    // Asynchronously: the proxy runs in this process and must answer while kubectl waits.
    const kubectl = JSON.parse(
      (
        await promisify(execFile)(KUBECTL, ["auth", "whoami", "-o", "json"], {
          env: { KUBECONFIG: kubeconfig, HOME: "/nonexistent" },
          encoding: "utf8",
        })
      ).stdout,
    );
    const tunnelsOfKubectl = proxy.tunnels.length;
    expect(tunnelsOfKubectl).toBeGreaterThan(0);

    const runner = createProcessRunner({ env: {}, resolveTool: async (tool) => tool });
    const connection = await loadClusterConnection({ env: { KUBECONFIG: kubeconfig }, runner });
    expect(connection).toMatchObject({ contextName: "eks", proxyUrl: proxy.url, namespace: "kube-system" });
    const client = createKubernetesClient(connection);
    try {
      const namespaces = (await client.resourceFor("v1", "Namespace"))!;
      expect(await client.get(namespaces, "kube-system")).toMatchObject({ metadata: { name: "kube-system" } });
      // get of a namespaced object without a namespace uses the context's, as apply does.
      const configMaps = (await client.resourceFor("v1", "ConfigMap"))!;
      const name = uniqueName("exec");
      await client.apply(
        configMaps,
        { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "kube-system" }, data: { a: "b" } },
        { fieldManager: "gitops-ci-test", dryRun: false, force: true },
      );
      expect(await client.get(configMaps, name)).toMatchObject({ metadata: { name, namespace: "kube-system" } });
      await client.delete(configMaps, name);
      expect(await client.get(configMaps, name, "kube-system")).toBeUndefined();
    } finally {
      client.close();
    }
    expect(proxy.tunnels.length).toBeGreaterThan(tunnelsOfKubectl);
    expect(new Set(proxy.tunnels).size).toBe(1);
    expect(kubectl.status.userInfo.username).toBe("gitops-ci-admin");
  });
});

describe("HTTPS_PROXY and NO_PROXY against a real kube-apiserver", () => {
  /** A name on the API server's own certificate that only the proxy resolves. */
  const SERVER_NAME = "kubernetes.default.svc";
  let proxy: ForwardProxy;
  let dir: string;
  let byName: string;

  beforeAll(async () => {
    proxy = await startForwardProxy({ hosts: { [SERVER_NAME]: "127.0.0.1" } });
    dir = await mkdtemp(path.join(tmpdir(), "gitops-ci-env-proxy-"));
    const local = parse(await readFile(clusterKubeconfig(), "utf8")) as Record<string, any>;
    const cluster = local["clusters"][0];
    const server = new URL(cluster.cluster.server);
    byName = path.join(dir, "kubeconfig");
    await writeFile(
      byName,
      stringify({ ...local, clusters: [{ ...cluster, cluster: { ...cluster.cluster, server: `https://${SERVER_NAME}:${server.port}` } }] }),
    );
  });

  afterAll(async () => {
    await proxy?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function namespaceThrough(env: Record<string, string>): Promise<unknown> {
    const connection = await loadClusterConnection({ env: { KUBECONFIG: byName, ...env } });
    const client = createKubernetesClient(connection, { retry: { maxAttempts: 1 } });
    try {
      return await client.get((await client.resourceFor("v1", "Namespace"))!, "kube-system");
    } finally {
      client.close();
    }
  }

  it("tunnels through HTTPS_PROXY, as kubectl does with the same kubeconfig and environment", async () => {
    const kubectl = JSON.parse(
      (
        await promisify(execFile)(KUBECTL, ["get", "namespace", "kube-system", "-o", "json"], {
          env: { KUBECONFIG: byName, HOME: "/nonexistent", HTTPS_PROXY: proxy.url },
          encoding: "utf8",
        })
      ).stdout,
    );
    const ofKubectl = proxy.tunnels.length;
    expect(ofKubectl).toBeGreaterThan(0);
    expect(await namespaceThrough({ HTTPS_PROXY: proxy.url })).toMatchObject({
      metadata: { name: kubectl.metadata.name, uid: kubectl.metadata.uid },
    });
    expect(proxy.tunnels.length).toBeGreaterThan(ofKubectl);
    expect(new Set(proxy.tunnels)).toEqual(
      new Set([`${SERVER_NAME}:${new URL(parse(await readFile(byName, "utf8")).clusters[0].cluster.server).port}`]),
    );
  });

  it("goes around the proxy for a NO_PROXY server, as kubectl does", async () => {
    const before = proxy.tunnels.length;
    const env = { HTTPS_PROXY: proxy.url, NO_PROXY: ".svc" };
    const connection = await loadClusterConnection({ env: { KUBECONFIG: byName, ...env } });
    expect(connection.proxyUrl).toBeUndefined();
    // Directly, the name does not resolve: both fail without asking the proxy.
    const kubectl = await promisify(execFile)(KUBECTL, ["get", "namespace", "kube-system", "--request-timeout=10s"], {
      env: { KUBECONFIG: byName, HOME: "/nonexistent", ...env },
      encoding: "utf8",
    }).then(
      () => 0,
      (error: unknown) => (error as { code?: number }).code,
    );
    expect(kubectl).not.toBe(0);
    await expect(namespaceThrough(env)).rejects.toMatchObject({ failure: "unreachable" });
    expect(proxy.tunnels.length).toBe(before);
  });

  it("prefers the cluster's proxy-url to HTTPS_PROXY, and never proxies loopback from the environment", async () => {
    const fromEnv = await loadClusterConnection({ env: { KUBECONFIG: byName, HTTPS_PROXY: "http://127.0.0.1:9" } });
    expect(fromEnv.proxyUrl).toBe("http://127.0.0.1:9/");
    const loopback = await loadClusterConnection({ env: { KUBECONFIG: clusterKubeconfig(), HTTPS_PROXY: "http://127.0.0.1:9" } });
    expect(loopback.proxyUrl).toBeUndefined();
    const local = parse(await readFile(clusterKubeconfig(), "utf8")) as Record<string, any>;
    const file = path.join(dir, "with-proxy-url");
    await writeFile(
      file,
      stringify({
        ...local,
        clusters: [
          {
            ...local["clusters"][0],
            cluster: {
              ...local["clusters"][0].cluster,
              server: `https://${SERVER_NAME}:${new URL(local["clusters"][0].cluster.server).port}`,
              "proxy-url": proxy.url,
            },
          },
        ],
      }),
    );
    const connection = await loadClusterConnection({ env: { KUBECONFIG: file, HTTPS_PROXY: "http://127.0.0.1:9" } });
    expect(connection.proxyUrl).toBe(proxy.url);
    const client = createKubernetesClient(connection);
    try {
      expect(await client.version()).toMatchObject({ gitVersion: expect.stringMatching(/^v1\./) });
    } finally {
      client.close();
    }
  });
});
