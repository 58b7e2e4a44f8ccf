// A real HTTP forward proxy on loopback, as a runner's corporate proxy behaves: CONNECT tunnels
// (https:// targets) and absolute-form requests (http:// targets), each one recorded. `hosts` maps
// names only the proxy can resolve to addresses, so a request that reaches the target at all has
// gone through the proxy.
import http from "node:http";
import net from "node:net";

export interface ForwardProxy {
  url: string;
  /** `host:port` of every CONNECT, in order. */
  tunnels: string[];
  /** Absolute URLs of every forwarded request, in order. */
  forwarded: string[];
  close(): Promise<void>;
}

export function startForwardProxy(options: { hosts?: Record<string, string> } = {}): Promise<ForwardProxy> {
  const tunnels: string[] = [];
  const forwarded: string[] = [];
  const open = new Set<net.Socket>();
  const resolve = (host: string) => options.hosts?.[host] ?? host;
  const server = http.createServer((request, response) => {
    let target: URL;
    try {
      target = new URL(String(request.url));
    } catch {
      response.writeHead(400).end("absolute-form request expected");
      return;
    }
    forwarded.push(target.href);
    const upstream = http.request(
      {
        hostname: resolve(target.hostname),
        port: target.port || 80,
        path: `${target.pathname}${target.search}`,
        method: request.method,
        headers: { ...request.headers, host: target.host },
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on("error", () => (response.headersSent ? response.destroy() : response.writeHead(502).end("proxy: upstream failed")));
    request.pipe(upstream);
  });
  server.on("connect", (request: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const target = String(request.url);
    tunnels.push(target);
    const separator = target.lastIndexOf(":");
    const host = target.slice(0, separator).replace(/^\[|\]$/g, "");
    const upstream = net.connect(Number(target.slice(separator + 1)), resolve(host), () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
    open.add(client).add(upstream);
    client.on("close", () => open.delete(client));
    upstream.on("close", () => open.delete(upstream));
  });
  return new Promise((done) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      done({
        url: `http://127.0.0.1:${port}`,
        tunnels,
        forwarded,
        close: () =>
          new Promise((closed) => {
            server.closeAllConnections();
            for (const socket of open) socket.destroy();
            server.close(() => closed());
          }),
      });
    });
  });
}
