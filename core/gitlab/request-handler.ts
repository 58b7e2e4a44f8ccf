// The one request handler every GitLab call goes through: what gitbeaker calls for each HTTP request.
//
// Why our own handler: gitbeaker's default one (in @gitbeaker/rest) retries 429 and 502 only, ten
// times, 0.25 ms × 2^n apart (under a quarter of a second in all), and never reads Retry-After, so
// a rate-limited job fails while GitLab is still asking it to wait; a 500 or 503 is not retried at
// all. Here: 429 waits for Retry-After (seconds or an HTTP date), 5xx and network errors back off
// exponentially with jitter, and attempts and time are both bounded: one time budget for the whole
// client (a task's every request, attempts and waits included), not one per request. Sleep and clock are
// injectable so tests measure the waits without waiting. Every request body passes the redactor.
import { createRequesterFn, getMatchingRateLimiter, type FormattedResponse, type RateLimiters, type RequestOptions } from "@gitbeaker/requester-utils";
import { UserError } from "../errors.ts";
import { TOKEN_ADVICE } from "./ci-environment.ts";

export interface RetryPolicy {
  /** Attempts per request, the first included. */
  maxAttempts: number;
  /** First backoff after a 5xx or a network error; doubles each attempt. */
  baseDelayMs: number;
  /** Longest single backoff (a Retry-After is honoured even when longer, within maxTotalMs). */
  maxDelayMs: number;
  /**
   * Time budget of the client, from its creation: every request, attempts and waits included. No
   * wait starts that would end after it, and no attempt runs past it.
   */
  maxTotalMs: number;
  /** Per attempt (cut to what is left of the budget); a timed-out attempt counts as a network error. */
  attemptTimeoutMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = {
  maxAttempts: 6,
  baseDelayMs: 1_000,
  maxDelayMs: 30_000,
  maxTotalMs: 180_000,
  attemptTimeoutMs: 60_000,
};

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
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
  fetch?: typeof fetch;
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
    details: { status: number | undefined; method: string; path: string; gitlabMessage: string; attempts: number; hint: string; cause?: unknown },
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
  if (!path.endsWith("/api/v4")) throw new UserError(`CI_API_V4_URL does not end in /api/v4: "${apiUrl}"`, { hint: "use GitLab's predefined CI_API_V4_URL" });
  return `${url.origin}${path.slice(0, -"/api/v4".length)}`;
}

type HandlerOptions = RequestOptions & { rateLimiters?: RateLimiters };

export function createRequestHandler(options: GitLabClientOptions) {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const clock = options.clock ?? realClock;
  const random = options.random ?? Math.random;
  const doFetch = options.fetch ?? fetch;
  // Paths in messages are relative to CI_API_V4_URL, as GitLab's API documentation writes them.
  const apiPath = new URL(options.apiUrl).pathname.replace(/\/+$/, "");
  const deadline = clock.now() + policy.maxTotalMs;

  return async (endpoint: string, raw?: Record<string, unknown>): Promise<FormattedResponse> => {
    const { rateLimiters, prefixUrl, searchParams, method = "GET", headers, body, signal, asStream } = (raw ?? {}) as HandlerOptions;
    const url = new URL(endpoint, prefixUrl ? (prefixUrl.endsWith("/") ? prefixUrl : `${prefixUrl}/`) : undefined);
    url.search = searchParams ?? "";
    const path = url.pathname.startsWith(apiPath) ? url.pathname.slice(apiPath.length) : url.pathname;
    const sentBody = typeof body === "string" && options.redact ? options.redact(body) : body;
    const rateLimit = getMatchingRateLimiter(endpoint, rateLimiters, method);

    for (let attempt = 1; ; attempt += 1) {
      await rateLimit();
      const left = deadline - clock.now();
      if (left <= 0) {
        throw new GitLabApiError(`GitLab did not answer ${method} ${path} within the ${seconds(policy.maxTotalMs)} time budget${attempt > 1 ? ` (${times(attempt - 1)})` : ""}`, {
          status: undefined,
          method,
          path,
          gitlabMessage: "",
          attempts: attempt - 1,
          hint: "GitLab is slow or down; re-run the job later",
        });
      }
      const attemptTimeout = Math.min(policy.attemptTimeoutMs, left);
      let response: Response;
      try {
        const attemptSignal = signal ? AbortSignal.any([signal, AbortSignal.timeout(attemptTimeout)]) : AbortSignal.timeout(attemptTimeout);
        response = await doFetch(url, { method, ...(headers ? { headers } : {}), ...(sentBody !== undefined ? { body: sentBody } : {}), signal: attemptSignal });
      } catch (error) {
        const reason = networkReason(error, attemptTimeout);
        const delay = backoffDelay(attempt, policy, random);
        if (!canWait(attempt, delay, deadline, clock, policy)) {
          throw new GitLabApiError(`could not reach GitLab for ${method} ${path}: ${reason}${attemptsNote(attempt)}`, {
            status: undefined,
            method,
            path,
            gitlabMessage: "",
            attempts: attempt,
            hint: `check CI_API_V4_URL (${url.origin}) and the runner's network and proxy settings, then re-run the job`,
            cause: error,
          });
        }
        options.onRetry?.({ method, path, attempt, status: undefined, delayMs: delay, reason });
        await clock.sleep(delay);
        continue;
      }

      if (response.ok) return parseResponse(response, asStream === true);

      const text = await response.text().catch(() => "");
      const gitlabMessage = messageOf(text, response.headers.get("content-type"));
      if (!isRetryable(response.status)) throw statusError(response.status, method, path, gitlabMessage, attempt, options);

      const retryAfter = parseRetryAfter(response.headers.get("retry-after"), clock.now());
      const delay = retryAfter ?? backoffDelay(attempt, policy, random);
      if (!canWait(attempt, delay, deadline, clock, policy)) {
        const why = retryAfter !== undefined && clock.now() + retryAfter >= deadline ? `; it asked to wait ${seconds(retryAfter)}, beyond the ${seconds(policy.maxTotalMs)} budget` : "";
        throw statusError(response.status, method, path, gitlabMessage, attempt, options, why);
      }
      options.onRetry?.({ method, path, attempt, status: response.status, delayMs: delay, reason: `${response.status} ${gitlabMessage}`.trim() });
      await clock.sleep(delay);
    }
  };
}

/** 429 and every 5xx; 501 Not Implemented will not get better by asking again. */
export function isRetryable(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599 && status !== 501);
}

/**
 * Retry-After as milliseconds from `now`: delay-seconds or an HTTP date (RFC 9110 §10.2.3). A date
 * in the past means "now"; anything unreadable is ignored, and the backoff applies instead.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1_000;
  const date = Date.parse(text);
  if (Number.isNaN(date) || !/[a-z]/i.test(text)) return undefined;
  return Math.max(0, date - now);
}

/** Exponential with "equal jitter": half the step is fixed, half random, so waits still grow. */
export function backoffDelay(attempt: number, policy: Pick<RetryPolicy, "baseDelayMs" | "maxDelayMs">, random: () => number): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(step / 2 + (step / 2) * random());
}

/** Another attempt, after `delay`, must still have time left in the budget. */
function canWait(attempt: number, delay: number, deadline: number, clock: Clock, policy: RetryPolicy): boolean {
  return attempt < policy.maxAttempts && clock.now() + delay < deadline;
}

async function parseResponse(response: Response, asStream: boolean): Promise<FormattedResponse> {
  const headers = Object.fromEntries(response.headers.entries());
  if (asStream) return { body: response.body as FormattedResponse["body"], headers, status: response.status };
  if (response.status === 204) return { body: null, headers, status: response.status };
  const type = (response.headers.get("content-type") ?? "").split(";")[0]!.trim();
  if (type === "application/json") {
    const text = await response.text();
    return { body: text === "" ? {} : (JSON.parse(text) as FormattedResponse["body"]), headers, status: response.status };
  }
  if (type.startsWith("text/")) return { body: await response.text(), headers, status: response.status };
  return { body: await response.blob(), headers, status: response.status };
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
      scope ? `the access token lacks the api scope: HTTP 403 on ${where}${said}` : `the access token may not do this: HTTP 403 on ${where}${said}`,
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

function networkReason(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) return `no answer within ${seconds(timeoutMs)}`;
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error instanceof Error ? error.message : String(error)}${cause}`;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
