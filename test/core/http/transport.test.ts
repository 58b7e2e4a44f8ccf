// The shared HTTP transport against local servers: redirects followed as fetch follows them, but
// no credential carried to another origin; a request that outlives its timeout fails as one.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it, onTestFinished } from "vitest";
import { createHttpTransport } from "../../../core/http/transport.ts";

async function server(handler: http.RequestListener): Promise<{ url: string; seen: http.IncomingHttpHeaders[] }> {
  const seen: http.IncomingHttpHeaders[] = [];
  const created = http.createServer((request, response) => {
    seen.push(request.headers);
    handler(request, response);
  });
  await new Promise<void>((resolve) => created.listen(0, "127.0.0.1", resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        created.closeAllConnections();
        created.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(created.address() as AddressInfo).port}`, seen };
}

function transport() {
  const created = createHttpTransport();
  onTestFinished(() => created.close());
  return created;
}

describe("the HTTP transport", () => {
  it("follows a GET's redirects within the limit, keeping credentials on the same origin and dropping them on another", async () => {
    const other = await server((_request, response) => response.writeHead(200, { "content-type": "text/plain" }).end("stored elsewhere"));
    const origin = await server((request, response) => {
      if (request.url === "/moved") return response.writeHead(301, { location: "/here" }).end();
      if (request.url === "/here") return response.writeHead(302, { location: `${other.url}/object?signed=1` }).end();
      response.writeHead(404).end();
    });
    const answer = await transport().send({
      url: new URL(`${origin.url}/moved`),
      method: "GET",
      headers: { "PRIVATE-TOKEN": "glpat-secret", Accept: "text/plain" },
      timeoutMs: 5_000,
      maxRedirects: 5,
    });
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toBe("stored elsewhere");
    expect(origin.seen.map((headers) => headers["private-token"])).toEqual(["glpat-secret", "glpat-secret"]);
    expect(other.seen).toHaveLength(1);
    expect(other.seen[0]!["private-token"]).toBeUndefined();
    expect(other.seen[0]!["accept"]).toBe("text/plain");
  });

  it("answers a redirect as it is without maxRedirects, and never follows one for a POST", async () => {
    const origin = await server((_request, response) => response.writeHead(302, { location: "/elsewhere" }).end());
    const send = transport();
    expect((await send.send({ url: new URL(`${origin.url}/a`), method: "GET", timeoutMs: 5_000 })).status).toBe(302);
    expect(
      (await send.send({ url: new URL(`${origin.url}/a`), method: "POST", body: "{}", timeoutMs: 5_000, maxRedirects: 5 })).status,
    ).toBe(302);
    expect(origin.seen).toHaveLength(2);
  });

  it("fails a request that outlives its timeout with a TimeoutError", async () => {
    const silent = await server(() => undefined);
    const error = await transport()
      .send({ url: new URL(`${silent.url}/`), method: "GET", timeoutMs: 200 })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: "TimeoutError", code: "ETIMEDOUT" });
  });
});
