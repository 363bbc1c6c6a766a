// Master ↔ worker messages for Bun and Deno: JSON lines over the worker's stdin (master →
// worker) and stdout (worker → master). Node uses node:cluster's IPC instead. A marker
// tells messages from whatever else a worker prints on stdout, which the master passes on.
import type { WorkerMessage } from "../core/runtime.ts";

const MARK = "\u001estreamlb ";

export function encodeMessage(message: WorkerMessage): string {
  return `${MARK}${JSON.stringify(message)}\n`;
}

/** Reads lines until the stream ends: messages to onMessage, other lines to onOther. */
export async function readMessages(
  stream: ReadableStream<Uint8Array>,
  onMessage: (message: WorkerMessage) => void,
  onOther: (line: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let buffered = "";
  const reader = stream.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith(MARK)) {
          try {
            onMessage(JSON.parse(line.slice(MARK.length)) as WorkerMessage);
          } catch {
            // a torn or foreign line: not ours to act on
          }
        } else onOther(`${line}\n`);
      }
    }
  } catch {
    // the pipe broke: same as its end
  }
  if (buffered) onOther(buffered);
}

/** Which worker this process is (STREAMLB_WORKER=<index>), or null. */
export function workerIndex(value: string | undefined): number | null {
  if (value === undefined || !/^\d+$/.test(value)) return null;
  return Number(value);
}

export const WORKER_ENV = "STREAMLB_WORKER";
