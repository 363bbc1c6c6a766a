// A small authoritative DNS server for tests: answers from a table the test changes while it
// runs (A, AAAA, CNAME, SRV, an error code, truncation), over UDP and TCP on loopback.
// `respond` is the pure part, so unit tests can use it without sockets.
import { createSocket, type Socket } from "node:dgram";
import { createServer, type Server } from "node:net";
import { decodeMessage, DNS_CLASS_IN, DNS_TYPE, type DnsRecord, encodeMessage, RCODE } from "../../src/core/dns/message.ts";

export interface ZoneEntry {
  readonly a?: readonly string[];
  readonly aaaa?: readonly string[];
  readonly cname?: string;
  readonly srv?: readonly { priority: number; weight: number; port: number; target: string }[];
  /** An RCODE to answer with instead of records (2 SERVFAIL, 3 NXDOMAIN). */
  readonly rcode?: number;
  /** Set the TC bit on UDP answers, so the client must ask again over TCP. */
  readonly truncate?: boolean;
  readonly ttl?: number;
}

/** Name (lower case, no final dot) → what to answer; a name not in it gets NXDOMAIN. */
export type Zone = Map<string, ZoneEntry>;

export function respond(query: Uint8Array, zone: Zone, tcp: boolean): Uint8Array | null {
  const d = decodeMessage(query);
  if (!d.ok || d.message.response || d.message.questions.length !== 1) return null;
  const q = d.message.questions[0]!;
  const entry = zone.get(q.name);
  let rcode: number = RCODE.NOERROR;
  const answers: DnsRecord[] = [];
  const ttl = entry?.ttl ?? 1;
  const add = (name: string, type: number, data: DnsRecord["data"]) =>
    answers.push({ name, type, klass: DNS_CLASS_IN, ttl, data });
  if (!entry) rcode = RCODE.NXDOMAIN;
  else if (entry.rcode !== undefined) rcode = entry.rcode;
  else if (!(entry.truncate && !tcp)) {
    if (entry.cname) add(q.name, DNS_TYPE.CNAME, { kind: "cname", target: entry.cname });
    else if (q.type === DNS_TYPE.A) { for (const a of entry.a ?? []) add(q.name, q.type, { kind: "a", address: a }); }
    else if (q.type === DNS_TYPE.AAAA) { for (const a of entry.aaaa ?? []) add(q.name, q.type, { kind: "aaaa", address: a }); }
    else if (q.type === DNS_TYPE.SRV) { for (const s of entry.srv ?? []) add(q.name, q.type, { kind: "srv", ...s }); }
  }
  return encodeMessage({
    ...d.message,
    response: true,
    truncated: entry?.truncate === true && !tcp,
    rcode,
    questions: [q],
    answers,
  });
}

export interface DnsServer {
  readonly port: number;
  readonly zone: Zone;
  /** Questions answered so far, as "name type" ("be.test 1"), over both transports. */
  readonly asked: string[];
  close(): Promise<void>;
}

/** Listens on 127.0.0.1, UDP and TCP on the same port (a few tries to find one free for both). */
export async function startDnsServer(zone: Zone = new Map()): Promise<DnsServer> {
  for (let attempt = 1;; attempt++) {
    try {
      return await tryStart(zone);
    } catch (err) {
      if (attempt >= 10 || (err as NodeJS.ErrnoException).code !== "EADDRINUSE") throw err;
    }
  }
}

async function tryStart(zone: Zone): Promise<DnsServer> {
  const asked: string[] = [];
  const note = (query: Uint8Array) => {
    const d = decodeMessage(query);
    if (d.ok && d.message.questions[0]) asked.push(`${d.message.questions[0].name} ${d.message.questions[0].type}`);
  };
  const udp: Socket = createSocket("udp4");
  udp.on("message", (msg, from) => {
    note(msg);
    const reply = respond(msg, zone, false);
    if (reply) udp.send(reply, from.port, from.address);
  });
  await new Promise<void>((resolve) => udp.bind(0, "127.0.0.1", resolve));
  const port = udp.address().port;
  const tcp: Server = createServer((socket) => {
    let buf = new Uint8Array(0);
    socket.on("error", () => socket.destroy());
    socket.on("data", (chunk: Uint8Array) => {
      const all = new Uint8Array(buf.length + chunk.length);
      all.set(buf);
      all.set(chunk, buf.length);
      buf = all;
      while (buf.length >= 2 && buf.length >= 2 + ((buf[0]! << 8) | buf[1]!)) {
        const length = (buf[0]! << 8) | buf[1]!;
        const query = buf.slice(2, 2 + length);
        buf = buf.slice(2 + length);
        note(query);
        const reply = respond(query, zone, true);
        if (!reply) continue;
        socket.write(Uint8Array.of(reply.length >> 8, reply.length & 0xff));
        socket.write(reply);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once("error", (err) => udp.close(() => reject(err)));
    tcp.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    port,
    zone,
    asked,
    close: async () => {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}
