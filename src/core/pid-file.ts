// The pid file `streamlb -s` finds the running instance by (the master's, with workers).
import { systemReason } from "./errno.ts";
import type { Runtime } from "./runtime.ts";

/**
 * Writes our pid; throws nginx's `open() "PATH" failed (REASON)` when it cannot. As in nginx
 * that stops the start: without the file, `-s reload` and init scripts cannot find us.
 */
export async function writePidFile(runtime: Runtime, path: string | null): Promise<void> {
  if (!path) return;
  try {
    await runtime.writeTextFile(path, `${runtime.pid}\n`);
  } catch (e) {
    throw new Error(`open() "${path}" failed (${systemReason(e)})`);
  }
}

/** Removes the pid file on exit, unless another instance has written its own pid there since. */
export async function removePidFile(runtime: Runtime, path: string | null): Promise<void> {
  if (!path) return;
  // After a binary upgrade the old binary's pid is in PATH.oldbin (upgrade.ts).
  for (const file of [path, `${path}.oldbin`]) {
    const text = await runtime.readTextFile(file).catch(() => "");
    if (text.trim() === String(runtime.pid)) await runtime.removeFile(file).catch(() => undefined);
  }
}
