// The admin endpoint's HTTP server on Deno.serve.
import type { HttpServeOptions, HttpServer } from "../../core/runtime.ts";

export async function serveDenoHttp(options: HttpServeOptions, handler: (request: Request) => Promise<Response>): Promise<HttpServer> {
  // Deno.serve binds before it returns (a taken port throws here); onListen replaces
  // Deno's own "Listening on" line on stdout.
  const server = Deno.serve({ hostname: options.host, port: options.port, onListen: () => undefined }, handler);
  return { host: options.host, port: server.addr.port, close: () => server.shutdown() };
}
