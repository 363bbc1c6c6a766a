// The pid file `streamlb -s` finds the running instance by (the master's, with workers).
import type { Logger } from "./log.ts";
import type { Runtime } from "./runtime.ts";

export async function writePidFile(runtime: Runtime, path: string | null, logger: Logger): Promise<void> {
  if (!path) return;
  try {
    await runtime.writeTextFile(path, `${runtime.pid}\n`);
  } catch (e) {
    logger.log("warn", `open() "${path}" failed (${e instanceof Error ? e.message : String(e)}): no pid file written`);
  }
}

/** Removes the pid file on exit, unless another instance has written its own pid there since. */
export async function removePidFile(runtime: Runtime, path: string | null): Promise<void> {
  if (!path) return;
  const text = await runtime.readTextFile(path).catch(() => "");
  if (text.trim() === String(runtime.pid)) await runtime.removeFile(path).catch(() => undefined);
}
