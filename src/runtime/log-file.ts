// An append-only log file on node:fs (Node and Bun both provide it): synchronous appends
// keep lines whole and in order; reopen() follows a rotation.
import { closeSync, openSync, writeSync } from "node:fs";
import type { LogFile } from "../core/runtime.ts";

export function openAppendFile(path: string): LogFile {
  let fd = openSync(path, "a");
  return {
    write: (text) => void writeSync(fd, text),
    reopen: async () => {
      const next = openSync(path, "a");
      closeSync(fd);
      fd = next;
    },
    close: async () => closeSync(fd),
  };
}
