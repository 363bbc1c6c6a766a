// Log files on Deno: appended to, reopened on USR1 (the old file closes once the new is open).
import type { LogFile } from "../../core/runtime.ts";

const encoder = new TextEncoder();

export async function openLogFile(path: string): Promise<LogFile> {
  const open = () => Deno.openSync(path, { append: true, create: true });
  let file = open();
  const log: LogFile = {
    write: (text) => {
      const data = encoder.encode(text);
      let off = 0;
      while (off < data.byteLength) off += file.writeSync(data.subarray(off));
    },
    append: async (text) => {
      const data = typeof text === "string" ? encoder.encode(text) : text;
      const target = file;
      let off = 0;
      while (off < data.byteLength) off += await target.write(data.subarray(off));
    },
    reopen: async () => {
      const next = open();
      file.close();
      file = next;
    },
    close: async () => file.close(),
  };
  return log;
}
