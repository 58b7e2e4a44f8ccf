// The GitLab side of a task test: the client factory a task context carries, pointed at the
// GitLab API stand-in with a fake clock (retry waits measured, not waited) or a wrapped transport.
import { createGitLabClient, type GitLabClientFactory } from "../../core/gitlab/client.ts";
import type { GitLabClientOptions } from "../../core/gitlab/request-handler.ts";

/** The real client, with these options over the ones the task built. */
export function gitLabClientWith(overrides: Partial<GitLabClientOptions>): GitLabClientFactory {
  return (options) => createGitLabClient({ ...options, ...overrides });
}
