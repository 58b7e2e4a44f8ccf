import { readFile, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { driftMarker } from "../../../tasks/drift/drift-issues.ts";
import { drift } from "../../../tasks/drift/index.ts";
import { clusterFleet } from "../../cluster/fleet.ts";
import { applyFleet, clusterClient, clusterEnv, uniqueName } from "../../cluster/local.ts";
import { captureContext } from "../../helpers/context.ts";
import { FakeGitLab, type FakeProject } from "../../helpers/fake-gitlab.ts";
import { startGitLab } from "../../helpers/gitlab.ts";
import { makeRepo, makeTempDir } from "../../helpers/temp-repo.ts";

const TOKEN = "glpat-drift-bot-0123456789";

/** A GitLab that answers as the REST API v4 does, with one project and the drift job's token. */
async function driftGitLab(): Promise<{ gitlab: FakeGitLab; project: FakeProject; env: Record<string, string> }> {
  const { gitlab, project } = await startGitLab({
    project: "group/project",
    projectId: 42,
    tokens: { [TOKEN]: { username: "project_42_bot" } },
  });
  const env = {
    GITOPS_CI_GITLAB_TOKEN: TOKEN,
    CI_SERVER_URL: gitlab.url,
    CI_PROJECT_ID: "42",
    CI_JOB_URL: "https://gitlab.example.com/group/project/-/jobs/7",
  };
  return { gitlab, project, env };
}

async function runDrift(root: string, env: Record<string, string | undefined>, outDir: string) {
  const captured = captureContext(root, env);
  const result = await drift(captured.context, { dir: ".", json: false, outDir });
  return { ...result, stdout: captured.stdout(), stderr: captured.stderr() };
}

/** Someone changes the cluster by hand: kubectl edit, with another field manager. */
async function editLiveConfigMap(namespace: string, data: Record<string, string>): Promise<void> {
  const admin = await clusterClient("admin");
  try {
    const configMaps = (await admin.resourceFor("v1", "ConfigMap"))!;
    await admin.apply(
      configMaps,
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings", namespace }, data },
      { fieldManager: "kubectl-edit", dryRun: false, force: true },
    );
  } finally {
    admin.close();
  }
}

describe("gitops-ci drift against a real kube-apiserver and a GitLab issues API", () => {
  it("opens one issue per environment when drift appears, comments when it changes, closes it when it is gone, reopens it when it is back", async () => {
    const id = uniqueName("drift");
    const root = await makeRepo(clusterFleet({ id }));
    await applyFleet(root, "test");
    const { gitlab, project, env: gitlabEnv } = await driftGitLab();
    // Other environments' drift issues, enough to need a second page (GitLab serves at most 100 per page).
    for (let index = 0; index < 120; index += 1)
      gitlab.addIssue(project, {
        title: `Drift in other-${index}`,
        labels: ["gitops-drift"],
        description: driftMarker(`other-${index}`, "abc"),
      });
    const issues = () => [...project.issues.values()];
    const env = clusterEnv(gitlabEnv);
    const out = await makeTempDir();

    const clean = await runDrift(root, env, out);
    expect(clean.exitCode).toBe(0);
    expect(clean.issues).toEqual([{ environment: "test", outcome: "clean" }]);
    expect(issues()).toHaveLength(120);
    expect(gitlab.requests.some((request) => request.method === "GET" && request.query["page"] === "2")).toBe(true);
    expect(await readFile(path.join(out, "drift.md"), "utf8")).toContain("6 unchanged");

    await editLiveConfigMap(id, { mode: "relaxed" });
    const opened = await runDrift(root, env, out);
    expect(opened.exitCode).toBe(1);
    expect(opened.issues[0]).toMatchObject({ environment: "test", outcome: "opened" });
    const issue = issues().find((candidate) => candidate.description?.includes("environment=test"))!;
    expect(issue).toMatchObject({ state: "opened", title: "Drift in test: 1 object differs from Git", labels: ["gitops-drift"] });
    expect(issue.description).toContain("-  mode: relaxed");
    expect(issue.description).toContain("+  mode: strict");
    expect(await readFile(path.join(out, "drift.json"), "utf8")).toContain('"action": "update"');

    const same = await runDrift(root, env, out);
    expect(same.issues[0]).toMatchObject({ outcome: "unchanged" });
    expect(issue.notes).toHaveLength(0);

    await editLiveConfigMap(id, { mode: "paranoid" });
    const changed = await runDrift(root, env, out);
    expect(changed.issues[0]).toMatchObject({ outcome: "commented" });
    expect(issue.notes).toHaveLength(1);
    expect(issue.notes[0]!.body).toContain("The drift in **test** changed (https://gitlab.example.com/group/project/-/jobs/7)");
    expect(issue.notes[0]!.body).toContain("-  mode: paranoid");
    expect(issue.description).toContain("-  mode: paranoid");

    await applyFleet(root, "test"); // Flux reconciles: the cluster matches Git again
    const resolved = await runDrift(root, env, out);
    expect(resolved.exitCode).toBe(0);
    expect(resolved.issues[0]).toMatchObject({ outcome: "closed" });
    expect(issue.state).toBe("closed");
    expect(issue.notes.at(-1)!.body).toContain("matches Git again");

    await editLiveConfigMap(id, { mode: "relaxed" });
    const back = await runDrift(root, env, out);
    expect(back.issues[0]).toMatchObject({ outcome: "reopened" });
    expect(issue.state).toBe("opened");
    expect(issues().filter((candidate) => candidate.description?.includes("environment=test"))).toHaveLength(1);
    // The fleet's Secret value never reaches GitLab.
    const sent = gitlab.sentText();
    for (const value of ["initial-password-value", Buffer.from("initial-password-value").toString("base64")])
      expect(sent).not.toContain(value);
  });

  it("leaves the issue alone and exits 2 when the cluster cannot be read: never 'no drift'", async () => {
    const id = uniqueName("driftdown");
    const root = await makeRepo(clusterFleet({ id }));
    const { gitlab, project, env: gitlabEnv } = await driftGitLab();
    const issue = gitlab.addIssue(project, {
      title: "Drift in test: 1 object differs from Git",
      labels: ["gitops-drift"],
      description: `${driftMarker("test", "0123456789abcdef")}\nold report`,
    });
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const dir = await makeTempDir();
    await writeFile(
      path.join(dir, "kubeconfig"),
      `apiVersion: v1\nkind: Config\nclusters:\n  - name: c\n    cluster: { server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true }\nusers:\n  - name: u\n    user: { token: t }\ncontexts:\n  - name: gitops-ci-local\n    context: { cluster: c, user: u }\n`,
    );
    const result = await runDrift(root, clusterEnv({ ...gitlabEnv, KUBECONFIG: path.join(dir, "kubeconfig") }), await makeTempDir());
    expect(result.exitCode).toBe(2);
    expect(result.issues).toEqual([{ environment: "test", outcome: "not-touched" }]);
    expect(issue).toMatchObject({ state: "opened", notes: [] });
    expect(issue.description).toContain("old report");
    expect(gitlab.requests.filter((request) => request.method !== "GET")).toEqual([]);
    expect(result.stdout).toContain("INCOMPLETE");
  });
});
