// Reads a config file (the -c file and every `include`) defensively, on node:fs, which Node,
// Deno and Bun all provide, so the checks and their words are the same on every runtime.
// A config is read before anything listens: a file that never ends (/dev/zero), a fifo
// nobody writes, a directory or a huge file must end startup with one clear line, not a
// hang or a heap that grows until the kernel kills it.
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { ConfigError } from "../core/config/errors.ts";
import { errnoReason, errorCode } from "../core/errno.ts";

/** Larger than any real config (nginx's own biggest are a few hundred KiB); a guard, not a budget. */
export const CONFIG_FILE_LIMIT = 16 * 1024 * 1024;

/** Why a config file could not be read, in nginx's shape: `open() "PATH" failed (REASON)`. */
export class ConfigFileError extends ConfigError {
  constructor(
    readonly path: string,
    readonly syscall: "open" | "pread",
    /** The runtime's code when the system said no ("EACCES"), null for our own refusals. */
    readonly code: string | null,
    /** `13: Permission denied`, or our own words. */
    readonly reason: string,
  ) {
    super(`${syscall}() "${path}" failed (${reason})`, null);
    this.name = "ConfigFileError";
  }
}

/** The text of a config file; throws a ConfigFileError naming the path when it cannot be one. */
export function readConfigFile(path: string): string {
  if (path === "") throw new ConfigFileError(path, "open", null, "an empty file name");
  let fd: number;
  try {
    // O_NONBLOCK: opening a fifo for reading would otherwise wait for a writer forever.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw fromSystem(path, e);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new ConfigFileError(path, "pread", "EISDIR", errnoReason("EISDIR")!);
    if (!stat.isFile()) {
      throw new ConfigFileError(path, "open", null, "not a regular file: a device, fifo or socket cannot be a config");
    }
    if (stat.size > CONFIG_FILE_LIMIT) throw tooLarge(path);
    return new TextDecoder().decode(readAll(fd, path, stat.size));
  } catch (e) {
    throw e instanceof ConfigFileError ? e : fromSystem(path, e, "pread");
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads to the end, never past the limit. The size from fstat is only a first guess: /proc
 * files say 0, and a file may grow while it is read.
 */
function readAll(fd: number, path: string, sizeHint: number): Uint8Array {
  let buf = new Uint8Array(Math.max(sizeHint + 1, 4096));
  let length = 0;
  for (;;) {
    if (length === buf.byteLength) {
      if (length > CONFIG_FILE_LIMIT) throw tooLarge(path);
      const next = new Uint8Array(Math.min(buf.byteLength * 2, CONFIG_FILE_LIMIT + 1));
      next.set(buf);
      buf = next;
    }
    const n = readSync(fd, buf, length, buf.byteLength - length, null);
    if (n === 0) break;
    length += n;
  }
  if (length > CONFIG_FILE_LIMIT) throw tooLarge(path);
  return buf.subarray(0, length);
}

function tooLarge(path: string): ConfigFileError {
  return new ConfigFileError(
    path,
    "open",
    null,
    `larger than ${CONFIG_FILE_LIMIT / 1024 / 1024} MiB, the most a config file may be`,
  );
}

function fromSystem(path: string, e: unknown, syscall: "open" | "pread" = "open"): ConfigFileError {
  const code = errorCode(e);
  const reason = (code && errnoReason(code)) ?? (e instanceof Error ? e.message : String(e));
  // A directory fails at open() on some runtimes and at the read on others; nginx says pread().
  return new ConfigFileError(path, code === "EISDIR" ? "pread" : syscall, code, reason);
}
