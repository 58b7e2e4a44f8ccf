// The one request handler every GitLab call goes through: what gitbeaker calls for each HTTP request.
//
// Why our own handler: gitbeaker's default one (in @gitbeaker/rest) retries 429 and 502 only, ten
// times, 0.25 ms × 2^n apart (under a quarter of a second in all), never reads Retry-After, and
// sends with global fetch, which ignores HTTPS_PROXY/NO_PROXY. Here requests go through the shared
// HTTP layer (core/http/: the proxy from the task's environment, the retry policy) with one time
// budget for the whole client (a task's every request, attempts and waits included), not one per
// request; every failure becomes a GitLabApiError a person can act on, and every request body
// passes the redactor.
import {
  createRequesterFn,
  getMatchingRateLimiter,
  type FormattedResponse,
  type RateLimiters,
  type RequestOptions,
} from "@gitbeaker/requester-utils";
import { UserError } from "../errors.ts";
import type { ProxySettings } from "../http/proxy.ts";
import { realClock, seconds, sendWithRetries, type Clock, type RetryPolicy } from "../http/retry.ts";
import { createHttpTransport, type HttpResponse, type HttpTransport } from "../http/transport.ts";
import { TOKEN_ADVICE } from "./ci-environment.ts";

export { backoffDelay, isRetryable, parseRetryAfter, realClock, type Clock, type RetryPolicy } from "../http/retry.ts";

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = {
  maxAttempts: 6,
  baseDelayMs: 1_000,
  maxDelayMs: 30_000,
  maxTotalMs: 180_000,
  attemptTimeoutMs: 60_000,
};

export interface GitLabClientOptions {
  /** CI_API_V4_URL. */
  apiUrl: string;
  token: string;
  /** The variable the token came from, named in error hints. */
  tokenVariable?: string;
  /** What token the task needs and where to store it, shown when GitLab rejects the token (401). */
  tokenAdvice?: string;
  retry?: Partial<RetryPolicy>;
  clock?: Clock;
  /** In [0, 1); the jitter's source. */
  random?: () => number;
  /**
   * Applied to every request body before it leaves the process: the last guard against a secret
   * reaching GitLab, whatever built the body.
   */
  redact?: (text: string) => string;
  /** Called before each wait, for the job log. */
  onRetry?: (event: RetryEvent) => void;
  /** HTTPS_PROXY, HTTP_PROXY, NO_PROXY of the task's environment. */
  proxy?: ProxySettings;
  /** Sends the requests; default: the shared HTTP transport with `proxy`. Tests wrap it to inject faults. */
  transport?: HttpTransport;
}

export interface RetryEvent {
  method: string;
  path: string;
  attempt: number;
  /** HTTP status, or undefined for a network error. */
  status: number | undefined;
  delayMs: number;
  reason: string;
}

/** One line for the job log before a retry's wait. */
export function describeRetry(event: RetryEvent): string {
  const answer = event.status === undefined ? "failed" : `answered ${event.status}`;
  return `GitLab: ${event.method} ${event.path} ${answer} (${event.reason}); retrying in ${(event.delayMs / 1000).toFixed(1)} s (attempt ${event.attempt + 1})`;
}

/** A GitLab request that failed for good: status, method, path, GitLab's own words, and what to do. */
export class GitLabApiError extends UserError {
  /** Undefined when no HTTP answer came (network error, timeout). */
  readonly status: number | undefined;
  readonly method: string;
  readonly path: string;
  /** GitLab's `message` / `error` field, or the start of a non-JSON body. */
  readonly gitlabMessage: string;
  readonly attempts: number;

  constructor(
    message: string,
    details: {
      status: number | undefined;
      method: string;
      path: string;
      gitlabMessage: string;
      attempts: number;
      hint: string;
      cause?: unknown;
    },
  ) {
    super(message, { hint: details.hint, cause: details.cause });
    this.status = details.status;
    this.method = details.method;
    this.path = details.path;
    this.gitlabMessage = details.gitlabMessage;
    this.attempts = details.attempts;
  }
}

/** What every gitbeaker resource of one client is built with: the host, the token, our request handler. */
export interface GitbeakerSettings {
  host: string;
  token: string;
  requesterFn: ReturnType<typeof createRequesterFn>;
  queryTimeout: null;
}

export function gitbeakerSettings(options: GitLabClientOptions): GitbeakerSettings {
  const requesterFn = createRequesterFn((_, requestOptions) => Promise.resolve(requestOptions), createRequestHandler(options));
  // queryTimeout null: gitbeaker would otherwise share one abort signal across our retries and waits.
  return { host: gitbeakerHost(options.apiUrl), token: options.token, requesterFn, queryTimeout: null };
}

/** gitbeaker wants the host and appends `/api/v4` itself; CI_API_V4_URL already has it. */
export function gitbeakerHost(apiUrl: string): string {
  const url = new URL(apiUrl);
  const path = url.pathname.replace(/\/+$/, "");
  if (!path.endsWith("/api/v4"))
    throw new UserError(`CI_API_V4_URL does not end in /api/v4: "${apiUrl}"`, { hint: "use GitLab's predefined CI_API_V4_URL" });
  return `${url.origin}${path.slice(0, -"/api/v4".length)}`;
}

type HandlerOptions = RequestOptions & { rateLimiters?: RateLimiters };

export function createRequestHandler(options: GitLabClientOptions) {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const clock = options.clock ?? realClock;
  const random = options.random ?? Math.random;
  const transport = options.transport ?? createHttpTransport(options.proxy ? { proxy: options.proxy } : {});
  // Paths in messages are relative to CI_API_V4_URL, as GitLab's API documentation writes them.
  const apiPath = new URL(options.apiUrl).pathname.replace(/\/+$/, "");
  const deadline = clock.now() + policy.maxTotalMs;

  return async (endpoint: string, raw?: Record<string, unknown>): Promise<FormattedResponse> => {
    const { rateLimiters, prefixUrl, searchParams, method = "GET", headers, body, signal, asStream } = (raw ?? {}) as HandlerOptions;
    const url = new URL(endpoint, prefixUrl ? (prefixUrl.endsWith("/") ? prefixUrl : `${prefixUrl}/`) : undefined);
    url.search = searchParams ?? "";
    const path = url.pathname.startsWith(apiPath) ? url.pathname.slice(apiPath.length) : url.pathname;
    if (body !== undefined && typeof body !== "string")
      throw new Error(`GitLab: ${method} ${path} has a ${typeof body} body; only JSON bodies are sent`);
    const sentBody = body !== undefined && options.redact ? options.redact(body) : body;
    const rateLimit = getMatchingRateLimiter(endpoint, rateLimiters, method);

    const outcome = await sendWithRetries(
      (timeoutMs) =>
        transport.send({
          url,
          method,
          headers: { "User-Agent": "gitops-ci", ...headers },
          ...(sentBody !== undefined ? { body: sentBody } : {}),
          timeoutMs,
          // As gitbeaker's fetch did: an http:// to https:// move, an artifact in object storage.
          maxRedirects: 5,
          ...(signal ? { signal } : {}),
        }),
      {
        policy,
        deadline,
        clock,
        random,
        beforeAttempt: rateLimit,
        describeStatus: (response) =>
          `${response.status} ${messageOf(response.body.toString("utf8"), response.headers["content-type"] ?? null)}`.trim(),
        onRetry: (event) => options.onRetry?.({ method, path, ...event }),
      },
    );
    if (outcome.kind === "budget") {
      const attempt = outcome.attempts + 1;
      throw new GitLabApiError(
        `GitLab did not answer ${method} ${path} within the ${seconds(policy.maxTotalMs)} time budget${attempt > 1 ? ` (${times(attempt - 1)})` : ""}`,
        {
          status: undefined,
          method,
          path,
          gitlabMessage: "",
          attempts: outcome.attempts,
          hint: "GitLab is slow or down; re-run the job later",
        },
      );
    }
    if (outcome.kind === "network") {
      throw new GitLabApiError(`could not reach GitLab for ${method} ${path}: ${outcome.reason}${attemptsNote(outcome.attempts)}`, {
        status: undefined,
        method,
        path,
        gitlabMessage: "",
        attempts: outcome.attempts,
        hint: `check CI_API_V4_URL (${url.origin}) and the runner's network and proxy settings (HTTPS_PROXY, NO_PROXY), then re-run the job`,
        cause: outcome.error,
      });
    }
    const { response, attempts, exhausted } = outcome;
    if (response.status >= 200 && response.status < 300) return parseResponse(response, asStream === true);
    const gitlabMessage = messageOf(response.body.toString("utf8"), response.headers["content-type"] ?? null);
    const why =
      exhausted?.beyondBudgetMs !== undefined
        ? `; it asked to wait ${seconds(exhausted.beyondBudgetMs)}, beyond the ${seconds(policy.maxTotalMs)} budget`
        : "";
    throw statusError(response.status, method, path, gitlabMessage, attempts, options, why);
  };
}

function parseResponse(response: HttpResponse, asStream: boolean): FormattedResponse {
  const { headers, status } = response;
  if (asStream) return { body: new Blob([response.body]).stream() as FormattedResponse["body"], headers, status };
  if (status === 204) return { body: null, headers, status };
  const type = (headers["content-type"] ?? "").split(";")[0]!.trim();
  if (type === "application/json") {
    const text = response.body.toString("utf8");
    return { body: text === "" ? {} : (JSON.parse(text) as FormattedResponse["body"]), headers, status };
  }
  if (type.startsWith("text/")) return { body: response.body.toString("utf8"), headers, status };
  return { body: new Blob([response.body]), headers, status };
}

/**
 * GitLab's error bodies: `{"message": "404 Project Not Found"}`, `{"message": {"note": [...]}}`
 * (validation), `{"error": "insufficient_scope", "error_description": "..."}` (OAuth), or plain
 * text and HTML from Rack::Attack and the proxies in front.
 */
export function messageOf(text: string, contentType: string | null): string {
  if (contentType?.includes("json")) {
    try {
      const parsed = JSON.parse(text) as Record<string, unknown>;
      const parts = [parsed["message"], parsed["error"], parsed["error_description"]]
        .filter((part) => part !== undefined && part !== null && part !== "")
        .map((part) => (typeof part === "string" ? part : JSON.stringify(part)));
      if (parts.length > 0) return parts.join(": ");
    } catch {
      // fall through to the raw text
    }
  }
  const plain = text
    .replace(/<(head|style|script)\b[\s\S]*?<\/\1>/gi, " ")
    .replace(/<[^>]*>/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  return plain.length > 300 ? `${plain.slice(0, 300)}…` : plain;
}

function statusError(
  status: number,
  method: string,
  path: string,
  gitlabMessage: string,
  attempts: number,
  token: Pick<GitLabClientOptions, "tokenVariable" | "tokenAdvice">,
  extra = "",
): GitLabApiError {
  const tokenVariable = token.tokenVariable ?? "GITOPS_CI_GITLAB_TOKEN";
  const said = gitlabMessage ? ` (GitLab said: ${gitlabMessage})` : "";
  const where = `${method} ${path}`;
  const details = { status, method, path, gitlabMessage, attempts };
  if (status === 401) {
    return new GitLabApiError(`GitLab rejected the access token: HTTP 401 on ${where}${said}`, {
      ...details,
      hint: `the token in ${tokenVariable} is wrong, expired or revoked; ${token.tokenAdvice ?? TOKEN_ADVICE}`,
    });
  }
  if (status === 403) {
    const scope = /insufficient_scope/.test(gitlabMessage);
    const ownNotesOnly = /\/notes\/\d+$/.test(path)
      ? "; GitLab lets a token edit or delete only notes its own user wrote, so a report note posted with an earlier token must be deleted by hand"
      : "";
    return new GitLabApiError(
      scope
        ? `the access token lacks the api scope: HTTP 403 on ${where}${said}`
        : `the access token may not do this: HTTP 403 on ${where}${said}`,
      {
        ...details,
        hint: scope
          ? `a read_api token can read ${resourceNamedBy(path)} but not write them; recreate the token in ${tokenVariable} with the api scope`
          : `give the token's user at least the ${requiredRole(method, path)} role in the project (a project access token's role is chosen when it is created)${ownNotesOnly}`,
      },
    );
  }
  if (status === 404) {
    return new GitLabApiError(`GitLab found nothing at ${where}: HTTP 404${said}`, {
      ...details,
      hint:
        `check ${variablesNamedBy(path)}; GitLab also answers 404 when the token cannot see a private project or what is in it, ` +
        `so check that the token in ${tokenVariable} belongs to this project and has at least the ${requiredRole(method, path)} role`,
    });
  }
  if (status === 429) {
    return new GitLabApiError(`GitLab kept rate-limiting ${where}: HTTP 429 after ${times(attempts)}${extra}${said}`, {
      ...details,
      hint: "re-run the job later, or ask a GitLab administrator about the rate limits (Admin > Settings > Network) or to allowlist the token's user",
    });
  }
  if (status >= 500) {
    return new GitLabApiError(`GitLab failed on ${where}: HTTP ${status}${attemptsNote(attempts)}${extra}${said}`, {
      ...details,
      hint: "GitLab may be down, overloaded or under maintenance; re-run the job later",
    });
  }
  const tooLong = /too long/i.test(gitlabMessage);
  return new GitLabApiError(`GitLab refused ${where}: HTTP ${status}${said}`, {
    ...details,
    hint: tooLong
      ? "a note holds at most 1,000,000 characters and gitops-ci splits longer reports, so this is a bug in gitops-ci: please report it"
      : `this answer is unexpected for ${method} ${path}; please report it with the job log`,
  });
}

/** Opening or editing a merge request (promote) needs Developer; notes, issues and pipelines, Reporter. */
function requiredRole(method: string, path: string): "Developer" | "Reporter" {
  return method !== "GET" && /\/merge_requests(\/\d+)?$/.test(path) ? "Developer" : "Reporter";
}

/** What a path writes, in words: notes, issues, merge requests. */
function resourceNamedBy(path: string): string {
  if (/\/notes(\/\d+)?$/.test(path)) return "notes";
  if (/\/issues(\/\d+)?$/.test(path)) return "issues";
  if (/\/merge_requests(\/\d+)?$/.test(path)) return "merge requests";
  return "resources";
}

/** The CI/CD variables a path was built from, for a 404's hint. */
function variablesNamedBy(path: string): string {
  if (/\/merge_requests\/\d+/.test(path)) return "CI_PROJECT_ID and CI_MERGE_REQUEST_IID";
  if (/\/pipelines\/\d+/.test(path)) return "CI_PROJECT_ID and CI_PIPELINE_ID";
  return "CI_PROJECT_ID";
}

function attemptsNote(attempts: number): string {
  return attempts > 1 ? ` after ${times(attempts)}` : "";
}

function times(attempts: number): string {
  return `${attempts} attempt${attempts === 1 ? "" : "s"}`;
}
