// The variables one config knows: nginx's built-ins plus what map, geo, split_clients and
// set define. Every `$name` a config uses gets an index (ngx_stream_get_variable_index);
// a session keeps one lazily filled slot per index (session-variables.ts).
import { BUILTIN_VARIABLES, type BuiltinVariable, PREFIX_VARIABLES } from "./builtins.ts";
import type { ProcessFacts, VariableScope } from "./context.ts";

export type VariableGetter = (s: VariableScope, suffix: string) => string | null;

export type VariableKind = "builtin" | "map" | "geo" | "split_clients" | "set" | "capture";

export interface VariableDef {
  readonly name: string;
  readonly kind: VariableKind;
  readonly cacheable: boolean;
  readonly binary: boolean;
  readonly get: VariableGetter;
  /** For a prefix variable, the part of the name after the prefix. */
  readonly suffix: string;
}

/** Where a config line is, for messages (`in FILE:LINE`, added by the config reader). */
export interface ConfigLoc {
  readonly file: string;
  readonly line: number;
}

/** A config problem with a variable, in nginx's words; `loc` when nginx names the line. */
export class VariableError extends Error {
  override readonly name = "VariableError";
  constructor(
    message: string,
    readonly loc?: ConfigLoc,
  ) {
    super(message);
  }
}

/** A `[warn]` nginx logs at config time (the config is still accepted). */
export interface ConfigWarning {
  readonly message: string;
  readonly loc?: ConfigLoc;
}

/** `$name` → `name`; anything else is nginx's `invalid variable name "x"`. */
export function variableName(arg: string, loc?: ConfigLoc): string {
  if (arg.length < 2 || arg[0] !== "$") throw new VariableError(`invalid variable name "${arg}"`, loc);
  return arg.slice(1);
}

const BUILTINS = new Map<string, BuiltinVariable>(BUILTIN_VARIABLES.map((v) => [v.name, v]));

/** What `set` gives a variable it declares, read where it was never set: empty, found. */
const EMPTY: VariableGetter = () => "";

export class VariableRegistry {
  readonly process: ProcessFacts;
  private readonly indexes = new Map<string, number>();
  /** By index; undefined while a name is referenced but not (yet) defined. */
  private readonly table: Array<VariableDef | undefined> = [];
  private readonly referenced: string[] = [];

  constructor(process: ProcessFacts = { hostname: "localhost", pid: 0, nginxVersion: "1.31.5" }) {
    this.process = process;
  }

  get size(): number {
    return this.table.length;
  }

  /** The definition at `index`; only valid after check() (or for resolve()d names). */
  def(index: number): VariableDef {
    const d = this.table[index];
    if (d === undefined) throw new VariableError(`unknown "${this.referenced[index]}" variable`);
    return d;
  }

  /**
   * The index of `$name` (case-insensitive), which a later map/geo/set may still define:
   * nginx checks names once the whole config is read, so check() reports the unknown.
   */
  index(name: string): number {
    const lower = name.toLowerCase();
    const known = this.indexes.get(lower);
    if (known !== undefined) return known;
    const index = this.table.length;
    this.indexes.set(lower, index);
    this.referenced.push(lower);
    this.table.push(this.builtin(lower));
    return index;
  }

  /** index(), but a name nothing defines yet is an error now (for keys compiled alone). */
  resolve(name: string): number {
    const lower = name.toLowerCase();
    // Refused names take no index: a shared registry must not grow with every typo.
    if (!this.indexes.has(lower) && this.builtin(lower) === undefined) {
      throw new VariableError(`unknown "${lower}" variable`);
    }
    const index = this.index(lower);
    this.def(index);
    return index;
  }

  /** Throws nginx's `unknown "x" variable` (no file:line, as nginx) for the first name nothing defined. */
  check(): void {
    for (let i = 0; i < this.table.length; i++) this.def(i);
  }

  /** True when `$name` is a built-in (prefix ones included) or defined here; indexes nothing. */
  knows(name: string): boolean {
    return this.isDefined(name) || this.builtin(name.toLowerCase()) !== undefined;
  }

  isDefined(name: string): boolean {
    const i = this.indexes.get(name.toLowerCase());
    return i !== undefined && this.table[i] !== undefined;
  }

  /**
   * Defines a variable for map, geo, split_clients or a named regex capture. Built-ins
   * are not changeable (`the duplicate "remote_port" variable`); another module's
   * definition is replaced, silently, as nginx's last definition wins.
   */
  define(name: string, kind: Exclude<VariableKind, "builtin">, cacheable: boolean, get: VariableGetter): number {
    const index = this.index(name);
    const old = this.table[index];
    if (notChangeable(old)) throw new VariableError(`the duplicate "${old!.name}" variable`);
    this.table[index] = { name: this.referenced[index]!, kind, cacheable, binary: false, get, suffix: "" };
    return index;
  }

  /**
   * `set $name`: declares the variable unless something defined it already (then set
   * only overrides its value per session). Built-ins are refused as nginx does.
   */
  declareSet(name: string): number {
    const index = this.index(name);
    const old = this.table[index];
    if (notChangeable(old)) throw new VariableError(`the duplicate "${old!.name}" variable`);
    if (old === undefined || old.kind === "builtin") {
      this.table[index] = { name: this.referenced[index]!, kind: "set", cacheable: true, binary: false, get: EMPTY, suffix: "" };
    }
    return index;
  }

  private builtin(lower: string): VariableDef | undefined {
    const exact = BUILTINS.get(lower);
    if (exact) return { ...exact, kind: "builtin", binary: exact.binary === true, suffix: "" };
    for (const p of PREFIX_VARIABLES) {
      if (lower.startsWith(p.name) && lower.length > p.name.length) {
        return { ...p, name: lower, kind: "builtin", binary: p.binary === true, suffix: lower.slice(p.name.length) };
      }
    }
    return undefined;
  }
}

/**
 * Built-ins refuse redefinition; a name that only matched a prefix variable
 * (`$proxy_protocol_tlv_x`) may be defined, and the definition then wins, as in nginx.
 */
function notChangeable(d: VariableDef | undefined): boolean {
  return d !== undefined && d.kind === "builtin" && d.suffix === "";
}

/** The registry of built-ins alone, for keys compiled outside a config (hash keys today). */
export const BUILTIN_REGISTRY = new VariableRegistry();
