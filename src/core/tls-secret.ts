// The per-generation secret a master gives its workers, from which their TLS session ticket
// keys are drawn (runtime/tls/ticket-keys.ts): nginx's workers share ticket keys made once a
// cycle, so a ticket one worker issued resumes on any other.
import type { Config } from "./config/model.ts";
import type { TlsSupport } from "./runtime.ts";
import type { TlsSecretMessage } from "./worker-messages.ts";

/** 48 random bytes (as many as the keys drawn from it), hex for the JSON channel. */
export function newTlsSecret(): TlsSecretMessage {
  const bytes = crypto.getRandomValues(new Uint8Array(48));
  return { type: "tls-secret", secret: [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("") };
}

/** The message's secret as bytes; null when it is not 48 bytes of hex (a foreign message). */
export function tlsSecretBytes(m: TlsSecretMessage): Uint8Array | null {
  if (!/^[0-9a-f]{96}$/.test(m.secret)) return null;
  return Uint8Array.from(m.secret.match(/../g)!, (h) => parseInt(h, 16));
}

/**
 * The warning owed when several workers terminate TLS with tickets on a runtime whose library
 * cannot share ticket keys: a client then resumes only on the worker that issued its ticket.
 */
export function ticketKeysWarning(config: Config, workers: number, runtime: string, tls: TlsSupport | undefined): string | null {
  if (workers < 2 || !tls || tls.ticketKeysUnshared === null) return null;
  const tickets = config.stream.servers.some(
    (s) => s.listen.some((l) => l.ssl === true) && (s.tls?.sessionTickets ?? true),
  );
  if (!tickets) return null;
  return `TLS session tickets are not shared between the ${workers} worker processes on ${runtime} (${tls.ticketKeysUnshared}); a client resumes only on the worker that issued its ticket`;
}
