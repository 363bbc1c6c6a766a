// A lone process's listeners around a binary upgrade (upgrade.ts): WINCH closes them while
// the sessions go on, a rollback opens them again.
import type { Logger } from "./log.ts";
import type { Listener } from "./runtime.ts";

export interface HandoverSlot {
  readonly key: string;
  listener: Listener;
}

/** Closes each listener once: a later stop or reload finds one with nothing left to close. */
export async function stopListening(slots: Iterable<HandoverSlot>): Promise<void> {
  await Promise.all([...slots].map((s) => {
    const { listener } = s;
    s.listener = { host: listener.host, port: listener.port, close: async () => undefined };
    return listener.close();
  }));
}

/**
 * Listens again on every address. A port the new binary still holds alone (it inherited the
 * socket) is tried again every 20 ms until it lets it go, so connects are refused for at
 * most that long.
 */
export async function listenAgain<S extends HandoverSlot>(
  slots: Iterable<S>,
  open: (slot: S) => Promise<Listener>,
  logger: Logger,
): Promise<void> {
  await Promise.all([...slots].map(async (slot) => {
    for (let tries = 0;; tries++) {
      try {
        slot.listener = await open(slot);
        logger.log("notice", `listening again on ${slot.key}`);
        return;
      } catch (e) {
        if (tries % 250 === 0) logger.log("notice", `${e instanceof Error ? e.message : String(e)}, retrying`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }));
}
