// Fail closed, for listen's parameters (the directives' list is the table's support column,
// table.ts). streamlb accepts a parameter it does not act on only when leaving it out provably
// changes no access decision, no resource limit and no byte on the wire; this is that list,
// each entry with the reason. Every other one it does not run is an [emerg] ("… is not
// supported yet"). test/unit/fail-closed.test.ts walks every parameter against it.

/** `listen` parameters streamlb accepts without acting on, and why that is safe. */
export const HARMLESS_LISTEN_PARAMS: ReadonlyMap<string, string> = new Map([
  ["bind", "streamlb binds every listen address on its own"],
  ["default_server", "streamlb has one server per address"],
  ["reuseport", "one process needs none, and streamlb's workers always use SO_REUSEPORT"],
  ["rcvbuf", "a socket buffer size hint"],
  ["sndbuf", "a socket buffer size hint"],
  ["deferred", "when the kernel wakes the process for a new client, not whether it is served"],
  ["fastopen", "clients fall back to a plain handshake and send the same bytes"],
  ["setfib", "a FreeBSD routing table; nginx on Linux has none either"],
  ["accept_filter", "a FreeBSD accept filter; nginx on Linux has none either"],
]);
