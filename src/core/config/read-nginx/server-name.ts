// stream `server_name` (nginx 1.25.5+): the names SNI chooses a server block by among those
// sharing an address, checked as ngx_stream_core_server_name does. Exact names and wildcards
// are kept lower-cased; a `~regex` is kept as written and compiled here once to check it.
import { compileServerNameRegex } from "../../server-names.ts";
import type { ReaderContext } from "./context.ts";
import type { NginxDirective } from "./tokenizer.ts";

/** Takes `server_name` into `into`; false for any other directive. */
export function serverNameDirective(cx: ReaderContext, d: NginxDirective, into: string[]): boolean {
  if (d.name !== "server_name") return false;
  for (const name of d.args) {
    if ((name.startsWith("*") && (name.length < 3 || name[1] !== ".")) || (name.startsWith(".") && name.length < 2)) {
      cx.fail(d, `server name "${name}" is invalid`);
    }
    if (name.includes("/")) cx.warn(d, `server name "${name}" has suspicious symbols`);
    if (!name.startsWith("~")) {
      into.push(name.toLowerCase());
      continue;
    }
    if (name.length === 1) cx.fail(d, `empty regex in server name "${name}"`);
    const compiled = compileServerNameRegex(name);
    if (typeof compiled === "string") cx.fail(d, `${compiled} in server name "${name}"`);
    into.push(name);
  }
  return true;
}
