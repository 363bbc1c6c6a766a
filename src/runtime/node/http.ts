// The admin endpoint on node:http: each request becomes a Web Request for the core's
// fetch-style handler, and its Response goes back out. Requests are small (JSON, a page),
// so bodies are read whole, up to a limit.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ADMIN_LIMITS } from "../../core/admin-limits.ts";
import type { HttpServeOptions, HttpServer } from "../../core/runtime.ts";

/** The admin API takes small JSON bodies; anything larger is refused before it is read. */
const MAX_BODY_BYTES = ADMIN_LIMITS.maxBodyBytes;

export function serveNodeHttp(
  options: HttpServeOptions,
  handler: (request: Request) => Promise<Response>,
): Promise<HttpServer> {
  // Slowloris: Node answers 408 and closes when the headers (or the whole request) take too
  // long, checking every connectionsCheckingInterval; headers past maxHeaderSize get 431.
  const server = http.createServer({
    maxHeaderSize: ADMIN_LIMITS.maxHeaderBytes,
    headersTimeout: ADMIN_LIMITS.headerTimeoutMs,
    requestTimeout: ADMIN_LIMITS.headerTimeoutMs + ADMIN_LIMITS.bodyTimeoutMs,
    connectionsCheckingInterval: 500,
  }, (req, res) => {
    void respond(req, res, handler, options.host);
  });
  // The admin endpoint is not a web server: keep idle keep-alive connections short.
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: options.host, port: options.port }, () => {
      server.off("error", reject);
      server.on("error", () => undefined);
      const addr = server.address() as AddressInfo;
      resolve({
        host: options.host,
        port: addr.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

async function respond(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  handler: (request: Request) => Promise<Response>,
  host: string,
): Promise<void> {
  try {
    const method = req.method ?? "GET";
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (Array.isArray(value)) { for (const v of value) headers.append(name, v); }
      else if (value !== undefined) headers.set(name, value);
    }
    let body: ArrayBuffer | undefined;
    if (method !== "GET" && method !== "HEAD") {
      const declared = Number(req.headers["content-length"] ?? 0);
      const read = declared > MAX_BODY_BYTES ? null : await readBody(req);
      if (read === null) {
        // Answer, then drop the connection: the rest of the body is never read.
        res.on("finish", () => req.socket.destroy());
        res.writeHead(413, { "content-type": "application/json", connection: "close" });
        res.end(`${JSON.stringify({ error: `request body larger than ${MAX_BODY_BYTES} bytes` }, null, 2)}\n`);
        return;
      }
      // A plain ArrayBuffer is a BodyInit in every lib's typings (a Buffer is not in Deno's).
      body = new Uint8Array(read).buffer;
    }
    const authority = req.headers.host ?? host;
    const request = new Request(`http://${authority}${req.url ?? "/"}`, { method, headers, body });
    const response = await handler(request);
    const out: Record<string, string> = {};
    response.headers.forEach((v, k) => (out[k] = v));
    const payload = method === "HEAD" ? null : new Uint8Array(await response.arrayBuffer());
    res.writeHead(response.status, out);
    res.end(payload ?? undefined);
  } catch (e) {
    if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
    res.end(`internal error: ${e instanceof Error ? e.message : String(e)}\n`);
  }
}

function readBody(req: http.IncomingMessage): Promise<Uint8Array | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.pause();
        req.removeAllListeners("data");
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}
