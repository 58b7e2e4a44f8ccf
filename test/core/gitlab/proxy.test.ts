// GitLab through the runner's proxy: the task's environment (HTTP_PROXY, NO_PROXY) reaches the
// client, requests go through a real forward proxy to the GitLab API stand-in, and NO_PROXY and
// loopback go around it.
import { networkInterfaces } from "node:os";
import { describe, expect, it, onTestFinished } from "vitest";
import { createGitLabClient } from "../../../core/gitlab/client.ts";
import { GitLabApiError } from "../../../core/gitlab/request-handler.ts";
import { gitLabClientOptionsFor } from "../../../core/gitlab/task-client-options.ts";
import { quietContextWithEnv } from "../../helpers/context.ts";
import { startGitLab } from "../../helpers/gitlab.ts";
import { startForwardProxy } from "../../helpers/forward-proxy.ts";

const TOKEN = "glpat-report-bot-0123456789";
/** A name only the proxy resolves: an answer under it has come through the proxy. */
const PROXIED_HOST = "gitlab.example.test";

async function gitLabWithNotes(options: { host?: string } = {}) {
  const { gitlab, project, users } = await startGitLab({
    projectId: 42,
    mergeRequest: 7,
    tokens: { [TOKEN]: { username: "project_42_bot" } },
    ...options,
  });
  const bot = users[TOKEN]!;
  // Three pages at 100 a page: the Link header's next page goes through the proxy too.
  for (let index = 0; index < 250; index += 1) gitlab.addNote(project, 7, `note ${index}`, bot);
  return gitlab;
}

async function proxy() {
  const started = await startForwardProxy({ hosts: { [PROXIED_HOST]: "127.0.0.1" } });
  onTestFinished(() => started.close());
  return started;
}

function clientFor(apiUrl: string, env: Record<string, string>) {
  const context = quietContextWithEnv(env);
  return createGitLabClient({ ...gitLabClientOptionsFor(context, { apiUrl, token: TOKEN }), retry: { maxAttempts: 1 } });
}

/** An address of this machine that is not loopback, if it has one. */
const externalAddress = Object.values(networkInterfaces())
  .flat()
  .find((entry) => entry && entry.family === "IPv4" && !entry.internal)?.address;

describe("GitLab through HTTP_PROXY", () => {
  it("sends every request, pages included, through the proxy named by the task's environment", async () => {
    const gitlab = await gitLabWithNotes();
    const forward = await proxy();
    const apiUrl = `http://${PROXIED_HOST}:${new URL(gitlab.url).port}/api/v4`;
    const notes = await clientFor(apiUrl, { HTTP_PROXY: forward.url }).listNotes({ projectId: 42, mergeRequestIid: 7 });
    expect(notes).toHaveLength(250);
    expect(gitlab.requests.map((request) => request.query["page"] ?? "1")).toEqual(["1", "2", "3"]);
    expect(forward.forwarded).toHaveLength(3);
    expect(forward.forwarded.every((url) => new URL(url).host === new URL(apiUrl).host)).toBe(true);
    // The token went to GitLab, not into the URL the proxy logs.
    expect(forward.forwarded.join("\n")).not.toContain(TOKEN);
  });

  it("goes around the proxy for a NO_PROXY host", async () => {
    const forward = await proxy();
    const error = await clientFor(`http://${PROXIED_HOST}:9/api/v4`, { HTTP_PROXY: forward.url, NO_PROXY: ".test,localhost" })
      .currentUser()
      .catch((caught: unknown) => caught);
    // Directly, the name does not resolve: the client never asked the proxy.
    expect(error).toBeInstanceOf(GitLabApiError);
    expect((error as GitLabApiError).status).toBeUndefined();
    expect(forward.forwarded).toEqual([]);
    expect(forward.tunnels).toEqual([]);
  });

  it("goes around the proxy for loopback, as Go and curl do", async () => {
    const gitlab = await gitLabWithNotes();
    const forward = await proxy();
    expect(await clientFor(gitlab.apiUrl, { HTTP_PROXY: forward.url, HTTPS_PROXY: forward.url }).currentUser()).toMatchObject({
      username: "project_42_bot",
    });
    expect(forward.forwarded).toEqual([]);
  });

  it.skipIf(externalAddress === undefined)(
    "on a non-loopback address: through the proxy, and around it when a NO_PROXY range covers the address",
    async () => {
      const gitlab = await gitLabWithNotes({ host: externalAddress! });
      const forward = await proxy();
      expect(await clientFor(gitlab.apiUrl, { http_proxy: forward.url }).currentUser()).toMatchObject({ username: "project_42_bot" });
      expect(forward.forwarded).toEqual([`${gitlab.apiUrl}/user`]);
      const range = `${externalAddress!.split(".").slice(0, 3).join(".")}.0/24`;
      expect(await clientFor(gitlab.apiUrl, { http_proxy: forward.url, no_proxy: range }).currentUser()).toMatchObject({
        username: "project_42_bot",
      });
      expect(forward.forwarded).toHaveLength(1);
      expect(gitlab.requests).toHaveLength(2);
    },
  );
});
