import type { SourceLoc } from "./model.ts";

/** A config problem a person must fix: what is wrong, and where. */
export class ConfigError extends Error {
  readonly loc: SourceLoc | null;
  readonly problem: string;

  constructor(problem: string, loc: SourceLoc | null) {
    super(loc ? `${problem} in ${formatLoc(loc)}` : problem);
    this.name = "ConfigError";
    this.problem = problem;
    this.loc = loc;
  }
}

/** Where `-g` directives come from, named as nginx names it in messages. */
export const COMMAND_LINE = "command line";

export function formatLoc(loc: SourceLoc): string {
  if (loc.file === COMMAND_LINE) return COMMAND_LINE;
  return loc.col > 0 ? `${loc.file}:${loc.line}:${loc.col}` : `${loc.file}:${loc.line}`;
}
