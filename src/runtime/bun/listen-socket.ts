// A listening socket for a master to keep and its workers to inherit. Bun.listen would poll it
// and this process would accept, and Bun has no bind-only call; libc's socket(), bind() and
// listen() through bun:ffi make one nothing here polls. Linux only (the constants are Linux's);
// elsewhere, or without a libc to open, workers bind their own ports (SO_REUSEPORT).
import { dlopen, FFIType, ptr, read } from "bun:ffi";
import { constants } from "node:os";
import { closeSync } from "node:fs";
import { isIP } from "node:net";

const AF_INET = 2;
const AF_INET6 = 10;
/** SOCK_STREAM | SOCK_CLOEXEC: only the workers it is given to get it, not every child. */
const SOCK_STREAM_CLOEXEC = 1 | 0o2000000;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
/**
 * With SO_REUSEPORT the socket also binds where an older binary's workers bound their own
 * (a listen its reload added), so an upgrade then overlaps as it did before.
 */
const SO_REUSEPORT = 15;
const IPPROTO_IPV6 = 41;
const IPV6_V6ONLY = 26;
/** nginx's backlog on Linux (NGX_LISTEN_BACKLOG). */
const BACKLOG = 511;

type Libc = ReturnType<typeof openLibc>;

function openLibc() {
  const i32 = FFIType.i32;
  return dlopen("libc.so.6", {
    socket: { args: [i32, i32, i32], returns: i32 },
    setsockopt: { args: [i32, i32, i32, FFIType.ptr, FFIType.u32], returns: i32 },
    bind: { args: [i32, FFIType.ptr, FFIType.u32], returns: i32 },
    listen: { args: [i32, i32], returns: i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  }).symbols;
}

let libc: Libc | null | undefined;
function loadLibc(): Libc | null {
  if (libc === undefined) {
    try {
      libc = process.platform === "linux" ? openLibc() : null;
    } catch {
      libc = null;
    }
  }
  return libc;
}

/** Whether this process can make such sockets. */
export function canOpenListenSocket(): boolean {
  return loadLibc() !== null;
}

const errnoNames = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

function fail(c: Libc, fd: number | null): never {
  const errno = read.i32(c.__errno_location()!, 0);
  if (fd !== null) closeSync(fd);
  const code = errnoNames.get(errno) ?? `errno ${errno}`;
  throw Object.assign(new Error(code), { code });
}

/** sockaddr_in or sockaddr_in6 (port in network order), as Linux lays them out. */
function socketAddress(host: string, port: number): Uint8Array {
  const v6 = isIP(host) === 6;
  const sa = new Uint8Array(v6 ? 28 : 16);
  const view = new DataView(sa.buffer);
  view.setUint16(0, v6 ? AF_INET6 : AF_INET, true);
  view.setUint16(2, port, false);
  if (!v6) sa.set(host.split(".").map(Number), 4);
  else sa.set(ipv6Bytes(host), 8);
  return sa;
}

function ipv6Bytes(host: string): number[] {
  const [head = "", tail] = host.split("::") as [string, string | undefined];
  const words = (s: string) => (s === "" ? [] : s.split(":"));
  let parts = words(head);
  if (tail !== undefined) {
    const rest = words(tail);
    parts = [...parts, ...Array(8 - parts.length - rest.length).fill("0"), ...rest];
  }
  return parts.flatMap((w) => {
    const n = parseInt(w, 16);
    return [n >> 8, n & 0xff];
  });
}

/** socket, bind and listen on host:port (null: every IPv4 address); throws with an errno code. */
export function openListenSocket(host: string | null, port: number): { fd: number; close(): void } {
  const c = loadLibc();
  if (!c) throw new Error("bun:ffi cannot open libc here");
  const address = host ?? "0.0.0.0";
  const v6 = isIP(address) === 6;
  const fd = c.socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM_CLOEXEC, 0);
  if (fd < 0) fail(c, null);
  const one = new Int32Array([1]);
  const set = (level: number, name: number) => c.setsockopt(fd, level, name, ptr(one), 4) === 0 || fail(c, fd);
  set(SOL_SOCKET, SO_REUSEADDR);
  set(SOL_SOCKET, SO_REUSEPORT);
  // nginx's [::]:8000 is IPv6 only (ipv6only=on).
  if (v6) set(IPPROTO_IPV6, IPV6_V6ONLY);
  const sa = socketAddress(address, port);
  if (c.bind(fd, ptr(sa), sa.byteLength) !== 0) fail(c, fd);
  if (c.listen(fd, BACKLOG) !== 0) fail(c, fd);
  return { fd, close: () => closeSync(fd) };
}
