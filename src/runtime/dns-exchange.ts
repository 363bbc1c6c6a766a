// One DNS exchange for the core's resolver, over node:dgram and node:net: both run the same
// on Node, Deno and Bun, and a resolver sends a few datagrams a TTL, so no native API pays
// for a second copy. A fresh socket per question gives each one its own random source port.
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import type { ConnectTarget, DnsExchangeOptions } from "../core/runtime.ts";

export function dnsExchange(server: ConnectTarget, query: Uint8Array, options: DnsExchangeOptions): Promise<Uint8Array> {
  return options.tcp ? overTcp(server, query, options) : overUdp(server, query, options);
}

function overUdp(server: ConnectTarget, query: Uint8Array, options: DnsExchangeOptions): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(server.host.includes(":") ? "udp6" : "udp4");
    let done = false;
    const finish = (err: Error | null, reply?: Uint8Array) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(reply!);
    };
    const timer = setTimeout(() => finish(new Error("timed out")), options.timeoutMs);
    whenAborted(options.signal, () => finish(new Error("aborted")));
    socket.on("error", (err) => finish(err));
    socket.on("message", (msg, from) => {
      // Only the server asked may answer, and only with the answer to this question.
      if (from.port !== server.port || !sameHost(from.address, server.host)) return;
      const bytes = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength).slice();
      if (options.accept(bytes)) finish(null, bytes);
    });
    // connect() makes the kernel report ICMP port unreachable as an error: a fast failure.
    socket.connect(server.port, server.host, () => {
      if (!done) socket.send(query, (err) => err && finish(err));
    });
  });
}

function overTcp(server: ConnectTarget, query: Uint8Array, options: DnsExchangeOptions): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: server.host, port: server.port });
    let done = false;
    let received = new Uint8Array(0);
    const finish = (err: Error | null, reply?: Uint8Array) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(reply!);
    };
    const timer = setTimeout(() => finish(new Error("timed out")), options.timeoutMs);
    whenAborted(options.signal, () => finish(new Error("aborted")));
    socket.on("error", (err) => finish(err));
    socket.on("close", () => finish(new Error("closed before the answer")));
    socket.on("connect", () => {
      const framed = new Uint8Array(2 + query.length);
      framed[0] = query.length >> 8;
      framed[1] = query.length & 0xff;
      framed.set(query, 2);
      socket.write(framed);
    });
    socket.on("data", (chunk: Uint8Array) => {
      const all = new Uint8Array(received.length + chunk.length);
      all.set(received);
      all.set(chunk, received.length);
      received = all;
      if (received.length < 2) return;
      const length = (received[0]! << 8) | received[1]!;
      if (received.length < 2 + length) return;
      const reply = received.slice(2, 2 + length);
      if (options.accept(reply)) finish(null, reply);
      else finish(new Error("not the answer to the question asked"));
    });
  });
}

function sameHost(a: string, b: string): boolean {
  return a === b || a === `::ffff:${b}` || a.replace(/^\[|\]$/g, "") === b.replace(/^\[|\]$/g, "");
}

function whenAborted(signal: AbortSignal | undefined, abort: () => void): void {
  if (!signal) return;
  if (signal.aborted) queueMicrotask(abort);
  else signal.addEventListener("abort", abort, { once: true });
}
