// What Runtime.relay() is asked to do and what it reports back: the contract between the
// core's session and each runtime's hand-written byte relay (the hot path).

export interface RelayOptions {
  /** proxy_timeout; 0 = none. */
  readonly idleTimeoutMs: number;
  readonly halfClose: boolean;
  readonly bufferSize: number;
  /**
   * Bytes for the upstream before anything the client sends from now on: a PROXY protocol
   * header to send, then the client data the phases already read (PROXY accept, preread),
   * byte for byte. Counted as bytes to the upstream (and the early data as from the client
   * already, by read()). Absent or empty = none.
   */
  readonly upstreamFirst?: Uint8Array | null;
  /**
   * proxy_upload_rate / proxy_download_rate: bytes per second read from the client / from
   * the upstream, as nginx limits them (reading pauses when the second's budget is spent);
   * 0 or absent = unlimited.
   */
  readonly uploadRate?: number;
  readonly downloadRate?: number;
}

/**
 * Who hears how a relay ended: the session itself. An object, not a promise: an idle session
 * then holds no promise, reaction or closure for its relay (each is memory per connection).
 * Called once, last, after the relay has let go of both sockets; it never throws into the relay.
 */
export interface RelaySink {
  relayEnded(result: RelayResult): void;
}

export type RelayEnd =
  | "client_closed" // the client sent EOF (or both did, with half-close)
  | "upstream_closed"
  | "idle_timeout"
  | "client_error"
  | "upstream_error"
  | "aborted"; // close() from the core (drain, stop)

export interface RelayResult {
  readonly end: RelayEnd;
  readonly bytesFromClient: number;
  readonly bytesToClient: number;
  readonly bytesFromUpstream: number;
  readonly bytesToUpstream: number;
  /**
   * Epoch ms of the first read on the upstream that returned (bytes, EOF or an error, as nginx
   * stamps $upstream_first_byte_time); -1 when none did. Optional only so that results made
   * outside a relay (tests, UDP) need not say it.
   */
  readonly upstreamFirstReadAt?: number;
  /** What failed, when `end` is client_error or upstream_error and the runtime said why. */
  readonly error?: RelayError;
}

/** A system call that failed in the relay, as nginx logs it: `recv() failed (104: ...)`. */
export interface RelayError {
  /** What failed on the side that `end` names: reading, writing, or forwarding a FIN to it. */
  readonly op: "recv" | "send" | "shutdown";
  /** The errno name: "ECONNRESET", "EPIPE", ...; null where the runtime does not say (Bun's write). */
  readonly code: string | null;
}
