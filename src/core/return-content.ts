// The content of `return VALUE` (ngx_stream_return_handler): write the text, then the caller
// closes. nginx's send timeout for return is fixed at 5 s, so a client that reads nothing
// cannot hold the session open.
import type { ClientConnection } from "./runtime.ts";

const encoder = new TextEncoder();
const RETURN_SEND_TIMEOUT_MS = 5000;

/** Writes `text` to the client, giving up after nginx's 5 s; never throws. */
export async function sendReturn(client: ClientConnection, text: string): Promise<void> {
  if (text.length === 0) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, RETURN_SEND_TIMEOUT_MS)));
  try {
    await Promise.race([client.write(encoder.encode(text)), timeout]);
  } catch {
    // The client went away: nothing to tell it; the session still ends as served (200).
  } finally {
    clearTimeout(timer);
  }
}
