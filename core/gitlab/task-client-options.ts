// How every task talks to GitLab: the token is a secret from the first moment (registered with
// the run's redactor before any request or push can echo it), bodies are redacted on the way out,
// retries are told in the job log, and the runner's proxy variables apply.
import type { TaskContext } from "../context.ts";
import { proxyPasswords, proxySettingsFromEnv } from "../http/proxy.ts";
import { createGitLabClient, type GitLabClient } from "./client.ts";
import { describeRetry, type GitLabClientOptions } from "./request-handler.ts";

export interface GitLabAccess {
  apiUrl: string;
  token: string;
  tokenVariable?: string;
  tokenAdvice?: string;
}

export function gitLabClientOptionsFor(
  context: Pick<TaskContext, "redactor" | "output" | "env">,
  access: GitLabAccess,
): GitLabClientOptions {
  context.redactor.add(access.token);
  const proxy = proxySettingsFromEnv(context.env);
  for (const password of proxyPasswords(proxy.httpsProxy, proxy.httpProxy)) context.redactor.add(password);
  return {
    ...access,
    redact: (text) => context.redactor.redact(text),
    onRetry: (event) => context.output.err(describeRetry(event)),
    proxy,
  };
}

/** The one way a task opens its GitLab client: through the context's factory (tests point it at the stand-in). */
export function openGitLabClient(context: Pick<TaskContext, "redactor" | "output" | "env" | "gitlab">, access: GitLabAccess): GitLabClient {
  return (context.gitlab ?? createGitLabClient)(gitLabClientOptionsFor(context, access));
}
