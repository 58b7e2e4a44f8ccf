// Which cluster, identity and namespace a kubeconfig selects, checked against kubectl itself:
// `kubectl config view --minify --flatten` prints what kubectl would use for a context.
import { execFileSync, spawnSync } from "node:child_process";
import { chmod, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadClusterConnection } from "../../../core/kubernetes/kubeconfig.ts";
import { createProcessRunner } from "../../../core/process-runner.ts";
import { PROJECT_ROOT } from "../../../core/toolchain.ts";
import { makeRepo } from "../../helpers/temp-repo.ts";

const KUBECTL = path.join(PROJECT_ROOT, ".tools", "bin", "kubectl");
const CA = "-----BEGIN CERTIFICATE-----\nMIIBoracle\n-----END CERTIFICATE-----\n";
const b64 = (text: string) => Buffer.from(text).toString("base64");
const unb64 = (text: unknown) => (typeof text === "string" ? Buffer.from(text, "base64").toString("utf8") : undefined);

interface Minified {
  clusters: { cluster: Record<string, unknown> }[];
  users: { user: Record<string, unknown> }[];
  contexts: { context: Record<string, unknown> }[];
}

function kubectlView(kubeconfig: string, context: string): Minified {
  const out = execFileSync(KUBECTL, ["config", "view", "--minify", "--flatten", "--context", context], {
    env: { KUBECONFIG: kubeconfig, HOME: "/nonexistent" },
    encoding: "utf8",
  });
  return parse(out) as Minified;
}

describe("kubeconfig, as kubectl reads it", () => {
  it("selects the same server, CA, TLS settings, proxy, credentials and namespace as kubectl for every context", async () => {
    const dir = await makeRepo({
      "certs/ca.crt": CA,
      "certs/client.crt": "CLIENT-CERT",
      "certs/client.key": "CLIENT-KEY",
      "a.yaml": [
        "apiVersion: v1",
        "kind: Config",
        "current-context: prod",
        "clusters:",
        `  - { name: prod, cluster: { server: "https://prod.example.com:6443", certificate-authority-data: ${b64(CA)}, tls-server-name: api.internal } }`,
        "  - { name: proxied, cluster: { server: https://10.0.0.1:6443, certificate-authority: certs/ca.crt, proxy-url: http://proxy.example.com:3128 } }",
        "users:",
        "  - { name: ci, user: { token: first-token } }",
        "  - { name: certs, user: { client-certificate: certs/client.crt, client-key: certs/client.key } }",
        "contexts:",
        "  - { name: prod, context: { cluster: prod, user: ci, namespace: apps } }",
        "  - { name: proxied, context: { cluster: proxied, user: certs } }",
      ].join("\n"),
      "b.yaml": [
        "current-context: staging",
        "clusters:",
        "  - { name: prod, cluster: { server: https://shadowed.example.com } }",
        "  - { name: staging, cluster: { server: https://staging.example.com, insecure-skip-tls-verify: true } }",
        "users:",
        "  - { name: ci, user: { token: shadowed } }",
        "  - { name: data, user: { client-certificate-data: " + b64("DATA-CERT") + ", client-key-data: " + b64("DATA-KEY") + " } }",
        "contexts:",
        "  - { name: staging, context: { cluster: staging, user: ci } }",
        "  - { name: prod, context: { cluster: staging, user: data, namespace: shadowed } }",
        "  - { name: data, context: { cluster: prod, user: data, namespace: ops } }",
      ].join("\n"),
    });
    const kubeconfig = [path.join(dir, "a.yaml"), path.join(dir, "missing.yaml"), path.join(dir, "b.yaml")].join(path.delimiter);
    for (const context of ["prod", "proxied", "staging", "data"]) {
      const view = kubectlView(kubeconfig, context);
      const cluster = view.clusters[0]!.cluster;
      const user = view.users[0]!.user;
      const ours = await loadClusterConnection({ env: { KUBECONFIG: kubeconfig }, context });
      expect(ours.server, context).toBe(String(cluster["server"]).replace(/\/+$/, ""));
      expect(ours.ca, context).toBe(unb64(cluster["certificate-authority-data"]));
      expect(ours.insecureSkipTlsVerify, context).toBe(cluster["insecure-skip-tls-verify"] === true);
      expect(ours.tlsServerName, context).toBe(cluster["tls-server-name"]);
      expect(ours.proxyUrl, context).toBe(cluster["proxy-url"]);
      expect(ours.token, context).toBe(user["token"]);
      expect(ours.clientCertificate, context).toBe(unb64(user["client-certificate-data"]));
      expect(ours.clientKey, context).toBe(unb64(user["client-key-data"]));
      expect(ours.namespace, context).toBe(view.contexts[0]!.context["namespace"] ?? "default");
    }
  });

  it("runs an exec plugin named by a path relative to the kubeconfig, the file kubectl runs, and uses its token", async () => {
    const dir = await makeRepo({
      // Logs which file ran, then answers as aws eks get-token does.
      "config/bin/credential": `#!/bin/sh\necho "$0" >> "$(dirname "$0")/runs.log"\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-the-plugin"}}'\n`,
      "config/kubeconfig": [
        "clusters: [{ name: c, cluster: { server: 'https://127.0.0.1:1' } }]",
        "users: [{ name: eks, user: { exec: { apiVersion: client.authentication.k8s.io/v1, command: ./bin/credential, interactiveMode: Never } } }]",
        "contexts: [{ name: eks, context: { cluster: c, user: eks } }]",
      ].join("\n"),
    });
    await chmod(path.join(dir, "config/bin/credential"), 0o755);
    const kubeconfig = path.join(dir, "config/kubeconfig");
    const log = path.join(dir, "config/bin/runs.log");
    // kubectl, run from elsewhere, finds the plugin beside its kubeconfig (the server is unreachable).
    spawnSync(KUBECTL, ["get", "--raw", "/version", "--context", "eks", "--request-timeout", "2s"], {
      cwd: "/",
      env: { KUBECONFIG: kubeconfig, HOME: "/nonexistent" },
    });
    const byKubectl = (await readFile(log, "utf8")).trim().split("\n");
    expect(byKubectl.length).toBeGreaterThan(0);
    await rm(log);
    const runner = createProcessRunner({ env: {}, resolveTool: async (tool) => tool });
    expect(await loadClusterConnection({ env: { KUBECONFIG: kubeconfig }, context: "eks", runner })).toMatchObject({
      token: "from-the-plugin",
    });
    expect((await readFile(log, "utf8")).trim()).toBe(byKubectl[0]);
  });
});
