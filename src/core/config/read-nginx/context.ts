// What the directive readers of read-nginx/ report through: nginx's [emerg] and [warn] lines.
import type { SourceLoc } from "../model.ts";
import type { NginxDirective } from "./tokenizer.ts";

export interface ReaderContext {
  fail(d: NginxDirective, problem: string): never;
  warn(d: NginxDirective, message: string): void;
  loc(d: NginxDirective): SourceLoc;
}
