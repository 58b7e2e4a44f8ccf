// The one place an HTTP request leaves the process (GitLab's API, the Kubernetes API): node:http(s)
// over keep-alive agents built here, directly or through a proxy. Global fetch is not used because
// it ignores HTTPS_PROXY/NO_PROXY (and per-request TLS material for the API server).
// Through a proxy, https:// targets tunnel with CONNECT (TLS stays end to end, as client-go and
// curl do) and http:// targets are sent in absolute form to the proxy, as Go and curl send them.
import http from "node:http";
import https from "node:https";
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import { HttpsProxyAgent } from "https-proxy-agent";
import { hostOf, parseProxyUrl, proxyFor, type ProxySettings } from "./proxy.ts";

export interface HttpRequest {
  url: URL;
  method: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** The attempt fails with a TimeoutError (code ETIMEDOUT) when no whole answer came by then. */
  timeoutMs: number;
  signal?: AbortSignal;
  /**
   * Follow up to this many redirects of a GET or HEAD (default none), as fetch does; credentials
   * are not sent on to another origin.
   */
  maxRedirects?: number;
}

export interface HttpResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
}

export interface HttpTransport {
  send(request: HttpRequest): Promise<HttpResponse>;
  /** Closes idle keep-alive connections. */
  close(): void;
}

/** TLS material of the server (the Kubernetes API server's CA, a client certificate). */
export interface TlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
  servername?: string;
}

export interface TransportOptions {
  /** A proxy for every target (a kubeconfig cluster's proxy-url); wins over `proxy`. */
  proxyUrl?: string;
  /** The environment's proxy variables, applied per target URL. */
  proxy?: ProxySettings;
  tls?: TlsOptions;
  /** Connections per origin (default: Node's, unbounded). */
  maxSockets?: number;
}

/** Which way a request goes: directly, or through which proxy. */
export function routeOf(url: URL, options: Pick<TransportOptions, "proxyUrl" | "proxy">): URL | undefined {
  if (options.proxyUrl !== undefined) return parseProxyUrl(options.proxyUrl, "proxy-url");
  return options.proxy ? proxyFor(url, options.proxy) : undefined;
}

export function createHttpTransport(options: TransportOptions = {}): HttpTransport {
  const tls = options.tls ?? {};
  const sockets = options.maxSockets !== undefined ? { maxSockets: options.maxSockets } : {};
  const agents = new Map<string, http.Agent>();

  function agentFor(key: string, build: () => http.Agent): http.Agent {
    let agent = agents.get(key);
    if (!agent) agents.set(key, (agent = build()));
    return agent;
  }

  function requestOptions(request: HttpRequest): { module: typeof http | typeof https; options: https.RequestOptions } {
    const { url } = request;
    const secure = url.protocol === "https:";
    const proxy = routeOf(url, options);
    const headers = { ...request.headers };
    if (request.body !== undefined) headers["Content-Length"] = String(Buffer.byteLength(request.body));
    if (proxy && !secure) {
      // Absolute form: the proxy connects to the target and forwards the request.
      if (proxy.username)
        headers["Proxy-Authorization"] =
          `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString("base64")}`;
      const viaTls = proxy.protocol === "https:";
      const agent = agentFor(`forward ${proxy.href}`, () =>
        viaTls ? new https.Agent({ keepAlive: true, ...sockets }) : new http.Agent({ keepAlive: true, ...sockets }),
      );
      return {
        module: viaTls ? https : http,
        options: {
          hostname: hostOf(proxy),
          port: proxy.port || (viaTls ? 443 : 80),
          path: url.href,
          method: request.method,
          headers: { Host: url.host, ...headers },
          agent,
        },
      };
    }
    const target = {
      hostname: hostOf(url),
      port: url.port || (secure ? 443 : 80),
      path: `${url.pathname}${url.search}`,
      method: request.method,
      headers,
    };
    if (proxy) {
      // The tunnel's agent opens TLS from the request's options without the host name: name it
      // for the certificate check, as a direct connection does.
      const serverName = tls.servername ?? hostOf(url);
      const agent = agentFor(`tunnel ${proxy.href}`, () => new HttpsProxyAgent(proxy, { keepAlive: true, ...sockets }));
      return {
        module: https,
        options: {
          ...target,
          ...tls,
          checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(serverName, cert),
          agent,
        },
      };
    }
    if (secure)
      return {
        module: https,
        options: { ...target, agent: agentFor("https", () => new https.Agent({ keepAlive: true, ...sockets, ...tls })) },
      };
    return { module: http, options: { ...target, agent: agentFor("http", () => new http.Agent({ keepAlive: true, ...sockets })) } };
  }

  function sendOnce(request: HttpRequest): Promise<HttpResponse> {
    return new Promise<HttpResponse>((resolve, reject) => {
      const { module, options: sent } = requestOptions(request);
      let settled = false;
      const finish = (error: Error | undefined, response?: HttpResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        request.signal?.removeEventListener("abort", onAbort);
        if (error) reject(error);
        else resolve(response!);
      };
      const outgoing = module.request(sent, (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
        incoming.on("error", (error) => finish(error));
        incoming.on("end", () =>
          finish(undefined, { status: incoming.statusCode ?? 0, headers: flatHeaders(incoming.headers), body: Buffer.concat(chunks) }),
        );
      });
      const timer = setTimeout(() => {
        const error = Object.assign(new Error(`no answer within ${request.timeoutMs} ms`), { name: "TimeoutError", code: "ETIMEDOUT" });
        outgoing.destroy(error);
        finish(error);
      }, request.timeoutMs);
      const onAbort = () => {
        const error = Object.assign(new Error("the request was aborted"), { name: "AbortError" });
        outgoing.destroy(error);
        finish(error);
      };
      if (request.signal?.aborted) {
        onAbort();
        return;
      }
      request.signal?.addEventListener("abort", onAbort, { once: true });
      outgoing.on("error", (error) => finish(error));
      if (request.body !== undefined) outgoing.write(request.body);
      outgoing.end();
    });
  }

  return {
    async send(request) {
      let current = request;
      for (let redirects = 0; ; redirects += 1) {
        const response = await sendOnce(current);
        const location = response.headers["location"];
        const follow = REDIRECTS.has(response.status) && location !== undefined && (current.method === "GET" || current.method === "HEAD");
        if (!follow || redirects >= (current.maxRedirects ?? 0)) return response;
        const next = new URL(location, current.url);
        const headers = next.origin === current.url.origin ? current.headers : withoutCredentials(current.headers);
        current = { ...current, url: next, ...(headers ? { headers } : {}) };
      }
    },
    close() {
      for (const agent of agents.values()) agent.destroy();
      agents.clear();
    },
  };
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const CREDENTIAL_HEADERS = new Set(["authorization", "private-token", "job-token", "cookie", "proxy-authorization"]);

function withoutCredentials(headers: Record<string, string> | undefined): Record<string, string> | undefined {
  return headers && Object.fromEntries(Object.entries(headers).filter(([name]) => !CREDENTIAL_HEADERS.has(name.toLowerCase())));
}

function flatHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(", ") : value;
  return flat;
}
