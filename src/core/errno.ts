// System errors in the words nginx logs them: `(98: Address already in use)`, Linux's errno
// number and strerror text. Node, Deno and Bun all give an error's `code` ("EADDRINUSE") but
// word the message each its own way, so every adapter maps by code, here, once.

/** Linux errno numbers and glibc's strerror text, for the codes a balancer meets. */
const ERRNO: Readonly<Record<string, readonly [number, string]>> = {
  EPERM: [1, "Operation not permitted"],
  ENOENT: [2, "No such file or directory"],
  EIO: [5, "Input/output error"],
  ENXIO: [6, "No such device or address"],
  EBADF: [9, "Bad file descriptor"],
  EAGAIN: [11, "Resource temporarily unavailable"],
  ENOMEM: [12, "Cannot allocate memory"],
  EACCES: [13, "Permission denied"],
  EBUSY: [16, "Device or resource busy"],
  EEXIST: [17, "File exists"],
  ENOTDIR: [20, "Not a directory"],
  EISDIR: [21, "Is a directory"],
  EINVAL: [22, "Invalid argument"],
  ENFILE: [23, "Too many open files in system"],
  EMFILE: [24, "Too many open files"],
  EFBIG: [27, "File too large"],
  ENOSPC: [28, "No space left on device"],
  EROFS: [30, "Read-only file system"],
  EPIPE: [32, "Broken pipe"],
  ENAMETOOLONG: [36, "File name too long"],
  ELOOP: [40, "Too many levels of symbolic links"],
  EAFNOSUPPORT: [97, "Address family not supported by protocol"],
  EADDRINUSE: [98, "Address already in use"],
  EADDRNOTAVAIL: [99, "Cannot assign requested address"],
  ENETDOWN: [100, "Network is down"],
  ENETUNREACH: [101, "Network is unreachable"],
  ECONNRESET: [104, "Connection reset by peer"],
  ENOTCONN: [107, "Transport endpoint is not connected"],
  ETIMEDOUT: [110, "Connection timed out"],
  ECONNREFUSED: [111, "Connection refused"],
  EHOSTDOWN: [112, "Host is down"],
  EHOSTUNREACH: [113, "No route to host"],
};

/** A failed system call, with the reason as nginx prints it in parentheses. */
export class SystemError extends Error {
  constructor(
    /** "EADDRINUSE", ... */
    readonly code: string,
    /** `98: Address already in use` */
    readonly reason: string,
  ) {
    super(reason);
    this.name = "SystemError";
  }
}

/** `98: Address already in use` for a code this table knows; null otherwise. */
export function errnoReason(code: string): string | null {
  const known = ERRNO[code];
  return known ? `${known[0]}: ${known[1]}` : null;
}

/** The `code` string any of the three runtimes puts on its errors, if there is one. */
export function errorCode(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^E[A-Z0-9]+$/.test(code) ? code : null;
}

/**
 * The reason nginx would print for `err`: `98: Address already in use` when the code is
 * known, the runtime's own message otherwise (so nothing is lost).
 */
export function systemReason(err: unknown): string {
  if (err instanceof SystemError) return err.reason;
  const code = errorCode(err);
  const known = code ? errnoReason(code) : null;
  if (known) return known;
  return err instanceof Error ? err.message : String(err);
}
