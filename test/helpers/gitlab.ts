// The GitLab side of a test: the GitLab API stand-in started with a project and its tokens, and the
// client factory a task context carries, with a fake clock (retry waits measured, not waited).
import { onTestFinished } from "vitest";
import { createGitLabClient, type GitLabClientFactory } from "../../core/gitlab/client.ts";
import type { GitLabClientOptions } from "../../core/gitlab/request-handler.ts";
import { FakeGitLab, type FakeProject, type FakeUser } from "./fake-gitlab.ts";

/** The real client, with these options over the ones the task built. */
export function gitLabClientWith(overrides: Partial<GitLabClientOptions>): GitLabClientFactory {
  return (options) => createGitLabClient({ ...options, ...overrides });
}

export interface TokenGrant {
  username: string;
  scopes?: ("api" | "read_api")[];
  bot?: boolean;
}

export interface StartedGitLab {
  gitlab: FakeGitLab;
  project: FakeProject;
  /** The user of each token, by token. */
  users: Record<string, FakeUser>;
}

/**
 * The GitLab API stand-in with one project, its tokens and (optionally) an open merge request,
 * closed when the test ends (from a test or a beforeEach alike).
 */
export async function startGitLab(options: {
  project?: string;
  projectId?: number;
  mergeRequest?: number;
  tokens: Record<string, TokenGrant>;
  host?: string;
}): Promise<StartedGitLab> {
  const gitlab = await FakeGitLab.start(options.host ? { host: options.host } : {});
  onTestFinished(() => gitlab.close());
  const project =
    options.projectId !== undefined
      ? gitlab.addProject(options.project ?? "platform/fleet", options.projectId)
      : gitlab.addProject(options.project ?? "platform/fleet");
  if (options.mergeRequest !== undefined) gitlab.addMergeRequest(project, options.mergeRequest);
  const users: Record<string, FakeUser> = {};
  for (const [token, grant] of Object.entries(options.tokens)) {
    users[token] = gitlab.addToken(
      token,
      { username: grant.username, ...(grant.bot !== undefined ? { bot: grant.bot } : {}) },
      grant.scopes ? { scopes: grant.scopes } : {},
    );
  }
  return { gitlab, project, users };
}
