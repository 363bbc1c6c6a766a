// A session's proxy_upload_rate / proxy_download_rate: a size from the config, or a complex
// value evaluated once for the session, as nginx does when the upstream connects. A value
// that is no size is logged in nginx's words and leaves that direction unlimited.
import { parseSize } from "./config/values/units.ts";
import type { ComplexValue } from "./variables/complex-value.ts";
import type { SessionVariables } from "./variables/session-variables.ts";

export interface RateValues {
  readonly upload: ComplexValue | null;
  readonly download: ComplexValue | null;
}

export function sessionRate(
  setting: number | string,
  value: ComplexValue | null | undefined,
  s: { readonly variables: SessionVariables; logClientError(level: "error", message: string): void },
): number {
  if (typeof setting === "number") return setting;
  if (!value) return 0;
  const text = value.evaluate(s.variables);
  const bytes = parseSize(text);
  if (bytes === null) {
    s.logClientError("error", `invalid size "${text}"`);
    return 0;
  }
  return bytes;
}
