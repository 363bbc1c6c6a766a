// The system's resolver (getaddrinfo through node:dns, which Node, Deno and Bun all provide)
// for names nginx resolves at load; sessions never use it (they have `resolver`).
import { lookup } from "node:dns/promises";

/** Every address of `host`, IPv4 and IPv6, in the system's order; rejects when there is none. */
export async function lookupHost(host: string): Promise<readonly string[]> {
  const answers = await lookup(host, { all: true, verbatim: true });
  return answers.map((a) => a.address);
}
