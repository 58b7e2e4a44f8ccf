import path from "node:path";
import { describe, expect, it } from "vitest";
import { UserError } from "../../../core/errors.ts";
import { kubeconfigFiles, loadClusterConnection } from "../../../core/kubernetes/kubeconfig.ts";
import { makeRepo } from "../../helpers/temp-repo.ts";

const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const b64 = (text: string) => Buffer.from(text).toString("base64");

describe("kubeconfig loading", () => {
  it("merges every file of KUBECONFIG: the first to define a name or current-context wins", async () => {
    const dir = await makeRepo({
      "a.yaml": [
        "apiVersion: v1",
        "kind: Config",
        "current-context: prod",
        "clusters:",
        `  - { name: prod, cluster: { server: "https://prod.example.com:6443/", certificate-authority-data: ${b64(CA)} } }`,
        "users:",
        "  - { name: ci, user: { token: first-token } }",
        "contexts:",
        "  - { name: prod, context: { cluster: prod, user: ci, namespace: apps } }",
      ].join("\n"),
      "b.yaml": [
        "current-context: staging",
        "clusters:",
        "  - { name: prod, cluster: { server: https://shadowed.example.com } }",
        "  - { name: staging, cluster: { server: https://staging.example.com, insecure-skip-tls-verify: true } }",
        "users:",
        "  - { name: ci, user: { token: shadowed } }",
        "contexts:",
        "  - { name: staging, context: { cluster: staging, user: ci } }",
      ].join("\n"),
    });
    const env = { KUBECONFIG: [path.join(dir, "a.yaml"), path.join(dir, "missing.yaml"), path.join(dir, "b.yaml")].join(path.delimiter) };
    expect(await loadClusterConnection({ env })).toEqual({
      contextName: "prod",
      server: "https://prod.example.com:6443",
      ca: CA,
      insecureSkipTlsVerify: false,
      token: "first-token",
      namespace: "apps",
    });
    expect(await loadClusterConnection({ env, context: "staging" })).toMatchObject({
      server: "https://staging.example.com",
      insecureSkipTlsVerify: true,
      token: "first-token",
      namespace: "default",
    });
  });

  it("reads a GitLab agent for Kubernetes context (<agent-project-path>:<agent-name>) by name, with files relative to the kubeconfig", async () => {
    const dir = await makeRepo({
      "ca.crt": CA,
      token: "agent-token\n",
      "client.crt": "CERT",
      "client.key": "KEY",
      kubeconfig: [
        "clusters:",
        "  - { name: gitlab, cluster: { server: https://kas.gitlab.example.com/k8s-proxy, certificate-authority: ca.crt } }",
        "users:",
        "  - { name: agent, user: { tokenFile: token } }",
        "  - { name: certs, user: { client-certificate: client.crt, client-key: client.key } }",
        "contexts:",
        "  - { name: 'platform/gitops:prod-agent', context: { cluster: gitlab, user: agent } }",
        "  - { name: certs, context: { cluster: gitlab, user: certs } }",
      ].join("\n"),
    });
    const env = { KUBECONFIG: path.join(dir, "kubeconfig") };
    expect(await loadClusterConnection({ env, context: "platform/gitops:prod-agent" })).toMatchObject({
      contextName: "platform/gitops:prod-agent",
      server: "https://kas.gitlab.example.com/k8s-proxy",
      ca: CA,
      token: "agent-token",
    });
    expect(await loadClusterConnection({ env, context: "certs" })).toMatchObject({ clientCertificate: "CERT", clientKey: "KEY" });
  });

  it("names the known contexts when the wanted one is missing, and says what is wrong with an exec plugin it cannot run", async () => {
    const dir = await makeRepo({
      kubeconfig: [
        "clusters: [{ name: c, cluster: { server: https://c.example.com } }]",
        "users: [{ name: eks, user: { exec: { command: aws } } }]",
        "contexts: [{ name: one, context: { cluster: c, user: eks } }, { name: two, context: { cluster: c, user: eks } }]",
      ].join("\n"),
    });
    const env = { KUBECONFIG: path.join(dir, "kubeconfig") };
    const missing = await loadClusterConnection({ env, context: "prod" }).catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(UserError);
    expect(missing).toMatchObject({ message: expect.stringContaining('context "prod" not found'), hint: "known contexts: one, two" });
    await expect(loadClusterConnection({ env })).rejects.toThrow(/has no current-context/);
    await expect(loadClusterConnection({ env, context: "one" })).rejects.toThrow(
      /user "eks": exec apiVersion undefined is not one of client.authentication.k8s.io\/v1, /,
    );
  });

  it("falls back to ~/.kube/config and says so when no kubeconfig exists", async () => {
    expect(kubeconfigFiles({ HOME: "/home/ci" })).toEqual(["/home/ci/.kube/config"]);
    await expect(loadClusterConnection({ env: { KUBECONFIG: "/nonexistent/kubeconfig" } })).rejects.toThrow(
      "no kubeconfig found (looked for /nonexistent/kubeconfig)",
    );
  });
});
