// A kubeconfig of the kind EKS, GKE and AKS hand out (an exec credential plugin), reached through
// an HTTP CONNECT proxy (proxy-url): gitops-ci and kubectl, given the same file, reach the same
// real kube-apiserver, and both go through the proxy.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { createKubernetesClient } from "../../../core/kubernetes/client.ts";
import { loadClusterConnection } from "../../../core/kubernetes/kubeconfig.ts";
import { createProcessRunner } from "../../../core/process-runner.ts";
import { PROJECT_ROOT } from "../../../core/toolchain.ts";
import { clusterKubeconfig, uniqueName } from "../../cluster/local.ts";

const KUBECTL = path.join(PROJECT_ROOT, ".tools", "bin", "kubectl");

/** A minimal forward proxy: CONNECT only, counting the tunnels it opened. */
function startConnectProxy(): Promise<{ url: string; tunnels: string[]; close(): Promise<void> }> {
  const tunnels: string[] = [];
  const server = http.createServer((_request, response) => response.writeHead(405).end());
  server.on("connect", (request: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const [host, port] = String(request.url).split(":");
    tunnels.push(String(request.url));
    const upstream = net.connect(Number(port), host, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}`, tunnels, close: () => new Promise((done) => { server.closeAllConnections(); server.close(() => done()); }) });
    });
  });
}

describe("exec credentials and proxy-url against a real kube-apiserver", () => {
  let proxy: Awaited<ReturnType<typeof startConnectProxy>>;
  let kubeconfig: string;
  let dir: string;

  beforeAll(async () => {
    proxy = await startConnectProxy();
    const local = parse(await readFile(clusterKubeconfig(), "utf8")) as Record<string, any>;
    const admin = local["users"].find((user: any) => user.name === local["contexts"].find((c: any) => c.name === local["current-context"]).context.user);
    dir = await mkdtemp(path.join(tmpdir(), "gitops-ci-exec-"));
    const plugin = path.join(dir, "credential-plugin");
    // Like aws eks get-token: reads its request from KUBERNETES_EXEC_INFO and prints an ExecCredential.
    await writeFile(plugin, [
      "#!/bin/sh",
      'case "$KUBERNETES_EXEC_INFO" in *\'"interactive":false\'*) ;; *) echo "no exec info" >&2; exit 3 ;; esac',
      '[ "$CLUSTER_ROLE" = admin ] || exit 4',
      `printf '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"%s"}}' '${admin.user.token}'`,
      "",
    ].join("\n"));
    await chmod(plugin, 0o755);
    const cluster = local["clusters"][0];
    kubeconfig = path.join(dir, "kubeconfig");
    await writeFile(kubeconfig, stringify({
      apiVersion: "v1",
      kind: "Config",
      "current-context": "eks",
      clusters: [{ name: "eks", cluster: { ...cluster.cluster, "proxy-url": proxy.url } }],
      users: [{ name: "eks", user: { exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: plugin, env: [{ name: "CLUSTER_ROLE", value: "admin" }], interactiveMode: "Never" } } }],
      contexts: [{ name: "eks", context: { cluster: "eks", user: "eks", namespace: "kube-system" } }],
    }));
  });

  afterAll(async () => {
    await proxy?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("authenticates with the plugin's token through the proxy, as kubectl does with the same kubeconfig", async () => {
    // Asynchronously: the proxy runs in this process and must answer while kubectl waits.
    const kubectl = JSON.parse((await promisify(execFile)(KUBECTL, ["auth", "whoami", "-o", "json"], { env: { KUBECONFIG: kubeconfig, HOME: "/nonexistent" }, encoding: "utf8" })).stdout);
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
      await client.apply(configMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "kube-system" }, data: { a: "b" } }, { fieldManager: "gitops-ci-test", dryRun: false, force: true });
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
