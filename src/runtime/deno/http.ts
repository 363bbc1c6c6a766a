// The admin endpoint on Deno. Deno.serve has no header deadline and takes headers of any
// size (a client trickling one header a second holds a connection forever), so a small
// guard owns the TCP port: it reads the request head itself within the deadline and size,
// then hands the connection's bytes to Deno.serve listening on a private unix socket.
// Each connection carries one request (responses say `connection: close`), so every
// request passes the guard.
import { ADMIN_LIMITS } from "../../core/admin-limits.ts";
import type { HttpServeOptions, HttpServer } from "../../core/runtime.ts";

const END_OF_HEAD = new TextEncoder().encode("\r\n\r\n");
/** Once the head is in, the body and the response have this long (the body's own limit is the core's). */
const AFTER_HEAD_MS = ADMIN_LIMITS.bodyTimeoutMs + 5_000;

export async function serveDenoHttp(
  options: HttpServeOptions,
  handler: (request: Request) => Promise<Response>,
): Promise<HttpServer> {
  const listener = Deno.listen({ hostname: options.host, port: options.port });
  const dir = await Deno.makeTempDir({ prefix: "streamlb-admin-" });
  const path = `${dir}/http.sock`;
  const inner = Deno.serve({ path, onListen: () => undefined }, async (request) => {
    const response = await handler(request);
    const headers = new Headers(response.headers);
    headers.set("connection", "close");
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  });
  const open = new Set<Deno.Conn>();
  void (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return; // closed
      }
      open.add(conn);
      void guard(conn, path).finally(() => open.delete(conn));
    }
  })();
  return {
    host: options.host,
    port: (listener.addr as Deno.NetAddr).port,
    close: async () => {
      listener.close();
      for (const c of open) closeQuietly(c);
      await inner.shutdown();
      await Deno.remove(dir, { recursive: true }).catch(() => undefined);
    },
  };
}

async function guard(conn: Deno.Conn, path: string): Promise<void> {
  let timer = setTimeout(() => closeQuietly(conn), ADMIN_LIMITS.headerTimeoutMs);
  let inner: Deno.Conn | null = null;
  try {
    const head = await readHead(conn);
    if (head === "too large") {
      await writeAll(
        conn,
        refusal(431, "Request Header Fields Too Large", `request headers larger than ${ADMIN_LIMITS.maxHeaderBytes} bytes`),
      );
      return;
    }
    if (head === null) return; // closed, or the deadline passed
    clearTimeout(timer);
    timer = setTimeout(() => closeQuietly(conn), AFTER_HEAD_MS);
    inner = await Deno.connect({ transport: "unix", path });
    await writeAll(inner, head);
    // The response ends the connection: what the client still sends (an unread body after a
    // 413 or 408) is not waited for.
    void pump(conn, inner);
    await pump(inner, conn);
  } catch {
    // either side went away
  } finally {
    clearTimeout(timer);
    if (inner) closeQuietly(inner);
    closeQuietly(conn);
  }
}

/** The bytes up to the end of the head (and whatever came with them); null on EOF. */
async function readHead(conn: Deno.Conn): Promise<Uint8Array | "too large" | null> {
  const buf = new Uint8Array(ADMIN_LIMITS.maxHeaderBytes + 4096);
  let size = 0;
  for (;;) {
    if (size === buf.length) return "too large";
    const n = await conn.read(buf.subarray(size));
    if (n === null) return null;
    const from = Math.max(0, size - 3);
    size += n;
    const end = indexOf(buf.subarray(from, size), END_OF_HEAD);
    if (end >= 0) return from + end + 4 > ADMIN_LIMITS.maxHeaderBytes ? "too large" : buf.slice(0, size);
    if (size > ADMIN_LIMITS.maxHeaderBytes) return "too large";
  }
}

async function pump(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(16 * 1024);
  try {
    for (;;) {
      const n = await from.read(buf);
      if (n === null) break;
      await writeAll(to, buf.subarray(0, n));
    }
    await to.closeWrite().catch(() => undefined);
  } catch {
    closeQuietly(to);
  }
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function refusal(status: number, reason: string, message: string): Uint8Array {
  const body = `${JSON.stringify({ error: message }, null, 2)}\n`;
  return new TextEncoder().encode(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
  );
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.byteLength) off += await conn.write(data.subarray(off));
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
