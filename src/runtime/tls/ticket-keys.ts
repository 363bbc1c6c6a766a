// Session ticket keys shared by the workers of one master, as nginx's workers share theirs.
// The master hands every worker one secret per config generation; each server setup (an
// SSL_CTX) draws its 48 bytes of keys from that secret and its own certificates, so every
// worker encrypts a server block's tickets alike, while two server blocks never accept each
// other's tickets (nginx keeps them apart with the session id context). The secret may arrive
// before or after a reload builds its setups, so setups already made are updated too.
import { type BinaryLike, createHmac } from "node:crypto";
import type tls from "node:tls";

/** node:tls's SecureContext carries its native context, which takes new keys at any time. */
interface KeyedContext {
  readonly context: { setTicketKeys?(keys: Buffer): void };
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

/** Remembers a setup so that a later secret reaches it too. */
export function keepTicketKeysCurrent(context: tls.SecureContext, identity: string): void {
  identities.set(context, identity);
  live.add(new WeakRef(context));
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
