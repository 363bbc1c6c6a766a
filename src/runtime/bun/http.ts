// The admin endpoint's HTTP server on Bun.serve.
import type { HttpServeOptions, HttpServer } from "../../core/runtime.ts";

export async function serveBunHttp(options: HttpServeOptions, handler: (request: Request) => Promise<Response>): Promise<HttpServer> {
  const server = Bun.serve({ hostname: options.host, port: options.port, fetch: handler });
  return { host: options.host, port: server.port ?? options.port, close: () => server.stop(true) };
}
