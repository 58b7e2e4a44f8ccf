// The one retry policy of every HTTP call (GitLab, Kubernetes): 429 waits for Retry-After
// (seconds or an HTTP date), 5xx and dropped connections back off exponentially with jitter, and
// attempts and time are both bounded by a deadline the caller sets (GitLab: one budget for the
// whole client; Kubernetes: one per request). Sleep and clock are injectable so tests measure the
// waits without waiting. What a final failure means is left to the caller: each API words its own.
import type { HttpResponse } from "./transport.ts";

export interface RetryPolicy {
  /** Attempts per request, the first included. */
  maxAttempts: number;
  /** First backoff after a 5xx or a network error; doubles each attempt. */
  baseDelayMs: number;
  /** Longest single backoff (a Retry-After is honoured even when longer, within the deadline). */
  maxDelayMs: number;
  /** The time budget: no wait starts that would end after it, and no attempt runs past it. */
  maxTotalMs: number;
  /** Per attempt (cut to what is left of the budget); a timed-out attempt counts as a network error. */
  attemptTimeoutMs: number;
}

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface RetryEvent {
  attempt: number;
  /** HTTP status, or undefined for a network error. */
  status: number | undefined;
  delayMs: number;
  /** The status, or what went wrong on the wire. */
  reason: string;
}

export interface RetryOptions {
  policy: RetryPolicy;
  /** Epoch ms after which nothing is attempted. */
  deadline: number;
  clock: Clock;
  /** In [0, 1); the jitter's source. */
  random: () => number;
  /** Which network errors are worth another attempt (default: all). */
  retryNetworkError?: (error: unknown) => boolean;
  /** Which answers are worth another attempt (default: isRetryable's statuses). */
  retryStatus?: (response: HttpResponse) => boolean;
  /** Words for a retried status in the event (default: the status). */
  describeStatus?: (response: HttpResponse) => string;
  /** Called before each wait, for the job log. */
  onRetry?: (event: RetryEvent) => void;
  /** Awaited before each attempt (gitbeaker's per-endpoint rate limiter). */
  beforeAttempt?: () => Promise<unknown>;
}

/** How a request ended after its retries. */
export type RetryOutcome =
  | {
      kind: "response";
      response: HttpResponse;
      attempts: number;
      /** A retryable status the retries could not get past; beyondBudget: the server asked for a longer wait than the budget has. */
      exhausted?: { beyondBudgetMs?: number };
    }
  | { kind: "network"; error: unknown; reason: string; attempts: number; timeoutMs: number }
  | { kind: "budget"; attempts: number };

/** Runs `attempt` (given its timeout) until it answers with a final status, or the policy gives up. */
export async function sendWithRetries(attempt: (timeoutMs: number) => Promise<HttpResponse>, options: RetryOptions): Promise<RetryOutcome> {
  const { policy, clock, deadline } = options;
  for (let count = 1; ; count += 1) {
    await options.beforeAttempt?.();
    const left = deadline - clock.now();
    if (left <= 0) return { kind: "budget", attempts: count - 1 };
    const timeoutMs = Math.min(policy.attemptTimeoutMs, left);
    let response: HttpResponse;
    try {
      response = await attempt(timeoutMs);
    } catch (error) {
      const reason = networkReason(error, timeoutMs);
      const delay = backoffDelay(count, policy, options.random);
      if (!(options.retryNetworkError?.(error) ?? true) || !canWait(count, delay, deadline, clock, policy)) {
        return { kind: "network", error, reason, attempts: count, timeoutMs };
      }
      options.onRetry?.({ attempt: count, status: undefined, delayMs: delay, reason });
      await clock.sleep(delay);
      continue;
    }
    if (!(options.retryStatus?.(response) ?? isRetryable(response.status))) return { kind: "response", response, attempts: count };
    const retryAfter = parseRetryAfter(response.headers["retry-after"], clock.now());
    const delay = retryAfter ?? backoffDelay(count, policy, options.random);
    if (!canWait(count, delay, deadline, clock, policy)) {
      const beyond = retryAfter !== undefined && clock.now() + retryAfter >= deadline;
      return { kind: "response", response, attempts: count, exhausted: beyond ? { beyondBudgetMs: retryAfter } : {} };
    }
    options.onRetry?.({
      attempt: count,
      status: response.status,
      delayMs: delay,
      reason: options.describeStatus?.(response) ?? String(response.status),
    });
    await clock.sleep(delay);
  }
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

/** A connection the peer (or something between) dropped: the request may be sent again. */
export function isConnectionReset(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return (
    code === "ECONNRESET" || code === "EPIPE" || code === "ECONNABORTED" || (error instanceof Error && error.message === "socket hang up")
  );
}

/** Another attempt, after `delay`, must still have time left in the budget. */
function canWait(attempt: number, delay: number, deadline: number, clock: Clock, policy: RetryPolicy): boolean {
  return attempt < policy.maxAttempts && clock.now() + delay < deadline;
}

function networkReason(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError"))
    return `no answer within ${seconds(timeoutMs)}`;
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error instanceof Error ? error.message : String(error)}${cause}`;
}

export function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
