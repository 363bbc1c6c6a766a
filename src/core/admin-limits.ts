// What one admin request may cost, enforced in front of the admin handler on every runtime:
// the API takes small JSON bodies and the endpoint must stay up when a client sends a
// flood or trickles bytes. The adapters enforce the header deadline and size on the socket
// (only they see a request before its headers end); this wrapper holds the body to the same
// numbers whatever the runtime's own server allows.

export interface AdminLimits {
  readonly maxHeaderBytes: number;
  readonly maxBodyBytes: number;
  readonly headerTimeoutMs: number;
  readonly bodyTimeoutMs: number;
}

export const ADMIN_LIMITS: AdminLimits = {
  /** Request line and headers together (nginx's large_client_header_buffers is 4 × 8k). */
  maxHeaderBytes: 16 * 1024,
  /** The biggest JSON an API call needs is a few hundred bytes. */
  maxBodyBytes: 1024 * 1024,
  /** From the connection's first byte (or the previous response) to the end of the headers. */
  headerTimeoutMs: 5_000,
  /** From the end of the headers to the end of the body. */
  bodyTimeoutMs: 5_000,
};

export type FetchHandler = (request: Request) => Promise<Response>;

/** Refusals close the connection: whatever the client still sends is not read. */
function refuse(status: 413 | 431 | 408 | 400, message: string): Response {
  return new Response(`${JSON.stringify({ error: message }, null, 2)}\n`, {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store", connection: "close" },
  });
}

/** Bytes the request line and headers took, as they came on the wire (roughly: names, values, separators). */
export function headerBytes(request: Request): number {
  const url = new URL(request.url);
  let n = request.method.length + url.pathname.length + url.search.length + 12;
  request.headers.forEach((value, name) => (n += name.length + value.length + 4));
  return n;
}

/** The handler behind the limits: 431 for headers, 413 for a body too large, 408 for a body too slow. */
export function limitRequests(handler: FetchHandler, limits: AdminLimits = ADMIN_LIMITS): FetchHandler {
  return async (request) => {
    if (headerBytes(request) > limits.maxHeaderBytes) {
      return refuse(431, `request headers larger than ${limits.maxHeaderBytes} bytes`);
    }
    if (request.body === null) return handler(request);
    const declared = request.headers.get("content-length");
    if (declared !== null && !(Number(declared) <= limits.maxBodyBytes)) {
      return refuse(413, `request body larger than ${limits.maxBodyBytes} bytes`);
    }
    const read = await readCapped(request.body, limits.maxBodyBytes, limits.bodyTimeoutMs);
    if (read === "too large") return refuse(413, `request body larger than ${limits.maxBodyBytes} bytes`);
    if (read === "too slow") return refuse(408, `request body not received within ${limits.bodyTimeoutMs} ms`);
    if (read === "failed") return refuse(400, "the request body could not be read");
    return handler(new Request(request.url, { method: request.method, headers: request.headers, body: read }));
  };
}

/** Reads a body whole, giving up (and cancelling the stream) past maxBytes or timeoutMs. */
async function readCapped(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
  timeoutMs: number,
): Promise<ArrayBuffer | "too large" | "too slow" | "failed"> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"too slow">((resolve) => (timer = setTimeout(() => resolve("too slow"), timeoutMs)));
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), late]);
      if (next === "too slow") {
        void reader.cancel().catch(() => undefined);
        return next;
      }
      if (next.done) break;
      size += next.value.byteLength;
      if (size > maxBytes) {
        void reader.cancel().catch(() => undefined);
        return "too large";
      }
      chunks.push(next.value);
    }
  } catch {
    return "failed";
  } finally {
    clearTimeout(timer);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out.buffer;
}
