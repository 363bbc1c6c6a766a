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

export function formatLoc(loc: SourceLoc): string {
  return loc.col > 0 ? `${loc.file}:${loc.line}:${loc.col}` : `${loc.file}:${loc.line}`;
}
