// A small typed client for the Kubernetes API over node:https: discovery, get, list by label,
// and server-side apply (dry-run or real), every request through one bounded limiter.
import http from "node:http";
import https from "node:https";
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import { HttpsProxyAgent } from "https-proxy-agent";
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
}

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
const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_THROTTLE_RETRIES = 3;

export function createKubernetesClient(connection: ClusterConnection, options: KubernetesClientOptions = {}): KubernetesClient {
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const limiter = createRequestLimiter(concurrency);
  const base = new URL(connection.server);
  const secure = base.protocol === "https:";
  const tls = {
    ...(connection.ca !== undefined ? { ca: connection.ca } : {}),
    ...(connection.clientCertificate !== undefined ? { cert: connection.clientCertificate, key: connection.clientKey } : {}),
    rejectUnauthorized: !connection.insecureSkipTlsVerify,
    ...(connection.tlsServerName !== undefined ? { servername: connection.tlsServerName } : {}),
  };
  // Through a proxy the agent opens TLS without the host name (it drops `host`): name it for the
  // certificate check, as the direct connection does.
  const serverName = connection.tlsServerName ?? base.hostname.replace(/^\[|\]$/g, "");
  if (connection.proxyUrl !== undefined) Object.assign(tls, { checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(serverName, cert) });
  // A cluster's proxy-url tunnels with CONNECT, as client-go does; TLS to the API server is end to end.
  const agent = connection.proxyUrl !== undefined
    ? new HttpsProxyAgent(connection.proxyUrl, { keepAlive: true, maxSockets: concurrency })
    : secure
      ? new https.Agent({ keepAlive: true, maxSockets: concurrency, ...tls })
      : new http.Agent({ keepAlive: true, maxSockets: concurrency });
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

  function send(call: Call): Promise<{ status: number; body: unknown; retryAfter?: number }> {
    return new Promise((resolve, reject) => {
      let timedOut = false;
      const headers: Record<string, string> = { Accept: "application/json", "User-Agent": "gitops-ci" };
      if (connection.token) headers["Authorization"] = `Bearer ${connection.token}`;
      if (call.body !== undefined) {
        headers["Content-Type"] = call.contentType ?? "application/json";
        headers["Content-Length"] = String(Buffer.byteLength(call.body));
      }
      const request = (secure ? https : http).request(
        {
          protocol: base.protocol,
          hostname: base.hostname.replace(/^\[|\]$/g, ""),
          port: base.port || (secure ? 443 : 80),
          path: `${basePath}${call.path}`,
          method: call.method,
          headers,
          // The proxy agent opens the TLS session itself, from the request's options.
          ...(secure ? tls : {}),
          agent,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", (error) => reject(networkError(error, describe(call), timeoutMs, timedOut)));
          response.on("end", () => {
            clearTimeout(timer);
            const text = Buffer.concat(chunks).toString("utf8");
            let body: unknown = text;
            if ((response.headers["content-type"] ?? "").includes("json") && text !== "") {
              try {
                body = JSON.parse(text);
              } catch {
                body = text;
              }
            }
            const retryAfter = Number(response.headers["retry-after"]);
            resolve({ status: response.statusCode ?? 0, body, ...(Number.isFinite(retryAfter) ? { retryAfter } : {}) });
          });
        },
      );
      const timer = setTimeout(() => {
        timedOut = true;
        request.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: "ETIMEDOUT" }));
      }, timeoutMs);
      request.on("error", (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(networkError(error, describe(call), timeoutMs, timedOut));
      });
      if (call.body !== undefined) request.write(call.body);
      request.end();
    });
  }

  /** Sends a request within the limiter; 2xx bodies are returned, 404 as undefined when asked. */
  async function call(request: Call, allowNotFound = false): Promise<unknown> {
    for (let attempt = 0; ; attempt += 1) {
      const response = await limiter.run(() => send(request));
      if (response.status >= 200 && response.status < 300) return response.body;
      if (response.status === 404 && allowNotFound) return undefined;
      if (response.status === 429 && attempt < MAX_THROTTLE_RETRIES) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(5, response.retryAfter ?? 1) * 1000 * (attempt + 1)));
        continue;
      }
      throw statusError(response.status, response.body, describe(request));
    }
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
          return [{
            group,
            version,
            kind: scalarText(entry["kind"]),
            plural: name,
            namespaced: entry["namespaced"] === true,
            verbs: Array.isArray(entry["verbs"]) ? entry["verbs"].map(String) : [],
          }];
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
      const body = await call({ method: "GET", path: objectPath(resource, ns, name), verb: "get", resource, name, ...(ns ? { namespace: ns } : {}) }, true);
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
        const body = await call({ method: "GET", path: `${objectPath(resource, ns)}?${query.toString()}`, verb: "list", resource, ...(ns ? { namespace: ns } : {}) });
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
      if (!isRecord(body)) throw new KubernetesApiError(`the API server answered the apply of ${resource.kind} ${name} with no object`, { failure: "unexpected", request: describe({ method: "PATCH", path: objectPath(resource, namespace, name), verb: "patch", resource }) });
      return body;
    },
    async delete(resource, name, namespace) {
      const ns = resource.namespaced ? (namespace ?? connection.namespace) : undefined;
      await call({ method: "DELETE", path: objectPath(resource, ns, name), verb: "delete", resource, name, ...(ns ? { namespace: ns } : {}) }, true);
    },
    forgetDiscovery() {
      discovery.clear();
    },
    close() {
      agent.destroy();
    },
  };
}
