// The only door between the core and the world. Each runtime adapter implements it with its
// own fastest socket API; the core never touches node:*, Deno or Bun directly.
import type { TlsAcceptedOf, TlsSupportOf } from "./runtime-tls.ts";
import type { RelayOptions, RelaySink } from "./relay-contract.ts";
export type { RelayEnd, RelayError, RelayOptions, RelayResult, RelaySink } from "./relay-contract.ts";

export type RuntimeName = "node" | "deno" | "bun";

export interface Runtime {
  readonly name: RuntimeName;
  readonly version: string;
  readonly pid: number;
  /** The machine's host name ($hostname); absent in test fakes ("localhost" then). */
  readonly hostname?: string;

  /** Opens a TCP listener; `onConnection` gets each accepted client, not yet read from. */
  listen(options: ListenOptions, onConnection: (client: ClientConnection) => void): Promise<Listener>;

  /**
   * Binds a UDP listener; `onDatagram` gets each datagram whole with its sender. Optional:
   * a runtime without it (or without what `options` asks) refuses `listen … udp` at start.
   */
  bindDatagram?(options: DatagramBindOptions, onDatagram: DatagramHandler): Promise<DatagramListener>;

  /**
   * Opens a UDP socket that talks to `target` only (connected where the runtime can), for one
   * session's upstream. Its replies go to `events.message`; an ICMP port unreachable, where
   * the runtime reports one, to `events.error` as ECONNREFUSED. Replies longer than
   * `bufferSize` (proxy_buffer_size) may be cut to it, as nginx reads them into that buffer.
   */
  connectDatagram?(target: ConnectTarget, events: DatagramEvents, bufferSize: number): Promise<DatagramSocket>;
  /**
   * True when connectDatagram's sockets report an ICMP port unreachable (each adapter says
   * whether its datagram API does). A `health_check udp` that expects no reply needs it.
   */
  readonly datagramUnreachable?: boolean;

  /** Connects to a backend; rejects with a ConnectFailure (refused, timed out, ...). */
  connect(target: ConnectTarget, options: ConnectOptions): Promise<UpstreamConnection>;

  /**
   * Moves bytes both ways until the session ends: backpressure (a slow reader slows the
   * writer), EOF as proxy_half_close says, errors on one side end both, and the idle timeout.
   * `sink` hears the end once (and a relay ends for every session, close() included).
   */
  relay(client: ClientConnection, upstream: UpstreamConnection, options: RelayOptions, sink: RelaySink): void;

  /**
   * One active health check: connect, send `options.send` if any, read until `enough` says
   * so, `maxBytes` arrived or the server closed, then close. Never rejects: every outcome is
   * a ProbeResult. Cheap by design: no read buffer unless a reply is expected, one timer.
   */
  probe(target: ConnectTarget, options: ProbeOptions): Promise<ProbeResult>;

  readTextFile(path: string): Promise<string>;
  /** A file's bytes (ssl_session_ticket_key). */
  readFile(path: string): Promise<Uint8Array>;
  writeTextFile(path: string, text: string): Promise<void>;
  removeFile(path: string): Promise<void>;
  /** Signals another process (`streamlb -s reload` → the running instance). */
  sendSignal(pid: number, signal: SignalName): void;
  /** Appends lines to a file (error and access logs); reopen() starts a fresh handle after rotation. */
  openLogFile(path: string): Promise<LogFile>;
  /**
   * Serves HTTP/1.1 on host:port with one fetch-style handler (the admin endpoint). Resolves
   * once listening; rejects when the address cannot be bound.
   */
  serveHttp(options: HttpServeOptions, handler: (request: Request) => Promise<Response>): Promise<HttpServer>;
  writeStderr(text: string): void;
  writeStdout(text: string): void;
  /** Throws when this runtime cannot catch `signal`. */
  onSignal(signal: SignalName, handler: () => void): void;
  exit(code: number): never;
  /**
   * Worker processes (worker_processes > 1). Optional so test fakes need not have it; an
   * adapter without it runs single-process whatever the config says.
   */
  readonly processes?: ProcessSupport;
  /**
   * What the operator should know about how this runtime runs here (a slower fallback the
   * adapter had to take...): each is logged once as a [notice] when a balancer starts.
   */
  readonly notices?: readonly string[];
  /** The process's descriptors, for the accept guard; absent where the system does not say. */
  readonly fds?: FdUsage;
  /** TLS on both sides of a session (tls.ts's TlsSupport); absent: `ssl` and `proxy_ssl` are refused. */
  readonly tls?: TlsSupport;
  /**
   * One DNS exchange with `server` (the `resolver` directive's, never the system's): sends
   * `query` over UDP (or TCP, length-prefixed) and resolves with the first reply `accept`
   * takes; rejects on timeout or a socket error. Optional: without it, `resolve` is refused.
   */
  dnsExchange?(server: ConnectTarget, query: Uint8Array, options: DnsExchangeOptions): Promise<Uint8Array>;
}

export interface DnsExchangeOptions {
  readonly tcp: boolean;
  readonly timeoutMs: number;
  /** False for a datagram that is not the answer (another id: late, or spoofed); waiting goes on. */
  readonly accept: (reply: Uint8Array) => boolean;
  /** Ends the exchange at once (the balancer stops), rejecting. */
  readonly signal?: AbortSignal;
}

/** How many file descriptors this process has open, and may. */
export interface FdUsage {
  /** RLIMIT_NOFILE's soft limit; null when unknown. */
  limit(): number | null;
  /** Descriptors open now (costs a read of the descriptor table: call it rarely). */
  open(): number;
}

export type {
  InheritedListener,
  ProcessSupport,
  SignalName,
  UpgradeChild,
  WorkerHandle,
  WorkerMessage,
  WorkerSide,
} from "./runtime-processes.ts";
import type { ProcessSupport, SignalName } from "./runtime-processes.ts";

export interface ListenOptions {
  /** null = every address (`listen 8000`). */
  readonly host: string | null;
  /**
   * `listen unix:/path`: a Unix-domain stream socket at this path instead of host:port (an
   * existing socket file is replaced, as nginx does). Clients then read as `unix:`.
   */
  readonly unixPath?: string;
  /** 0 asks the system for a free port (tests). */
  readonly port: number;
  readonly noDelay: boolean;
  /**
   * SO_REUSEPORT, so each worker process binds the same port and the kernel spreads
   * connections; where Node's listen() ignores it (Node 20), workers share through node:cluster.
   */
  readonly reusePort?: boolean;
  /**
   * `listen … ssl`: its clients go through tls.accept(). Runtimes whose fast native sockets
   * cannot be upgraded accept these on sockets that can; plain listeners stay on the fast path.
   */
  readonly tls?: boolean;
  /** Listen on this inherited socket (a binary upgrade) instead of binding host:port. */
  readonly fd?: number;
}

export interface Listener {
  readonly host: string;
  readonly port: number;
  /** The socket's descriptor, where the runtime can pass it to a new binary. */
  readonly fd?: number;
  close(): Promise<void>;
  /**
   * Stops taking new connections for a while (descriptors ran out) without touching live
   * sessions; resume() takes them again. Optional so test fakes need not have them.
   */
  pause?(): void;
  resume?(): void;
}

export interface DatagramBindOptions {
  /** null = every address; replies then leave from whichever address the system picks. */
  readonly host: string | null;
  /** 0 asks the system for a free port (tests). */
  readonly port: number;
  /** SO_REUSEPORT, so each worker binds the port and the kernel keeps a client on one of them. */
  readonly reusePort?: boolean;
  /** Datagrams a send accepted but the kernel refused later (an adapter that batches sends). */
  dropped?(count: number): void;
}

/** One datagram from `address:port`. `data` is the caller's to keep (a fresh copy or view). */
export type DatagramHandler = (data: Uint8Array, address: string, port: number) => void;

/**
 * What a send did. "sent": handed to the system (or queued within the adapter's bound);
 * "dropped": the socket could take no more, so the datagram was dropped as the kernel would.
 */
export type DatagramSendResult = "sent" | "dropped";

export interface DatagramListener {
  readonly host: string;
  readonly port: number;
  /** Sends from the listening address to a client. */
  send(data: Uint8Array, address: string, port: number): DatagramSendResult;
  close(): Promise<void>;
}

export interface DatagramEvents {
  message(data: Uint8Array): void;
  /** A socket error; `code` is the system's (ECONNREFUSED for an ICMP port unreachable). */
  error(code: string, detail: string): void;
  /** Datagrams a send accepted but the kernel refused later (an adapter that batches sends). */
  dropped?(count: number): void;
}

export interface DatagramSocket {
  readonly localAddress: string;
  readonly localPort: number;
  send(data: Uint8Array): DatagramSendResult;
  close(): void;
}

export interface ConnectTarget {
  readonly host: string;
  readonly port: number;
  /** `unix:/path` servers: connect to this Unix-domain socket; host and port are then unused. */
  readonly unixPath?: string;
}

export interface ConnectOptions {
  readonly timeoutMs: number;
  readonly noDelay: boolean;
  readonly keepAlive: boolean;
  /** proxy_bind ADDRESS: the local address of the upstream socket; absent = the system's choice. */
  readonly localAddress?: string;
  /**
   * A client on a socket that could take TLS (`pass` may hand on connections of several
   * listeners): the upstream socket is opened of the same kind, so the relay pairs like with like.
   */
  readonly sameKindAs?: ClientConnection;
}

/** Why a connect failed, in the words nginx's error log uses. */
export type ConnectFailureKind = "refused" | "timeout" | "unreachable" | "other";

export class ConnectFailure extends Error {
  constructor(
    readonly kind: ConnectFailureKind,
    /** The system's code when there is one (ECONNREFUSED...). */
    readonly code: string,
    detail: string,
  ) {
    super(detail);
    this.name = "ConnectFailure";
  }
}

export interface Connection {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** Bytes read from and written to this socket so far (live; status reads them, the relay counts anyway). */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Closes at once, dropping anything unsent; ends a running relay. */
  close(): void;
  /**
   * Reads the next bytes the peer sends, before the relay starts (the PROXY protocol header,
   * ssl_preread): resolves with one chunk as the socket delivered it (never empty), or null at
   * EOF; bytes after that chunk wait (in the kernel, or a bounded buffer of the adapter) for
   * the next read or the relay. Rejects
   * with a ReadFailure on a socket error, or kind "timeout" when nothing came within
   * `timeoutMs` (0 = no limit). One read at a time; never called once a relay runs. Counts
   * in bytesIn.
   */
  read(timeoutMs: number): Promise<Uint8Array | null>;
  /**
   * Writes before (or instead of) a relay (`return`): resolves once the bytes are handed to
   * the kernel in full, rejects with a ReadFailure("error") when the socket failed. Counts in
   * bytesOut.
   */
  write(data: Uint8Array): Promise<void>;
}

/** Why a Connection.read/write failed. */
export class ReadFailure extends Error {
  constructor(
    readonly kind: "timeout" | "error",
    /** The system's code when there is one (ECONNRESET...). */
    readonly code: string,
    detail: string,
  ) {
    super(detail);
    this.name = "ReadFailure";
  }
}

export type ClientConnection = Connection & { readonly __side: "client" };
export type UpstreamConnection = Connection & { readonly __side: "upstream" };

export interface ProbeOptions {
  /** For the whole probe: connect, send and the reply. */
  readonly timeoutMs: number;
  readonly send: Uint8Array | null;
  /** Read at most this many reply bytes; 0 = expect no reply (close once connected and sent). */
  readonly maxBytes: number;
  /** Called with every byte received so far; true ends the read (the reply matched). */
  enough(received: Uint8Array): boolean;
  /** Ends the probe at once (balancer stop), resolving with `aborted`. */
  readonly signal?: AbortSignal;
}

export type ProbeResult =
  /** Connected and sent; `received` is what arrived before enough/maxBytes/EOF (may be empty). */
  | { readonly kind: "ok"; readonly received: Uint8Array }
  | { readonly kind: "refused" }
  | { readonly kind: "timeout"; readonly stage: "connect" | "reply" }
  | { readonly kind: "error"; readonly code: string; readonly detail: string }
  | { readonly kind: "aborted" };

export interface HttpServeOptions {
  readonly host: string;
  /** 0 asks the system for a free port. */
  readonly port: number;
}

export interface HttpServer {
  readonly host: string;
  /** The real port (when 0 was asked for). */
  readonly port: number;
  /** Stops listening and drops open connections (keep-alive ones included). */
  close(): Promise<void>;
}

export interface LogFile {
  /** Writes at once, synchronously: error-log lines are few and must not be lost on a crash. */
  write(text: string): void;
  /**
   * Writes without blocking the event loop (access logs, in batches; gzip members as bytes).
   * Callers wait for one append before starting the next, so lines keep their order.
   */
  append(data: string | Uint8Array): Promise<void>;
  reopen(): Promise<void>;
  close(): Promise<void>;
}

/** A runtime's TLS (runtime-tls.ts), over this file's connections. */
export type TlsSupport = TlsSupportOf<ClientConnection, UpstreamConnection, ConnectTarget, ConnectOptions>;
export type TlsAccepted = TlsAcceptedOf<ClientConnection>;
