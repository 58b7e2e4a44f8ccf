// Which proxy a request goes through, read from HTTPS_PROXY / HTTP_PROXY / NO_PROXY as Go's
// net/http (golang.org/x/net/http/httpproxy) reads them, since the tools beside us (flux, helm,
// kubectl) are Go programs and a runner's proxy settings must mean the same to all of them:
// - HTTPS_PROXY for https:// URLs, HTTP_PROXY for http:// URLs; the upper-case name first, then the
//   lower-case one; a proxy without a scheme is http://;
// - NO_PROXY is a comma list: `*` (everything), a host name (itself and its subdomains), `.name`
//   (subdomains only), an IP address, a CIDR range, each of them optionally with `:port`;
// - loopback (localhost, 127.0.0.0/8, ::1) never goes through a proxy, as in Go and curl.
import { BlockList, isIP } from "node:net";
import { UserError } from "../errors.ts";

export interface ProxySettings {
  httpsProxy?: string;
  httpProxy?: string;
  noProxy?: string;
}

/** The proxy variables of an environment (the entry point's, passed through the task context). */
export function proxySettingsFromEnv(env: Readonly<Record<string, string | undefined>>): ProxySettings {
  const pick = (...names: string[]) => names.map((name) => env[name]?.trim()).find((value) => value !== undefined && value !== "");
  const httpsProxy = pick("HTTPS_PROXY", "https_proxy");
  const httpProxy = pick("HTTP_PROXY", "http_proxy");
  const noProxy = pick("NO_PROXY", "no_proxy");
  return { ...(httpsProxy ? { httpsProxy } : {}), ...(httpProxy ? { httpProxy } : {}), ...(noProxy ? { noProxy } : {}) };
}

/** The proxy for `target`, or undefined to connect directly. */
export function proxyFor(target: URL, settings: ProxySettings): URL | undefined {
  const raw = target.protocol === "https:" ? settings.httpsProxy : target.protocol === "http:" ? settings.httpProxy : undefined;
  if (!raw) return undefined;
  const host = hostOf(target);
  const port = target.port || (target.protocol === "https:" ? "443" : "80");
  if (isLoopback(host) || bypassesProxy(host, port, settings.noProxy ?? "")) return undefined;
  return parseProxyUrl(raw, target.protocol === "https:" ? "HTTPS_PROXY" : "HTTP_PROXY");
}

/** A proxy URL as Go reads it: no scheme means http://; only http:// and https:// proxies tunnel. */
export function parseProxyUrl(raw: string, source: string): URL {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch (error) {
    throw new UserError(`${source} is not a URL: "${redactUserInfo(raw)}"`, {
      hint: "set it like http://proxy.example.com:3128",
      cause: error,
    });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UserError(`${source} uses ${url.protocol.slice(0, -1)}://, which gitops-ci does not support`, {
      hint: "use an http:// or https:// proxy",
    });
  }
  return url;
}

/** Whether NO_PROXY exempts host:port. */
export function bypassesProxy(host: string, port: string, noProxy: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, "");
  for (const entry of noProxy
    .split(",")
    .map((part) => part.trim().toLowerCase())
    .filter((part) => part !== "")) {
    if (entry === "*") return true;
    const { pattern, entryPort } = splitPort(entry);
    if (entryPort !== undefined && entryPort !== port) continue;
    if (pattern.includes("/")) {
      if (inCidr(name, pattern)) return true;
      continue;
    }
    if (isIP(pattern) !== 0) {
      if (isIP(name) !== 0 && sameAddress(name, pattern)) return true;
      continue;
    }
    const domain = pattern.replace(/^\*?\./, "").replace(/\.$/, "");
    if (domain === "") continue;
    const subdomainsOnly = pattern.startsWith(".") || pattern.startsWith("*.");
    if (name.endsWith(`.${domain}`) || (!subdomainsOnly && name === domain)) return true;
  }
  return false;
}

export function isLoopback(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, "");
  if (name === "localhost" || name.endsWith(".localhost")) return true;
  if (isIP(name) === 4) return name.startsWith("127.");
  if (isIP(name) === 6) return sameAddress(name, "::1");
  return false;
}

/** The host without IPv6 brackets. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, "");
}

/** The passwords in proxy URLs: secrets, for the redactor, before anything can echo a URL. */
export function proxyPasswords(...urls: (string | undefined)[]): string[] {
  return urls.flatMap((raw) => {
    const password = raw ? /\/\/[^/@:]*:([^/@]*)@/.exec(raw)?.[1] : undefined;
    if (!password) return [];
    let decoded = password;
    try {
      decoded = decodeURIComponent(password);
    } catch {
      // keep it as written
    }
    return [...new Set([password, decoded])];
  });
}

/** For messages: a proxy URL without its user and password. */
export function redactUserInfo(raw: string): string {
  return raw.replace(/\/\/[^/@]*@/, "//");
}

function splitPort(entry: string): { pattern: string; entryPort?: string } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) return { pattern: bracketed[1]!, ...(bracketed[2] ? { entryPort: bracketed[2] } : {}) };
  // A bare IPv6 address (or range) has colons of its own.
  if (isIP(entry.split("/")[0]!) === 6) return { pattern: entry };
  const withPort = /^(.*):(\d+)$/.exec(entry);
  return withPort ? { pattern: withPort[1]!, entryPort: withPort[2]! } : { pattern: entry };
}

function inCidr(address: string, cidr: string): boolean {
  const [network, bits] = cidr.split("/");
  const family = isIP(network ?? "");
  if (family === 0 || isIP(address) !== family || !/^\d+$/.test(bits ?? "")) return false;
  const list = new BlockList();
  try {
    list.addSubnet(network!, Number(bits), family === 4 ? "ipv4" : "ipv6");
  } catch {
    return false;
  }
  return list.check(address, family === 4 ? "ipv4" : "ipv6");
}

function sameAddress(a: string, b: string): boolean {
  const family = isIP(a);
  if (family === 0 || family !== isIP(b)) return false;
  const list = new BlockList();
  list.addAddress(b, family === 4 ? "ipv4" : "ipv6");
  return list.check(a, family === 4 ? "ipv4" : "ipv6");
}
