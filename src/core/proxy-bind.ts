// proxy_bind for one session: the configured address, or the value of its variables; an
// empty value binds nothing, and one that is no address is logged as nginx logs it and binds
// nothing either.
import { localAddress } from "./config/read-nginx/proxy-bind.ts";
import type { ComplexValue } from "./variables/complex-value.ts";
import type { SessionVariables } from "./variables/session-variables.ts";

export function localBind(
  setting: string,
  value: ComplexValue | null | undefined,
  s: { readonly variables: SessionVariables; logClientError(level: "error", message: string): void },
): { localAddress?: string } {
  const text = value ? value.evaluate(s.variables) : setting;
  if (text === "") return {};
  const address = localAddress(text);
  if (address === null) {
    s.logClientError("error", `invalid local address "${text}"`);
    return {};
  }
  return { localAddress: address };
}
