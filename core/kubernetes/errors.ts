// Why a Kubernetes API request failed, in words a person can act on. Every failure is a ToolError
// (exit code 2: could not run), so a cluster that could not be read never passes for "no changes".
import { ToolError } from "../errors.ts";

export type KubernetesFailure =
  | "unreachable"
  | "timeout"
  | "unauthorized"
  | "forbidden"
  | "not-found"
  | "conflict"
  | "invalid"
  | "too-many-requests"
  | "server-error"
  | "unexpected";

/** The body of a failed request: a metav1.Status. */
export interface KubernetesStatus {
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; group?: string; kind?: string; causes?: { field?: string; message?: string; reason?: string }[] };
}

export interface RequestDescription {
  /** What the request does, as RBAC names it: get, list, patch, … */
  verb: string;
  /** `deployments.apps`, `configmaps`; absent for discovery. */
  resource?: string;
  namespace?: string;
  name?: string;
  method: string;
  /** Path and query, never credentials. */
  path: string;
  contextName: string;
  server: string;
}

export class KubernetesApiError extends ToolError {
  readonly failure: KubernetesFailure;
  readonly httpStatus: number | undefined;
  readonly status: KubernetesStatus | undefined;
  readonly request: RequestDescription;

  constructor(
    message: string,
    options: { failure: KubernetesFailure; request: RequestDescription; httpStatus?: number; status?: KubernetesStatus; cause?: unknown },
  ) {
    super(message, {
      command: `${options.request.method} ${options.request.server}${options.request.path} (context ${options.request.contextName})`,
      cause: options.cause,
    });
    this.failure = options.failure;
    this.httpStatus = options.httpStatus;
    this.status = options.status;
    this.request = options.request;
  }
}

export function isKubernetesFailure(error: unknown, failure: KubernetesFailure): error is KubernetesApiError {
  return error instanceof KubernetesApiError && error.failure === failure;
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "ECONNABORTED",
]);

/** A request that never got an HTTP answer. */
export function networkError(
  error: NodeJS.ErrnoException,
  request: RequestDescription,
  timeoutMs: number,
  timedOut: boolean,
): KubernetesApiError {
  if (timedOut || error.code === "ETIMEDOUT") {
    return new KubernetesApiError(
      `timeout: the Kubernetes API server ${request.server} did not answer within ${Math.round(timeoutMs / 1000)}s (${describeRequest(request)}); is the cluster overloaded or the network path blocked?`,
      { failure: "timeout", request, cause: error },
    );
  }
  const tls =
    typeof error.code === "string" &&
    (error.code.includes("CERT") || error.code.startsWith("ERR_TLS") || error.code.includes("SELF_SIGNED"));
  const why = tls
    ? `TLS verification failed (${error.code}): check certificate-authority-data of the kubeconfig cluster`
    : NETWORK_CODES.has(error.code ?? "")
      ? `${error.message}: is the cluster running, and is the server URL of context "${request.contextName}" right?`
      : error.message;
  return new KubernetesApiError(`unreachable: cannot reach the Kubernetes API server ${request.server}: ${why}`, {
    failure: "unreachable",
    request,
    cause: error,
  });
}

/** A request the API server answered with an error status. */
export function statusError(httpStatus: number, body: unknown, request: RequestDescription): KubernetesApiError {
  const status = asStatus(body);
  const serverMessage = status?.message ?? `HTTP ${httpStatus}`;
  const failure = failureOf(httpStatus);
  const message = ((): string => {
    switch (failure) {
      case "unauthorized":
        return `unauthorized: the Kubernetes API server ${request.server} rejected the credentials of context "${request.contextName}" (401): the token or client certificate is invalid or expired`;
      case "forbidden":
        return `forbidden: ${serverMessage} (${describeRequest(request)}); give the diff identity the rules in docs/rbac/diff-identity.yaml (dry-run requests are authorized like real ones)`;
      case "not-found":
        return `not found: ${serverMessage}`;
      case "timeout":
        return `timeout: the Kubernetes API server gave up on ${describeRequest(request)}: ${serverMessage}`;
      case "too-many-requests":
        return `the Kubernetes API server throttled ${describeRequest(request)} (429) and kept doing so; lower --concurrency`;
      default:
        return `${describeRequest(request)} failed (${httpStatus}): ${serverMessage}`;
    }
  })();
  return new KubernetesApiError(message, { failure, request, httpStatus, ...(status ? { status } : {}) });
}

function failureOf(httpStatus: number): KubernetesFailure {
  if (httpStatus === 401) return "unauthorized";
  if (httpStatus === 403) return "forbidden";
  if (httpStatus === 404) return "not-found";
  if (httpStatus === 409) return "conflict";
  if (httpStatus === 400 || httpStatus === 422) return "invalid";
  if (httpStatus === 429) return "too-many-requests";
  if (httpStatus === 504) return "timeout";
  if (httpStatus >= 500) return "server-error";
  return "unexpected";
}

function asStatus(body: unknown): KubernetesStatus | undefined {
  if (typeof body !== "object" || body === null)
    return typeof body === "string" && body.trim() !== "" ? { message: body.trim().slice(0, 2000) } : undefined;
  const record = body as Record<string, unknown>;
  if (record["kind"] !== "Status") return undefined;
  return record;
}

export function describeRequest(request: RequestDescription): string {
  if (!request.resource) return `${request.verb} ${request.path.split("?")[0]}`;
  const target = request.name ? `${request.resource}/${request.name}` : request.resource;
  return `${request.verb} ${target}${request.namespace ? ` in namespace ${request.namespace}` : ""}`;
}
