// A small typed client for the Kubernetes API: discovery, get, list by label, and server-side
// apply (dry-run or real), every request through one bounded limiter and the shared HTTP layer
// (core/http/: the connection's proxy, the retry policy).
import { isConnectionReset, isRetryable, realClock, sendWithRetries, type Clock, type RetryPolicy } from "../http/retry.ts";
import { createHttpTransport } from "../http/transport.ts";
import { apiGroupOf } from "../manifests.ts";
import { isRecord, scalarText } from "../yaml-file.ts";
import { KubernetesApiError, networkError, statusError, type RequestDescription } from "./errors.ts";
import type { ClusterConnection } from "./kubeconfig.ts";
import { createRequestLimiter } from "./request-limiter.ts";

export type KubeObject = Record<string, unknown>;

/** What discovery says about a kind: the URL segment, and whether objects live in a namespace. */
export interface ApiResource {
  group: string;
  version: string;
  kind: string;
  /** Plural resource name, as in URLs and RBAC rules. */
  plural: string;
  namespaced: boolean;
  verbs: readonly string[];
}

export interface ApplyOptions {
  fieldManager: string;
  dryRun: boolean;
  /** Take over fields other managers own, as Flux does. */
  force: boolean;
  /** Apply to a subresource (`status`) instead of the object. */
  subresource?: "status";
}

export interface KubernetesClientOptions {
  /** Requests in flight at once (default 16). */
  concurrency?: number;
  /** Per request, in milliseconds (default 30 s). */
  timeoutMs?: number;
  /** Items per list request (default 500); the rest follows with continue tokens. */
  pageSize?: number;
  /** Overrides of DEFAULT_KUBERNETES_RETRY; the budget (maxTotalMs) is per request. */
  retry?: Partial<RetryPolicy>;
  clock?: Clock;
}

/**
 * As client-go retries: a 429 or 5xx only when the server says when to come back (Retry-After,
 * which kube-apiserver sends when it sheds load), and a dropped connection. A 500 from a failing
 * admission webhook carries no Retry-After and is an answer, not a hiccup.
 */
export const DEFAULT_KUBERNETES_RETRY: Readonly<RetryPolicy> = {
  maxAttempts: 4,
  baseDelayMs: 500,
  maxDelayMs: 10_000,
  maxTotalMs: 120_000,
  attemptTimeoutMs: 30_000,
};

export interface KubernetesClient {
  readonly contextName: string;
  readonly server: string;
  /** The context's default namespace. */
  readonly defaultNamespace: string;
  /** GET /version: the cheapest request that proves the server answers and accepts us. */
  version(): Promise<{ gitVersion: string }>;
  /** Discovery, cached per group/version; undefined when the server does not serve the kind. */
  resourceFor(apiVersion: string, kind: string): Promise<ApiResource | undefined>;
  /** Every kind of a group/version the server serves (empty when it serves none). */
  resourcesOf(apiVersion: string): Promise<ApiResource[]>;
  /** The live object, or undefined when it does not exist; a namespaced one defaults to the context's namespace, as apply does. */
  get(resource: ApiResource, name: string, namespace?: string): Promise<KubeObject | undefined>;
  /** Every object of a resource that matches the label selector, in all namespaces. */
  list(resource: ApiResource, options: { labelSelector?: string; namespace?: string }): Promise<KubeObject[]>;
  /** Server-side apply (PATCH application/apply-patch+yaml); returns what the server would store. */
  apply(resource: ApiResource, object: KubeObject, options: ApplyOptions): Promise<KubeObject>;
  delete(resource: ApiResource, name: string, namespace?: string): Promise<void>;
  /** Drops cached discovery, after CRDs were installed. */
  forgetDiscovery(): void;
  /** Closes idle keep-alive connections. */
  close(): void;
}

export type KubernetesClientFactory = (connection: ClusterConnection, options?: KubernetesClientOptions) => KubernetesClient;

const DEFAULT_CONCURRENCY = 16;

export function createKubernetesClient(connection: ClusterConnection, options: KubernetesClientOptions = {}): KubernetesClient {
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const policy: RetryPolicy = {
    ...DEFAULT_KUBERNETES_RETRY,
    ...(options.timeoutMs !== undefined ? { attemptTimeoutMs: options.timeoutMs } : {}),
    ...options.retry,
  };
  const clock = options.clock ?? realClock;
  const limiter = createRequestLimiter(concurrency);
  const base = new URL(connection.server);
  // The cluster's proxy-url, or the environment's proxy for this server (kubeconfig.ts decides, as
  // client-go does); a proxy tunnels with CONNECT, TLS to the API server stays end to end.
  const transport = createHttpTransport({
    ...(connection.proxyUrl !== undefined ? { proxyUrl: connection.proxyUrl } : {}),
    maxSockets: concurrency,
    tls: {
      ...(connection.ca !== undefined ? { ca: connection.ca } : {}),
      ...(connection.clientCertificate !== undefined ? { cert: connection.clientCertificate, key: connection.clientKey } : {}),
      rejectUnauthorized: !connection.insecureSkipTlsVerify,
      ...(connection.tlsServerName !== undefined ? { servername: connection.tlsServerName } : {}),
    },
  });
  const basePath = base.pathname.replace(/\/+$/, "");

  interface Call {
    method: "GET" | "PATCH" | "DELETE";
    path: string;
    verb: string;
    resource?: ApiResource;
    namespace?: string;
    name?: string;
    body?: string;
    contentType?: string;
  }

  function describe(call: Call): RequestDescription {
    return {
      verb: call.verb,
      ...(call.resource ? { resource: call.resource.group ? `${call.resource.plural}.${call.resource.group}` : call.resource.plural } : {}),
      ...(call.namespace ? { namespace: call.namespace } : {}),
      ...(call.name ? { name: call.name } : {}),
      method: call.method,
      path: call.path,
      contextName: connection.contextName,
      server: connection.server,
    };
  }

  /** Sends a request within the limiter (waits between retries outside it); 2xx bodies are returned, 404 as undefined when asked. */
  async function call(request: Call, allowNotFound = false): Promise<unknown> {
    const headers: Record<string, string> = { Accept: "application/json", "User-Agent": "gitops-ci" };
    if (connection.token) headers["Authorization"] = `Bearer ${connection.token}`;
    if (request.body !== undefined) headers["Content-Type"] = request.contentType ?? "application/json";
    const url = new URL(`${base.origin}${basePath}${request.path}`);
    const outcome = await sendWithRetries(
      (timeoutMs) =>
        limiter.run(() =>
          transport.send({
            url,
            method: request.method,
            headers,
            ...(request.body !== undefined ? { body: request.body } : {}),
            timeoutMs,
          }),
        ),
      {
        policy,
        deadline: clock.now() + policy.maxTotalMs,
        clock,
        random: Math.random,
        retryNetworkError: isConnectionReset,
        retryStatus: (response) => isRetryable(response.status) && response.headers["retry-after"] !== undefined,
      },
    );
    if (outcome.kind === "budget")
      throw networkError(Object.assign(new Error("time budget spent"), { code: "ETIMEDOUT" }), describe(request), policy.maxTotalMs, true);
    if (outcome.kind === "network") throw networkError(outcome.error as NodeJS.ErrnoException, describe(request), outcome.timeoutMs, false);
    const { response } = outcome;
    const text = response.body.toString("utf8");
    let body: unknown = text;
    if ((response.headers["content-type"] ?? "").includes("json") && text !== "") {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    if (response.status >= 200 && response.status < 300) return body;
    if (response.status === 404 && allowNotFound) return undefined;
    throw statusError(response.status, body, describe(request));
  }

  const discovery = new Map<string, Promise<ApiResource[]>>();

  function resourcesOf(apiVersion: string): Promise<ApiResource[]> {
    let found = discovery.get(apiVersion);
    if (!found) {
      const group = apiGroupOf(apiVersion);
      const version = apiVersion.includes("/") ? apiVersion.slice(apiVersion.indexOf("/") + 1) : apiVersion;
      const path = group === "" ? `/api/${version}` : `/apis/${group}/${version}`;
      found = call({ method: "GET", path, verb: "get" }, true).then((body) => {
        if (!isRecord(body) || !Array.isArray(body["resources"])) return [];
        return body["resources"].filter(isRecord).flatMap((entry) => {
          const name = scalarText(entry["name"]);
          if (name === "" || name.includes("/")) return []; // subresources: status, scale, …
          return [
            {
              group,
              version,
              kind: scalarText(entry["kind"]),
              plural: name,
              namespaced: entry["namespaced"] === true,
              verbs: Array.isArray(entry["verbs"]) ? entry["verbs"].map(String) : [],
            },
          ];
        });
      });
      discovery.set(apiVersion, found);
      // A failed lookup (server down, forbidden) is not cached: the next call tries again.
      found.catch(() => discovery.delete(apiVersion));
    }
    return found;
  }

  function objectPath(resource: ApiResource, namespace: string | undefined, name?: string): string {
    const prefix = resource.group === "" ? `/api/${resource.version}` : `/apis/${resource.group}/${resource.version}`;
    const scope = resource.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
    return `${prefix}${scope}/${resource.plural}${name !== undefined ? `/${encodeURIComponent(name)}` : ""}`;
  }

  return {
    contextName: connection.contextName,
    server: connection.server,
    defaultNamespace: connection.namespace,
    async version() {
      const body = await call({ method: "GET", path: "/version", verb: "get" });
      return { gitVersion: isRecord(body) ? scalarText(body["gitVersion"]) : "" };
    },
    resourcesOf,
    async resourceFor(apiVersion, kind) {
      return (await resourcesOf(apiVersion)).find((resource) => resource.kind === kind);
    },
    async get(resource, name, namespace) {
      const ns = resource.namespaced ? (namespace ?? connection.namespace) : undefined;
      const body = await call(
        { method: "GET", path: objectPath(resource, ns, name), verb: "get", resource, name, ...(ns ? { namespace: ns } : {}) },
        true,
      );
      return isRecord(body) ? body : undefined;
    },
    async list(resource, listOptions) {
      const items: KubeObject[] = [];
      let continueToken: string | undefined;
      do {
        const query = new URLSearchParams({ limit: String(options.pageSize ?? 500) });
        if (listOptions.labelSelector) query.set("labelSelector", listOptions.labelSelector);
        if (continueToken) query.set("continue", continueToken);
        const ns = resource.namespaced ? listOptions.namespace : undefined;
        const body = await call({
          method: "GET",
          path: `${objectPath(resource, ns)}?${query.toString()}`,
          verb: "list",
          resource,
          ...(ns ? { namespace: ns } : {}),
        });
        if (!isRecord(body)) break;
        const kind = resource.kind;
        const apiVersion = resource.group === "" ? resource.version : `${resource.group}/${resource.version}`;
        // List items carry neither kind nor apiVersion: put them back, so every object is whole.
        for (const item of Array.isArray(body["items"]) ? body["items"].filter(isRecord) : []) items.push({ apiVersion, kind, ...item });
        const metadata = isRecord(body["metadata"]) ? body["metadata"] : {};
        continueToken = typeof metadata["continue"] === "string" && metadata["continue"] !== "" ? metadata["continue"] : undefined;
      } while (continueToken);
      return items;
    },
    async apply(resource, object, applyOptions) {
      const metadata = isRecord(object["metadata"]) ? object["metadata"] : {};
      const name = scalarText(metadata["name"]);
      const namespace = resource.namespaced ? scalarText(metadata["namespace"], connection.namespace) : undefined;
      const query = new URLSearchParams({ fieldManager: applyOptions.fieldManager });
      if (applyOptions.force) query.set("force", "true");
      if (applyOptions.dryRun) query.set("dryRun", "All");
      const subresource = applyOptions.subresource ? `/${applyOptions.subresource}` : "";
      const body = await call({
        method: "PATCH",
        path: `${objectPath(resource, namespace, name)}${subresource}?${query.toString()}`,
        verb: "patch",
        resource,
        name,
        ...(namespace ? { namespace } : {}),
        // JSON is YAML: the apply-patch content type accepts it.
        body: JSON.stringify(object),
        contentType: "application/apply-patch+yaml",
      });
      if (!isRecord(body))
        throw new KubernetesApiError(`the API server answered the apply of ${resource.kind} ${name} with no object`, {
          failure: "unexpected",
          request: describe({ method: "PATCH", path: objectPath(resource, namespace, name), verb: "patch", resource }),
        });
      return body;
    },
    async delete(resource, name, namespace) {
      const ns = resource.namespaced ? (namespace ?? connection.namespace) : undefined;
      await call(
        { method: "DELETE", path: objectPath(resource, ns, name), verb: "delete", resource, name, ...(ns ? { namespace: ns } : {}) },
        true,
      );
    },
    forgetDiscovery() {
      discovery.clear();
    },
    close() {
      transport.close();
    },
  };
}
