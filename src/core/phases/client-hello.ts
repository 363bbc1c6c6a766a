// ssl_preread's reading of a TLS ClientHello (nginx's ngx_stream_ssl_preread_module): SNI,
// ALPN and the version, for $ssl_preread_server_name, $ssl_preread_alpn_protocols and
// $ssl_preread_protocol. It follows nginx's state machine and its acceptance rules, not a
// TLS validator: it needs whole TLS records, keeps its place across records and reads,
// tolerates what nginx tolerates (any record version 3.x, data after the fields it wants)
// and gives up where nginx gives up (the variables are then not found and the bytes pass
// through untouched).

export interface ClientHelloVars {
  /** $ssl_preread_server_name: the first host_name of the first SNI extension, raw. */
  readonly serverName: string;
  /** $ssl_preread_alpn_protocols: the first ALPN extension's names joined with ",". */
  readonly alpnProtocols: string;
  /** $ssl_preread_protocol: `TLSv1.3` when supported_versions was seen, else the hello's version. */
  readonly protocol: string;
}

export type ClientHelloResult =
  /** Waiting for more bytes; `vars` hold what nginx would show now (empty while incomplete). */
  | { readonly kind: "need-more"; readonly vars: ClientHelloVars }
  /** A ClientHello was read: the variables are set (empty where the hello lacks a field). */
  | { readonly kind: "done"; readonly vars: ClientHelloVars }
  /** nginx declines: not TLS, not a ClientHello or malformed. Variables not found. */
  | { readonly kind: "not-tls"; readonly reason: string }
  /** The limit is reached and the hello is still incomplete: nginx finalizes with 400. */
  | { readonly kind: "buffer-full"; readonly log: "preread buffer full" };

/** nginx's default preread_buffer_size. */
export const PREREAD_BUFFER_SIZE = 16384;

// The states of nginx's machine, in its order (plain numbers: no enums in the core).
const S = {
  Start: 0,
  Header: 1,
  Version: 2,
  Random: 3,
  SidLen: 4,
  Sid: 5,
  CsLen: 6,
  Cs: 7,
  CmLen: 8,
  Cm: 9,
  Ext: 10,
  ExtHeader: 11,
  SniLen: 12,
  SniHostHead: 13,
  SniHost: 14,
  AlpnLen: 15,
  AlpnProtoLen: 16,
  AlpnProtoData: 17,
  SupverLen: 18,
} as const;

/** Where the bytes being skipped or collected go (nginx's `dst`). */
const Dst = { None: 0, Buf: 1, Version: 2, Host: 3, Alpn: 4 } as const;

type Step = "again" | "ok" | string;

/**
 * One connection's parser. parse() takes everything buffered so far (each call's bytes
 * start with the previous call's); it resumes where it stopped, so a hello that arrives a
 * byte at a time costs no more than one that arrives whole. Only the first `limit` bytes
 * (preread_buffer_size) are ever looked at.
 */
export class ClientHelloParser {
  private readonly limit: number;
  private recordAt = 0;
  private final: ClientHelloResult | null = null;
  private state: number = S.Start;
  private size = 0;
  private left = 0;
  private ext = 0;
  private dst: number = Dst.None;
  private dstAt = 0;
  private readonly buf = new Uint8Array(4);
  private readonly version = new Uint8Array(2);
  private host: Uint8Array | null = null;
  private hostLen = 0;
  private alpn: Uint8Array | null = null;
  private alpnLen = 0;

  constructor(limit: number = PREREAD_BUFFER_SIZE) {
    this.limit = limit;
  }

  parse(buffered: Uint8Array): ClientHelloResult {
    if (this.final !== null) return this.final;
    const last = Math.min(buffered.length, this.limit);
    let p = this.recordAt;
    while (last - p >= 5) {
      const b0 = buffered[p]!;
      const b3 = buffered[p + 3]!;
      if (b0 & 0x80 && buffered[p + 2] === 1 && (b3 === 0 || b3 === 3)) {
        // An SSLv2-style hello: its version is all there is; nothing else is read.
        this.version[0] = b3;
        this.version[1] = buffered[p + 4]!;
        return this.finish({ kind: "done", vars: this.vars() });
      }
      if (b0 !== 0x16) return this.finish({ kind: "not-tls", reason: "not a handshake" });
      if (buffered[p + 1] !== 3) return this.finish({ kind: "not-tls", reason: "unsupported SSL version" });
      const len = (b3 << 8) | buffered[p + 4]!;
      if (last - p < len + 5) break;
      p += 5;
      const step = this.record(buffered, p, p + len);
      if (step === "ok") return this.finish({ kind: "done", vars: this.vars() });
      if (step !== "again") return this.finish({ kind: "not-tls", reason: step });
      p += len;
    }
    this.recordAt = p;
    if (last >= this.limit) return this.finish({ kind: "buffer-full", log: "preread buffer full" });
    return { kind: "need-more", vars: this.vars() };
  }

  private finish(result: ClientHelloResult): ClientHelloResult {
    this.final = result;
    return result;
  }

  private vars(): ClientHelloVars {
    return {
      serverName: this.host === null ? "" : latin1(this.host, this.hostLen),
      alpnProtocols: this.alpn === null ? "" : latin1(this.alpn, this.alpnLen),
      protocol: protocolName((this.version[0]! << 8) | this.version[1]!),
    };
  }

  /** One record's handshake bytes through the state machine; a string is a decline reason. */
  private record(data: Uint8Array, pos: number, last: number): Step {
    const p = this.buf;
    for (;;) {
      const n = Math.min(last - pos, this.size);
      if (this.dst !== Dst.None) this.copy(data, pos, n);
      pos += n;
      this.size -= n;
      this.left -= n;
      if (this.size !== 0) break;

      switch (this.state) {
        case S.Start:
          this.next(S.Header, Dst.Buf, 4);
          this.left = 4;
          break;
        case S.Header:
          if (p[0] !== 1) return "not a client hello";
          this.next(S.Version, Dst.Version, 2);
          this.left = (p[1]! << 16) | (p[2]! << 8) | p[3]!;
          break;
        case S.Version:
          this.next(S.Random, Dst.None, 32);
          break;
        case S.Random:
          this.next(S.SidLen, Dst.Buf, 1);
          break;
        case S.SidLen:
          this.next(S.Sid, Dst.None, p[0]!);
          break;
        case S.Sid:
          this.next(S.CsLen, Dst.Buf, 2);
          break;
        case S.CsLen:
          this.next(S.Cs, Dst.None, (p[0]! << 8) | p[1]!);
          break;
        case S.Cs:
          this.next(S.CmLen, Dst.Buf, 1);
          break;
        case S.CmLen:
          this.next(S.Cm, Dst.None, p[0]!);
          break;
        case S.Cm:
          if (this.left === 0) return "ok"; // no extensions
          this.next(S.Ext, Dst.Buf, 2); // the extensions' total length, unused
          break;
        case S.Ext:
          if (this.left === 0) return "ok";
          this.next(S.ExtHeader, Dst.Buf, 4);
          break;
        case S.ExtHeader:
          // Only the first SNI and the first ALPN extension count; every supported_versions does.
          if (p[0] === 0 && p[1] === 0 && this.host === null) this.next(S.SniLen, Dst.Buf, 2);
          else if (p[0] === 0 && p[1] === 16 && this.alpn === null) this.next(S.AlpnLen, Dst.Buf, 2);
          else if (p[0] === 0 && p[1] === 43) this.next(S.SupverLen, Dst.Buf, 1);
          else this.next(S.Ext, Dst.None, (p[2]! << 8) | p[3]!);
          break;
        case S.SniLen:
          this.ext = (p[0]! << 8) | p[1]!;
          this.next(S.SniHostHead, Dst.Buf, 3);
          break;
        case S.SniHostHead: {
          if (p[0] !== 0) return "SNI hostname type is not DNS";
          const size = (p[1]! << 8) | p[2]!;
          if (this.ext < 3 + size) return "SNI format error";
          this.ext -= 3 + size;
          this.host = new Uint8Array(size);
          this.next(S.SniHost, Dst.Host, size);
          break;
        }
        case S.SniHost:
          this.hostLen = (p[1]! << 8) | p[2]!;
          this.next(S.Ext, Dst.None, this.ext); // the rest of the server name list
          break;
        case S.AlpnLen:
          this.ext = (p[0]! << 8) | p[1]!;
          this.alpn = new Uint8Array(this.ext);
          this.next(S.AlpnProtoLen, Dst.Buf, 1);
          break;
        case S.AlpnProtoLen: {
          const size = p[0]!;
          if (size === 0) return "ALPN empty protocol";
          if (this.ext < 1 + size) return "ALPN format error";
          this.ext -= 1 + size;
          this.next(S.AlpnProtoData, Dst.Alpn, size);
          this.dstAt = this.alpnLen;
          break;
        }
        case S.AlpnProtoData:
          this.alpnLen += p[0]!;
          if (this.ext) {
            this.alpn![this.alpnLen++] = 0x2c;
            this.next(S.AlpnProtoLen, Dst.Buf, 1);
          } else {
            this.next(S.Ext, Dst.None, 0);
          }
          break;
        case S.SupverLen:
          // Whatever the list holds, its presence means TLSv1.3 to nginx.
          this.version[0] = 3;
          this.version[1] = 4;
          this.next(S.Ext, Dst.None, p[0]!);
          break;
      }
      if (this.left < this.size) return "failed to parse handshake";
    }
    return "again";
  }

  private next(state: number, dst: number, size: number): void {
    this.state = state;
    this.dst = dst;
    this.dstAt = 0;
    this.size = size;
  }

  private copy(data: Uint8Array, pos: number, n: number): void {
    const target = this.dst === Dst.Buf
      ? this.buf
      : this.dst === Dst.Version
      ? this.version
      : this.dst === Dst.Host
      ? this.host!
      : this.alpn!;
    // Fields are a few bytes: a plain loop beats making a subarray for each.
    for (let i = 0; i < n; i++) target[this.dstAt + i] = data[pos + i]!;
    this.dstAt += n;
  }
}

/** One-shot: the verdict on these bytes, as if they had all arrived in one read. */
export function parseClientHello(bytes: Uint8Array, limit: number = PREREAD_BUFFER_SIZE): ClientHelloResult {
  return new ClientHelloParser(limit).parse(bytes);
}

/** SSL_get_version's names for the two version bytes; anything else is empty. */
export function protocolName(version: number): string {
  switch (version) {
    case 0x0002:
      return "SSLv2";
    case 0x0300:
      return "SSLv3";
    case 0x0301:
      return "TLSv1";
    case 0x0302:
      return "TLSv1.1";
    case 0x0303:
      return "TLSv1.2";
    case 0x0304:
      return "TLSv1.3";
    default:
      return "";
  }
}

function latin1(bytes: Uint8Array, len: number): string {
  let s = "";
  for (let i = 0; i < len; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}
