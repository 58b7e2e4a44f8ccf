// The real HTTP transport with a hook around each request: a test injects a fault (a lost answer, a
// note another job writes meanwhile) at an exact moment, while every byte still goes over the wire.
import { createHttpTransport, type HttpRequest, type HttpResponse, type HttpTransport } from "../../core/http/transport.ts";

export function wrapTransport(
  intercept: (request: HttpRequest, send: (request: HttpRequest) => Promise<HttpResponse>) => Promise<HttpResponse>,
): HttpTransport {
  const real = createHttpTransport();
  return { send: (request) => intercept(request, (sent) => real.send(sent)), close: () => real.close() };
}
