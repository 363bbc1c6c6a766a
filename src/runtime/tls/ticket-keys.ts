// Session ticket keys shared by the workers of one master, as nginx's workers share theirs.
// The master hands every worker one secret per config generation; each server setup (an
// SSL_CTX) draws its 48 bytes of keys from that secret and its own certificates, so every
// worker encrypts a server block's tickets alike, while two server blocks never accept each
// other's tickets (nginx keeps them apart with the session id context). The secret may arrive
// before or after a reload builds its setups, so setups already made are updated too.
// ssl_session_ticket_key files replace all of that for their server (useTicketKeyFiles).
import { type BinaryLike, createHmac, randomBytes } from "node:crypto";
import { createSecureContext } from "node:tls";
import type tls from "node:tls";

/** node:tls's SecureContext carries its native context, which takes new keys at any time. */
interface KeyedContext {
  readonly context: NativeContext;
}

/**
 * Node's native context also has a ticket key callback (what its https tests use to rotate
 * keys): given a ticket's key name, the callback returns the keys, so several keys decrypt
 * while the first encrypts, as nginx's list does. AES-128-CBC and HMAC-SHA256 only.
 */
interface NativeContext {
  setTicketKeys?(keys: Buffer): void;
  getTicketKeys?(): Buffer;
  enableTicketKeyCallback?(): void;
  onticketkeycallback?: (name: Buffer, iv: Buffer, encrypt: boolean) => unknown[];
}

let secret: Uint8Array | null = null;
/** Weak: the setups of a config that was replaced go away with it. */
const live = new Set<WeakRef<tls.SecureContext>>();
const identities = new WeakMap<tls.SecureContext, string>();

function keysFor(from: Uint8Array, identity: BinaryLike): Buffer {
  // SHA-384 is exactly node:tls's 48 bytes: name, HMAC key and AES key.
  return createHmac("sha384", from).update(identity).digest();
}

function apply(context: tls.SecureContext, identity: string, from: Uint8Array): void {
  (context as unknown as KeyedContext).context.setTicketKeys?.(keysFor(from, identity));
}

/** Keys for a setup made now: from the shared secret once there is one, else the library's own. */
export function ticketKeysOption(identity: string): { ticketKeys?: Buffer } {
  return secret ? { ticketKeys: keysFor(secret, identity) } : {};
}

/**
 * Remembers a setup so that a later secret reaches it too. Until there is one, a setup made
 * for the same server as `sibling` (certificates chosen per handshake) takes its keys, so a
 * ticket resumes whichever certificate the next handshake gets.
 */
export function keepTicketKeysCurrent(
  context: tls.SecureContext,
  identity: string,
  sibling: tls.SecureContext | null = null,
): void {
  identities.set(context, identity);
  live.add(new WeakRef(context));
  if (secret !== null || sibling === null) return;
  try {
    const keys = (sibling as unknown as KeyedContext).context.getTicketKeys?.();
    if (keys) (context as unknown as KeyedContext).context.setTicketKeys?.(keys);
  } catch {
    // A library that keeps no keys of its own (rustls, BoringSSL here): each setup has its own.
  }
}

/** One ssl_session_ticket_key file: nginx's two layouts, 48 bytes (AES-128) or 80 (AES-256). */
interface FileKey {
  readonly name: Buffer;
  readonly hmac: Buffer;
  readonly aes: Buffer;
}

function fileKey(bytes: Uint8Array): FileKey {
  const b = Buffer.from(bytes);
  // 48: name, AES key, HMAC key; 80: name, HMAC key, AES key (ngx_ssl_session_ticket_keys).
  if (b.length === 48) return { name: b.subarray(0, 16), aes: b.subarray(16, 32), hmac: b.subarray(32, 48) };
  return { name: b.subarray(0, 16), hmac: b.subarray(16, 48), aes: b.subarray(48, 80) };
}

/** Whether this node:tls takes a key list (useTicketKeyFiles); false leaves key files refused. */
export function ticketKeyFilesWork(): boolean {
  const native = (createSecureContext() as unknown as KeyedContext).context;
  return typeof native.enableTicketKeyCallback === "function";
}

const NO_KEY = Buffer.alloc(16);

/**
 * ssl_session_ticket_key files on a setup: the first key encrypts every new ticket, each one
 * decrypts, and a ticket of any but the first is renewed (the client gets one of the first),
 * as nginx's ngx_ssl_ticket_key_callback does. 48-byte keys only (limits.ts refuses 80).
 */
export function useTicketKeyFiles(context: tls.SecureContext, files: readonly Uint8Array[]): void {
  const keys = files.map(fileKey);
  const native = (context as unknown as KeyedContext).context;
  native.enableTicketKeyCallback!();
  native.onticketkeycallback = (name, _iv, encrypt) => {
    // Node checks the sizes it gets back and aborts the process on a missing one: never throw.
    if (encrypt) {
      const k = keys[0]!;
      return [1, k.hmac, k.aes, k.name, randomBytes(16)];
    }
    const i = keys.findIndex((k) => k.name.equals(name));
    if (i < 0) return [0, NO_KEY, NO_KEY];
    return [i === 0 ? 1 : 2, keys[i]!.hmac, keys[i]!.aes];
  };
}

/** A new generation's secret: every live setup takes keys drawn from it. */
export function shareTicketKeys(next: Uint8Array): void {
  secret = next.slice();
  for (const ref of live) {
    const context = ref.deref();
    const identity = context && identities.get(context);
    if (!context || identity === undefined) live.delete(ref);
    else apply(context, identity, secret);
  }
}
