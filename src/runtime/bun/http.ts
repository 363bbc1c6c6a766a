// The admin endpoint's HTTP server on Bun.serve.
import { ADMIN_LIMITS } from "../../core/admin-limits.ts";
import type { HttpServeOptions, HttpServer } from "../../core/runtime.ts";

export async function serveBunHttp(
  options: HttpServeOptions,
  handler: (request: Request) => Promise<Response>,
): Promise<HttpServer> {
  // idleTimeout also bounds a request whose headers trickle in (slowloris): Bun's timer is
  // not pushed back by a partial request. A body over the limit ends the connection (Bun
  // closes it without a 413).
  const server = Bun.serve({
    hostname: options.host,
    port: options.port,
    fetch: handler,
    idleTimeout: ADMIN_LIMITS.headerTimeoutMs / 1000,
    maxRequestBodySize: ADMIN_LIMITS.maxBodyBytes,
  });
  return { host: options.host, port: server.port ?? options.port, close: () => server.stop(true) };
}
