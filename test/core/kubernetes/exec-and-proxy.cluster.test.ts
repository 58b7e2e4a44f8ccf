// A kubeconfig of the kind EKS, GKE and AKS hand out (an exec credential plugin), reached through
// an HTTP CONNECT proxy (proxy-url): gitops-ci and kubectl, given the same file, reach the same
// real kube-apiserver, and both go through the proxy.
import { execFileSync } from "node:child_process";
import { chmod, readFile, writeFile } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { createKubernetesClient } from "../../../core/kubernetes/client.ts";
import { loadClusterConnection } from "../../../core/kubernetes/kubeconfig.ts";
import { createProcessRunner } from "../../../core/process-runner.ts";
import { PROJECT_ROOT } from "../../../core/toolchain.ts";
import { clusterKubeconfig } from "../../cluster/local.ts";
import { makeTempDir } from "../../helpers/temp-repo.ts";

const KUBECTL = path.join(PROJECT_ROOT, ".tools", "bin", "kubectl");

/** A minimal forward proxy: CONNECT only, counting the tunnels it opened. */
function startConnectProxy(): Promise<{ url: string; tunnels: string[]; close(): Promise<void> }> {
  const tunnels: string[] = [];
  const server = http.createServer((_request, response) => response.writeHead(405).end());
  server.on("connect", (request: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const [host, port] = String(request.url).split(":");
    tunnels.push(String(request.url));
    const upstream = net.connect(Number(port), host!, () => {
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

  beforeAll(async () => {
    proxy = await startConnectProxy();
    const local = parse(await readFile(clusterKubeconfig(), "utf8")) as Record<string, any>;
    const admin = local["users"].find((user: any) => user.name === local["contexts"].find((c: any) => c.name === local["current-context"]).context.user);
    const dir = await makeTempDir();
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
  });

  it("authenticates with the plugin's token through the proxy, as kubectl does with the same kubeconfig", async () => {
    const kubectl = JSON.parse(execFileSync(KUBECTL, ["auth", "whoami", "-o", "json"], { env: { KUBECONFIG: kubeconfig, HOME: "/nonexistent" }, encoding: "utf8" }));
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
      expect(await client.get(configMaps, "extension-apiserver-authentication")).toMatchObject({ metadata: { namespace: "kube-system" } });
    } finally {
      client.close();
    }
    expect(proxy.tunnels.length).toBeGreaterThan(tunnelsOfKubectl);
    expect(new Set(proxy.tunnels).size).toBe(1);
    expect(kubectl.status.userInfo.username).toBe("gitops-ci-admin");
  });
});
