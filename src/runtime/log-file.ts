// An append-only log file on node:fs (Node and Bun both provide it): synchronous appends
// keep error-log lines whole and in order; append() hands a batch of access-log lines to
// libuv's thread pool so the event loop never waits for the disk; reopen() follows a rotation.
import { closeSync, openSync, write, writeSync } from "node:fs";
import type { LogFile } from "../core/runtime.ts";

export function openAppendFile(path: string): LogFile {
  let fd = openSync(path, "a");
  const appendAll = async (data: Buffer): Promise<void> => {
    let off = 0;
    while (off < data.byteLength) {
      const target = fd;
      off += await new Promise<number>((resolve, reject) =>
        write(target, data, off, data.byteLength - off, null, (err, n) => (err ? reject(err) : resolve(n)))
      );
    }
  };
  return {
    write: (text) => void writeSync(fd, text),
    append: (data) =>
      appendAll(typeof data === "string" ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength)),
    reopen: async () => {
      const next = openSync(path, "a");
      closeSync(fd);
      fd = next;
    },
    close: async () => closeSync(fd),
  };
}
