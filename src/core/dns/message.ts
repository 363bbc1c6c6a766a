// The DNS wire format (RFC 1035, 3596, 2782): queries for A, AAAA and SRV out, answers in.
// Pure and total: decodeMessage never throws and never reads past the bytes it is given, so a
// broken or hostile reply from the network is a value, not a crash. The encoder of whole
// messages is here too, for the loopback DNS server the tests run and for round-trip checks.
import { formatIPv4, formatIPv6 } from "../phases/ip-text.ts";

export const DNS_TYPE = { A: 1, CNAME: 5, AAAA: 28, SRV: 33 } as const;
export const DNS_CLASS_IN = 1;

/** RCODEs, by nginx's names for them (ngx_resolver_strerror). */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** RFC 1035's limits: 63 bytes a label, 255 a name on the wire. */
const MAX_LABEL = 63;
const MAX_NAME = 255;
/** Compression pointers one name may follow; more means a loop. */
const MAX_JUMPS = 64;

export type RecordData =
  | { readonly kind: "a"; readonly address: string }
  | { readonly kind: "aaaa"; readonly address: string }
  | { readonly kind: "cname"; readonly target: string }
  | { readonly kind: "srv"; readonly priority: number; readonly weight: number; readonly port: number; readonly target: string }
  | { readonly kind: "other"; readonly bytes: Uint8Array };

export interface DnsRecord {
  /** Lower case, without the final dot. */
  readonly name: string;
  readonly type: number;
  readonly klass: number;
  /** Seconds; RFC 2181 says a value with the top bit set is 0. */
  readonly ttl: number;
  readonly data: RecordData;
}

export interface DnsQuestion {
  readonly name: string;
  readonly type: number;
  readonly klass: number;
}

export interface DnsMessage {
  readonly id: number;
  readonly response: boolean;
  readonly opcode: number;
  readonly truncated: boolean;
  readonly recursionDesired: boolean;
  readonly rcode: number;
  readonly questions: readonly DnsQuestion[];
  readonly answers: readonly DnsRecord[];
}

export type DecodeResult = { readonly ok: true; readonly message: DnsMessage } | { readonly ok: false; readonly error: string };

/** A name as a query may carry it: labels of 1..63 bytes, 255 on the wire; null when it cannot be. */
export function nameLabels(name: string): Uint8Array[] | null {
  const text = name.endsWith(".") ? name.slice(0, -1) : name;
  if (text === "") return [];
  const labels = text.split(".").map((l) => new TextEncoder().encode(l));
  if (labels.some((l) => l.length === 0 || l.length > MAX_LABEL)) return null;
  const wire = labels.reduce((n, l) => n + 1 + l.length, 1);
  return wire > MAX_NAME ? null : labels;
}

/** One question, recursion desired, as a stub resolver sends it; null when the name cannot be sent. */
export function encodeQuery(id: number, name: string, type: number): Uint8Array | null {
  if (nameLabels(name) === null) return null;
  return encodeMessage({
    id,
    response: false,
    opcode: 0,
    truncated: false,
    recursionDesired: true,
    rcode: 0,
    questions: [{ name, type, klass: DNS_CLASS_IN }],
    answers: [],
  });
}

/** Any message with uncompressed names; throws on a name or record that cannot be written. */
export function encodeMessage(m: DnsMessage): Uint8Array {
  const out: number[] = [];
  const u16 = (n: number) => out.push((n >> 8) & 0xff, n & 0xff);
  const u32 = (n: number) => out.push((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  const name = (text: string) => {
    const labels = nameLabels(text);
    if (!labels) throw new Error(`invalid DNS name "${text}"`);
    for (const l of labels) out.push(l.length, ...l);
    out.push(0);
  };
  u16(m.id);
  out.push(
    (m.response ? 0x80 : 0) | ((m.opcode & 0xf) << 3) | (m.truncated ? 0x02 : 0) | (m.recursionDesired ? 0x01 : 0),
    (m.response ? 0x80 : 0) | (m.rcode & 0xf),
  );
  u16(m.questions.length);
  u16(m.answers.length);
  u16(0);
  u16(0);
  for (const q of m.questions) {
    name(q.name);
    u16(q.type);
    u16(q.klass);
  }
  for (const r of m.answers) {
    name(r.name);
    u16(r.type);
    u16(r.klass);
    u32(r.ttl);
    const lengthAt = out.length;
    u16(0);
    const d = r.data;
    switch (d.kind) {
      case "a":
        out.push(...ipv4Bytes(d.address));
        break;
      case "aaaa":
        out.push(...ipv6Bytes(d.address));
        break;
      case "cname":
        name(d.target);
        break;
      case "srv":
        u16(d.priority);
        u16(d.weight);
        u16(d.port);
        name(d.target);
        break;
      case "other":
        out.push(...d.bytes);
        break;
    }
    const length = out.length - lengthAt - 2;
    out[lengthAt] = length >> 8;
    out[lengthAt + 1] = length & 0xff;
  }
  return Uint8Array.from(out);
}

/** Reads a whole message; every count, length and pointer is checked against the bytes given. */
export function decodeMessage(b: Uint8Array): DecodeResult {
  if (b.length < 12) return { ok: false, error: "short DNS header" };
  const u16 = (at: number) => (b[at]! << 8) | b[at + 1]!;
  const u32 = (at: number) => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
  const qd = u16(4);
  const an = u16(6);
  let at = 12;
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < qd; i++) {
    const n = readName(b, at);
    if (typeof n === "string") return { ok: false, error: n };
    at = n.next;
    if (at + 4 > b.length) return { ok: false, error: "short DNS question" };
    questions.push({ name: n.name, type: u16(at), klass: u16(at + 2) });
    at += 4;
  }
  const answers: DnsRecord[] = [];
  for (let i = 0; i < an; i++) {
    const n = readName(b, at);
    if (typeof n === "string") return { ok: false, error: n };
    at = n.next;
    if (at + 10 > b.length) return { ok: false, error: "short DNS record" };
    const type = u16(at);
    const klass = u16(at + 2);
    const rawTtl = u32(at + 4);
    const length = u16(at + 8);
    at += 10;
    if (at + length > b.length) return { ok: false, error: "DNS record longer than the message" };
    const data = readData(b, type, at, length);
    if (typeof data === "string") return { ok: false, error: data };
    answers.push({ name: n.name, type, klass, ttl: rawTtl > 0x7fffffff ? 0 : rawTtl, data });
    at += length;
  }
  // Authority and additional records are not needed: a stub resolver reads answers only.
  return {
    ok: true,
    message: {
      id: u16(0),
      response: (b[2]! & 0x80) !== 0,
      opcode: (b[2]! >> 3) & 0xf,
      truncated: (b[2]! & 0x02) !== 0,
      recursionDesired: (b[2]! & 0x01) !== 0,
      rcode: b[3]! & 0xf,
      questions,
      answers,
    },
  };
}

function readData(b: Uint8Array, type: number, at: number, length: number): RecordData | string {
  switch (type) {
    case DNS_TYPE.A:
      if (length !== 4) return "bad A record length";
      return { kind: "a", address: formatIPv4(b, at) };
    case DNS_TYPE.AAAA:
      if (length !== 16) return "bad AAAA record length";
      return { kind: "aaaa", address: formatIPv6(b, at) };
    case DNS_TYPE.CNAME: {
      const n = readName(b, at, at + length);
      if (typeof n === "string") return n;
      if (n.next !== at + length) return "bad CNAME record length";
      return { kind: "cname", target: n.name };
    }
    case DNS_TYPE.SRV: {
      if (length < 7) return "bad SRV record length";
      const u16 = (i: number) => (b[i]! << 8) | b[i + 1]!;
      const n = readName(b, at + 6, at + length);
      if (typeof n === "string") return n;
      if (n.next !== at + length) return "bad SRV record length";
      return { kind: "srv", priority: u16(at), weight: u16(at + 2), port: u16(at + 4), target: n.name };
    }
    default:
      return { kind: "other", bytes: b.slice(at, at + length) };
  }
}

/**
 * A possibly compressed name starting at `at`; `limit` bounds the bytes its uncompressed
 * part may use (a name inside a record's data must end within it). Returns an error text, or
 * the name and where the bytes after it start.
 */
function readName(b: Uint8Array, at: number, limit = b.length): { name: string; next: number } | string {
  const labels: string[] = [];
  let wire = 1;
  let next = -1;
  let jumps = 0;
  let end = limit;
  for (;;) {
    if (at >= end) return "DNS name past the end";
    const len = b[at]!;
    if (len === 0) {
      if (next < 0) next = at + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (at + 1 >= end) return "DNS name pointer past the end";
      if (++jumps > MAX_JUMPS) return "DNS name pointer loop";
      if (next < 0) next = at + 2;
      at = ((len & 0x3f) << 8) | b[at + 1]!;
      // A pointer may lead anywhere in the message, not only into this record.
      end = b.length;
      continue;
    }
    if ((len & 0xc0) !== 0) return "bad DNS label type";
    if (at + 1 + len > end) return "DNS label past the end";
    wire += 1 + len;
    if (wire > MAX_NAME) return "DNS name too long";
    let label = "";
    for (let i = at + 1; i <= at + len; i++) label += String.fromCharCode(b[i]!);
    labels.push(label.toLowerCase());
    at += 1 + len;
  }
  return { name: labels.join("."), next };
}

function ipv4Bytes(text: string): number[] {
  const parts = text.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`invalid IPv4 address "${text}"`);
  }
  return parts;
}

function ipv6Bytes(text: string): number[] {
  let groups: string[];
  const tailV4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let head = text;
  let v4: number[] = [];
  if (tailV4) {
    v4 = ipv4Bytes(tailV4[1]!);
    head = text.slice(0, -tailV4[1]!.length) + "0:0";
  }
  const halves = head.split("::");
  if (halves.length > 2) throw new Error(`invalid IPv6 address "${text}"`);
  const left = halves[0] ? halves[0].split(":") : [];
  const right = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  if (halves.length === 2) groups = [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  else groups = left;
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) throw new Error(`invalid IPv6 address "${text}"`);
  const out = groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]);
  if (tailV4) out.splice(12, 4, ...v4);
  return out;
}
