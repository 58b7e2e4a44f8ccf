// The GitLab API as the report job uses it: gitbeaker's resources over our own request handler,
// which owns the retry policy and turns every failure into a GitLabApiError a person can act on.
//
// Why our own handler: gitbeaker's default one (in @gitbeaker/rest) retries 429 and 502 only, ten
// times, 0.25 ms × 2^n apart (under a quarter of a second in all), and never reads Retry-After, so
// a rate-limited job fails while GitLab is still asking it to wait; a 500 or 503 is not retried at
// all. Here: 429 waits for Retry-After (seconds or an HTTP date), 5xx and network errors back off
// exponentially with jitter, and attempts and total time are both bounded. Sleep and clock are
// injectable so tests measure the waits without waiting.
import { MergeRequestNotes, MergeRequests } from "@gitbeaker/rest";
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
  /** Time budget of one request, waits included: no wait starts that would end after it. */
  maxTotalMs: number;
  /** Per attempt; a timed-out attempt counts as a network error. */
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

export interface NoteTarget {
  projectId: string | number;
  mergeRequestIid: number;
}

/** The fields of a GitLab note (docs/api/notes.md) the report relies on. */
export interface GitLabNote {
  id: number;
  body: string;
  system: boolean;
  created_at: string;
  updated_at?: string;
  author?: { id: number; username: string };
}

export interface GitLabMergeRequest {
  iid: number;
  title: string;
  state: string;
  web_url: string;
}

/** What the merge request note needs from GitLab; tests may implement it without a server. */
export interface MergeRequestNotesApi {
  /** Every note, oldest first, across all pages. */
  listNotes(target: NoteTarget): Promise<GitLabNote[]>;
  createNote(target: NoteTarget, body: string): Promise<GitLabNote>;
  editNote(target: NoteTarget, noteId: number, body: string): Promise<GitLabNote>;
  deleteNote(target: NoteTarget, noteId: number): Promise<void>;
}

export interface GitLabClient extends MergeRequestNotesApi, MergeRequestsApi {
  showMergeRequest(target: NoteTarget): Promise<GitLabMergeRequest>;
}

/** A merge request as `promote` keeps it: found by its source branch, its description rewritten. */
export interface GitLabMergeRequestDetails extends GitLabMergeRequest {
  description: string;
  source_branch: string;
  target_branch: string;
}

export interface MergeRequestFields {
  sourceBranch: string;
  targetBranch: string;
  title: string;
  description: string;
}

/** What `promote` needs from GitLab's merge requests API (docs/api/merge_requests.md). */
export interface MergeRequestsApi {
  /** Open merge requests from this source branch (into this target branch, when given), oldest first, across all pages. */
  listOpenMergeRequests(projectId: string | number, sourceBranch: string, targetBranch?: string): Promise<GitLabMergeRequestDetails[]>;
  createMergeRequest(projectId: string | number, fields: MergeRequestFields): Promise<GitLabMergeRequestDetails>;
  updateMergeRequest(projectId: string | number, iid: number, fields: Partial<Pick<MergeRequestFields, "title" | "description">>): Promise<GitLabMergeRequestDetails>;
}

/** GitLab pages lists by at most this many items. */
const PER_PAGE = 100;

export function createGitLabClient(options: GitLabClientOptions): GitLabClient {
  const host = gitbeakerHost(options.apiUrl);
  const requesterFn = createRequesterFn((_, requestOptions) => Promise.resolve(requestOptions), createRequestHandler(options));
  // queryTimeout null: gitbeaker would otherwise share one abort signal across our retries and waits.
  const settings = { host, token: options.token, requesterFn, queryTimeout: null } as const;
  const notes = new MergeRequestNotes(settings);
  const mergeRequests = new MergeRequests(settings);

  return {
    async listNotes(target) {
      // No `page`: gitbeaker then follows the Link header's rel="next" to the last page.
      const all = await notes.all(target.projectId, target.mergeRequestIid, { sort: "asc", orderBy: "created_at", perPage: PER_PAGE });
      return all.map(toNote);
    },
    async createNote(target, body) {
      return toNote(await notes.create(target.projectId, target.mergeRequestIid, body));
    },
    async editNote(target, noteId, body) {
      return toNote(await notes.edit(target.projectId, target.mergeRequestIid, noteId, { body }));
    },
    async deleteNote(target, noteId) {
      await notes.remove(target.projectId, target.mergeRequestIid, noteId);
    },
    async showMergeRequest(target) {
      const mergeRequest = (await mergeRequests.show(target.projectId, target.mergeRequestIid)) as unknown as Record<string, unknown>;
      return {
        iid: Number(mergeRequest["iid"]),
        title: String(mergeRequest["title"] ?? ""),
        state: String(mergeRequest["state"] ?? ""),
        web_url: String(mergeRequest["web_url"] ?? ""),
      };
    },
    async listOpenMergeRequests(projectId, sourceBranch, targetBranch) {
      const all = await mergeRequests.all({ projectId, sourceBranch, state: "opened", orderBy: "created_at", sort: "asc", perPage: PER_PAGE, ...(targetBranch ? { targetBranch } : {}) });
      return all.map(toMergeRequestDetails);
    },
    async createMergeRequest(projectId, fields) {
      return toMergeRequestDetails(
        await mergeRequests.create(projectId, fields.sourceBranch, fields.targetBranch, fields.title, { description: fields.description, removeSourceBranch: true }),
      );
    },
    async updateMergeRequest(projectId, iid, fields) {
      return toMergeRequestDetails(await mergeRequests.edit(projectId, iid, fields));
    },
  };
}

function toMergeRequestDetails(raw: unknown): GitLabMergeRequestDetails {
  const mergeRequest = raw as Record<string, unknown>;
  return {
    iid: Number(mergeRequest["iid"]),
    title: String(mergeRequest["title"] ?? ""),
    state: String(mergeRequest["state"] ?? ""),
    web_url: String(mergeRequest["web_url"] ?? ""),
    description: typeof mergeRequest["description"] === "string" ? mergeRequest["description"] : "",
    source_branch: String(mergeRequest["source_branch"] ?? ""),
    target_branch: String(mergeRequest["target_branch"] ?? ""),
  };
}

/** gitbeaker wants the host and appends `/api/v4` itself; CI_API_V4_URL already has it. */
export function gitbeakerHost(apiUrl: string): string {
  const url = new URL(apiUrl);
  const path = url.pathname.replace(/\/+$/, "");
  if (!path.endsWith("/api/v4")) throw new UserError(`CI_API_V4_URL does not end in /api/v4: "${apiUrl}"`, { hint: "use GitLab's predefined CI_API_V4_URL" });
  return `${url.origin}${path.slice(0, -"/api/v4".length)}`;
}

function toNote(raw: unknown): GitLabNote {
  const note = raw as Record<string, unknown>;
  const author = note["author"] as Record<string, unknown> | undefined;
  return {
    id: Number(note["id"]),
    body: typeof note["body"] === "string" ? note["body"] : "",
    system: note["system"] === true,
    created_at: String(note["created_at"] ?? ""),
    ...(typeof note["updated_at"] === "string" ? { updated_at: note["updated_at"] } : {}),
    ...(author ? { author: { id: Number(author["id"]), username: String(author["username"] ?? "") } } : {}),
  };
}

// The request handler: what gitbeaker calls for every HTTP request.

type HandlerOptions = RequestOptions & { rateLimiters?: RateLimiters };

export function createRequestHandler(options: GitLabClientOptions) {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const clock = options.clock ?? realClock;
  const random = options.random ?? Math.random;
  const doFetch = options.fetch ?? fetch;
  // Paths in messages are relative to CI_API_V4_URL, as GitLab's API documentation writes them.
  const apiPath = new URL(options.apiUrl).pathname.replace(/\/+$/, "");

  return async (endpoint: string, raw?: Record<string, unknown>): Promise<FormattedResponse> => {
    const { rateLimiters, prefixUrl, searchParams, method = "GET", headers, body, signal, asStream } = (raw ?? {}) as HandlerOptions;
    const url = new URL(endpoint, prefixUrl ? (prefixUrl.endsWith("/") ? prefixUrl : `${prefixUrl}/`) : undefined);
    url.search = searchParams ?? "";
    const path = url.pathname.startsWith(apiPath) ? url.pathname.slice(apiPath.length) : url.pathname;
    const sentBody = typeof body === "string" && options.redact ? options.redact(body) : body;
    const rateLimit = getMatchingRateLimiter(endpoint, rateLimiters, method);
    const started = clock.now();

    for (let attempt = 1; ; attempt += 1) {
      await rateLimit();
      let response: Response;
      try {
        const attemptSignal = signal ? AbortSignal.any([signal, AbortSignal.timeout(policy.attemptTimeoutMs)]) : AbortSignal.timeout(policy.attemptTimeoutMs);
        response = await doFetch(url, { method, ...(headers ? { headers } : {}), ...(sentBody !== undefined ? { body: sentBody } : {}), signal: attemptSignal });
      } catch (error) {
        const reason = networkReason(error, policy.attemptTimeoutMs);
        const delay = backoffDelay(attempt, policy, random);
        if (!canWait(attempt, delay, started, clock, policy)) {
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
      if (!isRetryable(response.status)) throw statusError(response.status, method, path, gitlabMessage, attempt, options.tokenVariable);

      const retryAfter = parseRetryAfter(response.headers.get("retry-after"), clock.now());
      const delay = retryAfter ?? backoffDelay(attempt, policy, random);
      if (!canWait(attempt, delay, started, clock, policy)) {
        const why = retryAfter !== undefined && clock.now() - started + retryAfter > policy.maxTotalMs ? `; it asked to wait ${seconds(retryAfter)}, beyond the ${seconds(policy.maxTotalMs)} budget` : "";
        throw statusError(response.status, method, path, gitlabMessage, attempt, options.tokenVariable, why);
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

function canWait(attempt: number, delay: number, started: number, clock: Clock, policy: RetryPolicy): boolean {
  return attempt < policy.maxAttempts && clock.now() - started + delay <= policy.maxTotalMs;
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

function statusError(status: number, method: string, path: string, gitlabMessage: string, attempts: number, tokenVariable = "GITOPS_CI_GITLAB_TOKEN", extra = ""): GitLabApiError {
  const said = gitlabMessage ? ` (GitLab said: ${gitlabMessage})` : "";
  const where = `${method} ${path}`;
  const details = { status, method, path, gitlabMessage, attempts };
  if (status === 401) {
    return new GitLabApiError(`GitLab rejected the access token: HTTP 401 on ${where}${said}`, {
      ...details,
      hint: `the token in ${tokenVariable} is wrong, expired or revoked; ${TOKEN_ADVICE}`,
    });
  }
  if (status === 403) {
    const scope = /insufficient_scope/.test(gitlabMessage);
    return new GitLabApiError(
      scope ? `the access token lacks the api scope: HTTP 403 on ${where}${said}` : `the access token may not do this: HTTP 403 on ${where}${said}`,
      {
        ...details,
        hint: scope
          ? `a read_api token can read notes but not write them; recreate the token in ${tokenVariable} with the api scope`
          : `give the token's user at least the ${requiredRole(method, path)} role in the project (a project access token's role is chosen when it is created); ` +
            `GitLab lets a token edit or delete only notes its own user wrote, so a report note posted with an earlier token must be deleted by hand`,
      },
    );
  }
  if (status === 404) {
    return new GitLabApiError(`GitLab found nothing at ${where}: HTTP 404${said}`, {
      ...details,
      hint:
        "check CI_PROJECT_ID and CI_MERGE_REQUEST_IID; GitLab also answers 404 when the token cannot see a private project or merge request, " +
        `so check that the token in ${tokenVariable} belongs to this project and has at least the ${requiredRole(method, path)} role`,
    });
  }
  if (status === 429) {
    return new GitLabApiError(`GitLab kept rate-limiting ${where}: HTTP 429 after ${attempts} attempts${extra}${said}`, {
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

/** Opening or editing a merge request (promote) needs Developer; reading and writing notes, Reporter. */
function requiredRole(method: string, path: string): "Developer" | "Reporter" {
  return method !== "GET" && /\/merge_requests(\/\d+)?$/.test(path) ? "Developer" : "Reporter";
}

function attemptsNote(attempts: number): string {
  return attempts > 1 ? ` after ${attempts} attempts` : "";
}

function networkReason(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) return `no answer within ${seconds(timeoutMs)}`;
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error instanceof Error ? error.message : String(error)}${cause}`;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
