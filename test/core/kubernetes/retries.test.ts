// The Kubernetes client's retries, through the shared HTTP layer, against a local server that
// injects the faults a loaded API server sends: 429 with Retry-After (max-in-flight shedding), a
// dropped connection, and a 500 without Retry-After (a failing webhook: an answer, not a hiccup).
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { describe, expect, it, onTestFinished } from "vitest";
import { createKubernetesClient } from "../../../core/kubernetes/client.ts";
import { KubernetesApiError } from "../../../core/kubernetes/errors.ts";
import { fakeClock } from "../gitlab/fake-clock.ts";

type Fault = "throttle" | "reset" | "webhook-500" | "unavailable";

/** Answers GET /version; each request first takes the next fault, if any. */
async function apiServer(faults: Fault[]): Promise<{ server: string; requests: () => number }> {
  let requests = 0;
  const sockets = new Set<Socket>();
  const server = http.createServer((request, response) => {
    requests += 1;
    const fault = faults.shift();
    if (fault === "reset") return request.socket.destroy();
    if (fault === "throttle")
      return response
        .writeHead(429, { "content-type": "application/json", "retry-after": "2" })
        .end(JSON.stringify({ kind: "Status", code: 429, message: "Too many requests, please try again later." }));
    if (fault === "unavailable")
      return response
        .writeHead(503, { "content-type": "application/json", "retry-after": "1" })
        .end(JSON.stringify({ kind: "Status", code: 503, message: "the server is shutting down" }));
    if (fault === "webhook-500")
      return response
        .writeHead(500, { "content-type": "application/json" })
        .end(
          JSON.stringify({ kind: "Status", code: 500, message: 'Internal error occurred: failed calling webhook "validate.example.com"' }),
        );
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ gitVersion: "v1.35.8" }));
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return { server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => requests };
}

function client(server: string, clock = fakeClock()) {
  const created = createKubernetesClient({ contextName: "test", server, insecureSkipTlsVerify: false, namespace: "default" }, { clock });
  onTestFinished(() => created.close());
  return created;
}

describe("Kubernetes API retries", () => {
  it("waits as a 429 or 503 with Retry-After asks, then answers", async () => {
    const { server, requests } = await apiServer(["throttle", "unavailable"]);
    const clock = fakeClock();
    expect(await client(server, clock).version()).toEqual({ gitVersion: "v1.35.8" });
    expect(clock.sleeps).toEqual([2_000, 1_000]);
    expect(requests()).toBe(3);
  });

  it("sends a request again after the connection dropped", async () => {
    const { server, requests } = await apiServer(["reset"]);
    const clock = fakeClock();
    expect(await client(server, clock).version()).toEqual({ gitVersion: "v1.35.8" });
    expect(requests()).toBe(2);
    expect(clock.sleeps).toHaveLength(1);
  });

  it("takes a 500 without Retry-After as the answer", async () => {
    const { server, requests } = await apiServer(["webhook-500"]);
    const error = await client(server)
      .version()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KubernetesApiError);
    expect(error).toMatchObject({ httpStatus: 500 });
    expect(requests()).toBe(1);
  });

  it("gives up on a server that keeps throttling, and says so", async () => {
    const { server, requests } = await apiServer(["throttle", "throttle", "throttle", "throttle", "throttle"]);
    const error = await client(server)
      .version()
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ failure: "too-many-requests", httpStatus: 429 });
    expect(requests()).toBe(4);
  });

  it("does not retry a refused connection (the server is not there)", async () => {
    const { server } = await apiServer([]);
    const clock = fakeClock();
    const unreachable = server.replace(/:\d+$/, ":9");
    const error = await client(unreachable, clock)
      .version()
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ failure: "unreachable" });
    expect(clock.sleeps).toEqual([]);
  });
});
