// nginx's `set $var VALUE;` (ngx_stream_set_module): in PREACCESS, in config order, each
// assigns a complex value to the session's variable. It may override a map/geo variable
// within its server; built-ins are refused.
import { ComplexValue, VariableSyntaxError } from "./complex-value.ts";
import { type ConfigLoc, VariableError, variableName, type VariableRegistry } from "./registry.ts";
import type { SessionVariables } from "./session-variables.ts";

interface Assignment {
  readonly index: number;
  readonly value: ComplexValue;
}

/** One server's `set` lines, compiled; `run` is the PREACCESS handler. */
export class SetPhase {
  private readonly assignments: Assignment[] = [];

  /** Adds `set ARGS` (the directive's arguments); throws VariableError in nginx's words. */
  add(args: readonly string[], registry: VariableRegistry, loc?: ConfigLoc): void {
    if (args.length !== 2) throw new VariableError(`invalid number of arguments in "set" directive`, loc);
    const name = variableName(args[0]!, loc);
    let value: ComplexValue;
    try {
      value = ComplexValue.compile(args[1]!, registry);
    } catch (e) {
      if (e instanceof VariableSyntaxError) throw new VariableError(e.message, loc);
      throw e;
    }
    try {
      this.assignments.push({ index: registry.declareSet(name), value });
    } catch (e) {
      if (e instanceof VariableError && !e.loc) throw new VariableError(e.message, loc);
      throw e;
    }
  }

  get empty(): boolean {
    return this.assignments.length === 0;
  }

  /** Runs the assignments in config order; a later one sees what earlier ones set. */
  run(s: SessionVariables): void {
    for (const a of this.assignments) s.assign(a.index, a.value.evaluate(s));
  }
}
