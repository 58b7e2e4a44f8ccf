import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../../cli/main.ts";
import type { ObjectChange } from "../../../core/model/object-changes.ts";
import { diff } from "../../../tasks/diff/index.ts";
import { applyFleet, clusterEnv, uniqueName } from "../../cluster/local.ts";
import { clusterFleet, widgetCrd } from "../../cluster/fleet.ts";
import { captureContext } from "../../helpers/context.ts";
import { makeRepo, makeTempDir, writeTree } from "../../helpers/temp-repo.ts";

async function runDiff(
  root: string,
  options: { kubeContext?: string; env?: Record<string, string | undefined>; requestTimeoutMs?: number; outDir?: string } = {},
) {
  const captured = captureContext(root, options.env ?? clusterEnv());
  const result = await diff(captured.context, {
    dir: ".",
    json: false,
    ...(options.kubeContext ? { kubeContext: options.kubeContext } : {}),
    ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    ...(options.outDir ? { outDir: options.outDir } : {}),
  });
  return {
    ...result,
    stdout: captured.stdout(),
    stderr: captured.stderr(),
    changes: result.report.environments.flatMap((env) => env.changes),
  };
}

function find(changes: readonly ObjectChange[], kind: string, name: string): ObjectChange | undefined {
  return changes.find((change) => change.ref.kind === kind && change.ref.name === name);
}

describe("gitops-ci diff against a real kube-apiserver", () => {
  it("reports every object unchanged (exit 0) right after the fleet was applied as Flux would", async () => {
    const id = uniqueName("same");
    const root = await makeRepo(clusterFleet({ id }));
    await applyFleet(root, "test");

    const result = await runDiff(root);
    expect(result.report.environments[0]!.problems).toEqual([]);
    expect(result.changes.map((change) => `${change.layer}:${change.ref.kind}/${change.ref.name}:${change.action}`).sort()).toEqual([
      "apps:ConfigMap/legacy:unchanged",
      "apps:Service/web:unchanged",
      "configs:ConfigMap/settings:unchanged",
      "configs:Secret/credentials:unchanged",
      "controllers:Deployment/web:unchanged",
      `controllers:Namespace/${id}:unchanged`,
    ]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("no changes: test: 6 unchanged");
  });

  it("reports created, changed and pruned objects in layer order, with a diff of the fields that matter (exit 1)", async () => {
    const id = uniqueName("change");
    const root = await makeRepo(clusterFleet({ id }));
    await applyFleet(root, "test");
    // In Git: one more replica, a new ConfigMap, and the legacy ConfigMap removed.
    const deployment = path.join(root, "gitops/controllers/base/deployment.yaml");
    await writeFile(deployment, (await readFile(deployment, "utf8")).replace("replicas: 1", "replicas: 3"));
    await writeTree(root, {
      "gitops/apps/base/kustomization.yaml":
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - service.yaml\n  - feature-flags.yaml\n",
      "gitops/apps/base/feature-flags.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: feature-flags\n  namespace: ${id}\ndata:\n  beta: "on"\n`,
    });
    await rm(path.join(root, "gitops/apps/base/legacy.yaml"));

    const result = await runDiff(root);
    expect(result.report.environments[0]!.problems).toEqual([]);
    expect(result.exitCode).toBe(1);
    const update = find(result.changes, "Deployment", "web")!;
    expect(update).toMatchObject({ layer: "controllers", action: "update", file: "gitops/controllers/base/deployment.yaml" });
    expect(update.diff).toContain("-  replicas: 1\n+  replicas: 3");
    for (const serverField of ["managedFields", "resourceVersion", "uid", "generation", "creationTimestamp", "status:"])
      expect(update.diff).not.toContain(serverField);
    expect(find(result.changes, "ConfigMap", "feature-flags")).toMatchObject({ layer: "apps", action: "create" });
    expect(find(result.changes, "ConfigMap", "legacy")).toMatchObject({ layer: "apps", action: "prune" });
    expect(find(result.changes, "Service", "web")).toMatchObject({ action: "unchanged" });
    // Layer order: controllers, then configs, then apps.
    const layers = [...new Set(result.changes.map((change) => change.layer))];
    expect(layers).toEqual(["controllers", "configs", "apps"]);
    expect(result.stdout).toMatch(/- ConfigMap\/.+\/legacy\s+to prune/);
  });

  it("skips what Flux skips: reconcile: disabled and ssa: IfNotPresent on an existing object", async () => {
    const id = uniqueName("skip");
    const root = await makeRepo(clusterFleet({ id }));
    await applyFleet(root, "test");
    await writeTree(root, {
      "gitops/configs/base/settings.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ${id}\n  annotations:\n    kustomize.toolkit.fluxcd.io/reconcile: disabled\ndata:\n  mode: relaxed\n`,
      "gitops/apps/base/service.yaml": `apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: ${id}\n  annotations:\n    kustomize.toolkit.fluxcd.io/ssa: IfNotPresent\nspec:\n  selector: { app: web }\n  ports:\n    - port: 8080\n`,
    });
    const result = await runDiff(root);
    expect(find(result.changes, "ConfigMap", "settings")).toMatchObject({
      action: "skip",
      reason: expect.stringContaining("reconcile: disabled"),
    });
    expect(find(result.changes, "Service", "web")).toMatchObject({ action: "skip", reason: expect.stringContaining("IfNotPresent") });
    expect(result.exitCode).toBe(0);
  });

  it("reports objects that need a Namespace or CRD from an earlier layer of the same change as waiting on it", async () => {
    const id = uniqueName("wait");
    const group = `${id}.example.com`;
    const root = await makeRepo(clusterFleet({ id }));
    await applyFleet(root, "test");
    await writeTree(root, {
      "gitops/controllers/base/kustomization.yaml":
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - namespace.yaml\n  - deployment.yaml\n  - team.yaml\n  - widget-crd.yaml\n",
      "gitops/controllers/base/team.yaml": `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${id}-team\n`,
      "gitops/controllers/base/widget-crd.yaml": widgetCrd(group),
      "gitops/apps/base/kustomization.yaml":
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - service.yaml\n  - legacy.yaml\n  - team-config.yaml\n  - widget.yaml\n",
      "gitops/apps/base/team-config.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: team\n  namespace: ${id}-team\ndata:\n  a: b\n`,
      "gitops/apps/base/widget.yaml": `apiVersion: ${group}/v1\nkind: Widget\nmetadata:\n  name: first\n  namespace: ${id}\nspec:\n  size: 3\n`,
    });
    const result = await runDiff(root);
    expect(result.report.environments[0]!.problems).toEqual([]);
    expect(find(result.changes, "Namespace", `${id}-team`)).toMatchObject({ layer: "controllers", action: "create" });
    expect(find(result.changes, "CustomResourceDefinition", `widgets.${group}`)).toMatchObject({ layer: "controllers", action: "create" });
    expect(find(result.changes, "ConfigMap", "team")).toMatchObject({
      layer: "apps",
      action: "wait",
      waitingOn: "controllers",
      reason: `needs Namespace ${id}-team`,
    });
    expect(find(result.changes, "Widget", "first")).toMatchObject({
      layer: "apps",
      action: "wait",
      waitingOn: "controllers",
      reason: `needs CustomResourceDefinition widgets.${group}`,
    });
    expect(result.exitCode).toBe(1);
  });

  it("exits 2 naming the kind when a custom resource has no CRD in the cluster nor in the change", async () => {
    const id = uniqueName("nocrd");
    const root = await makeRepo(clusterFleet({ id }));
    await applyFleet(root, "test");
    await writeTree(root, {
      "gitops/apps/base/kustomization.yaml":
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - service.yaml\n  - legacy.yaml\n  - gadget.yaml\n",
      "gitops/apps/base/gadget.yaml": `apiVersion: gadgets.example.org/v1\nkind: Gadget\nmetadata:\n  name: one\n  namespace: ${id}\nspec: {}\n`,
    });
    const result = await runDiff(root, { outDir: "out" });
    expect(result.exitCode).toBe(2);
    // The problem reaches the merge request's test summary and Code Quality widget, with its file.
    expect(await readFile(path.join(root, "out/junit.xml"), "utf8")).toMatch(
      /<testcase classname="diff\/unknown-kind" name="[^"]*Gadget [^"]*one: [^"]*serves no Gadget[^"]*" file="gitops\/apps\/base\/gadget.yaml"/,
    );
    expect(JSON.parse(await readFile(path.join(root, "out/gl-code-quality-report.json"), "utf8"))).toEqual([
      expect.objectContaining({
        check_name: "diff/unknown-kind",
        severity: "major",
        location: expect.objectContaining({ path: "gitops/apps/base/gadget.yaml" }),
      }),
    ]);
    expect(result.report.environments[0]!.problems).toEqual([
      expect.objectContaining({
        severity: "error",
        check: "diff/unknown-kind",
        layer: "apps",
        resource: expect.objectContaining({ kind: "Gadget", name: "one" }),
        file: "gitops/apps/base/gadget.yaml",
        message: expect.stringContaining("serves no Gadget in gadgets.example.org/v1"),
      }),
    ]);
    expect(result.stdout).toContain("INCOMPLETE");
    expect(result.stdout).not.toContain("no changes");
  });

  it("exits 2 with a forbidden message for a token without rights", async () => {
    const id = uniqueName("nobody");
    const root = await makeRepo(clusterFleet({ id }));
    await applyFleet(root, "test");
    const result = await runDiff(root, { kubeContext: "gitops-ci-local-nobody" });
    expect(result.exitCode).toBe(2);
    const problems = result.report.environments[0]!.problems;
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]!.message).toMatch(/^forbidden: .*User "gitops-ci-nobody" cannot (get|list) resource/);
    expect(result.stdout).toContain("docs/rbac/diff-identity.yaml");
    expect(result.stdout).not.toMatch(/no changes/);
  });

  it("exits 2, never 'no changes', when the cluster is down or does not answer", async () => {
    const root = await makeRepo(clusterFleet({ id: uniqueName("down") }));
    const dir = await makeTempDir();
    const kubeconfig = (port: number) =>
      `apiVersion: v1\nkind: Config\ncurrent-context: down\nclusters:\n  - name: down\n    cluster:\n      server: https://127.0.0.1:${port}\n      insecure-skip-tls-verify: true\nusers:\n  - name: u\n    user:\n      token: t\ncontexts:\n  - name: down\n    context: { cluster: down, user: u }\n`;

    const net = await import("node:net");
    // A port nobody listens on: connection refused.
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const closedPort = (closed.address() as import("node:net").AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await writeFile(path.join(dir, "refused"), kubeconfig(closedPort));
    const refused = await runDiff(root, { kubeContext: "down", env: clusterEnv({ KUBECONFIG: path.join(dir, "refused") }) });
    expect(refused.exitCode).toBe(2);
    expect(refused.report.environments[0]!.problems).toEqual([
      expect.objectContaining({
        check: "diff/cluster",
        message: expect.stringMatching(
          /^unreachable: cannot reach the Kubernetes API server https:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED/,
        ),
      }),
    ]);
    expect(refused.stdout).toContain("INCOMPLETE");

    // A server that accepts connections and never answers: timeout.
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      await writeFile(path.join(dir, "silent"), kubeconfig((silent.address() as import("node:net").AddressInfo).port));
      const timedOut = await runDiff(root, {
        kubeContext: "down",
        env: clusterEnv({ KUBECONFIG: path.join(dir, "silent") }),
        requestTimeoutMs: 500,
      });
      expect(timedOut.exitCode).toBe(2);
      expect(timedOut.report.environments[0]!.problems[0]!.message).toMatch(
        /^timeout: the Kubernetes API server .* did not answer within 1s/,
      );
    } finally {
      silent.close();
    }
  });

  it("masks Secrets: only the keys that change, never a value, in stdout, stderr, JSON, Markdown or artifacts", async () => {
    const id = uniqueName("secret");
    const livePassword = "canary-live-5f8d1c9e2a";
    const gitPassword = "canary-git-7b3e0a4d6f";
    const root = await makeRepo(clusterFleet({ id, password: livePassword }));
    await applyFleet(root, "test");
    await writeTree(root, {
      "gitops/configs/base/credentials.yaml": `apiVersion: v1\nkind: Secret\nmetadata:\n  name: credentials\n  namespace: ${id}\n  labels:\n    rotated: "yes"\ntype: Opaque\nstringData:\n  password: ${gitPassword}\n  token: canary-new-key-0c4f2b\n`,
    });
    const out = await makeTempDir();
    let stdout = "";
    let stderr = "";
    const run = async (args: string[]) => {
      const code = await runCli(args, {
        cwd: root,
        env: clusterEnv(),
        stdout: { write: (text: string) => (stdout += text) },
        stderr: { write: (text: string) => (stderr += text) },
        cpus: 2,
      });
      return code;
    };
    expect(await run(["diff", ".", "--out", out])).toBe(1);
    expect(await run(["diff", ".", "--json"])).toBe(1);

    const report = JSON.parse(stdout.slice(stdout.indexOf("{"))) as { environments: { changes: ObjectChange[] }[] };
    const secret = find(report.environments[0]!.changes, "Secret", "credentials")!;
    expect(secret.action).toBe("update");
    expect(secret.diff).toContain("data.password: changed");
    expect(secret.diff).toContain("data.token: added");
    expect(secret.diff).not.toContain("data.username");
    expect(secret.diff).toContain("+    rotated: yes");

    const artifacts = [await readFile(path.join(out, "diff.json"), "utf8"), await readFile(path.join(out, "diff.md"), "utf8")];
    expect(artifacts[1]).toContain("data.password: changed");
    for (const text of [stdout, stderr, ...artifacts]) {
      for (const value of [livePassword, gitPassword, "canary-new-key-0c4f2b"]) {
        expect(text).not.toContain(value);
        expect(text).not.toContain(Buffer.from(value).toString("base64"));
      }
    }
  });
});
