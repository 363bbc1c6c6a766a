// One session's variable values: a slot per registry index, filled at first use and kept
// when the variable is cacheable (nginx caches "not found" too). The slots are allocated
// at the first evaluation, so a session that reads no variable pays nothing.
import type { VariableContext } from "./context.ts";
import type { VariableRegistry } from "./registry.ts";

/** undefined = not computed yet; null = not found. */
type Slot = string | null | undefined;

export class SessionVariables {
  private slots: Slot[] | undefined;
  /**
   * `$0`..`$9` of the last successful regex match anywhere in the session (nginx's are
   * session-global); null before any.
   */
  captures: readonly (string | undefined)[] | null = null;

  constructor(
    readonly registry: VariableRegistry,
    readonly ctx: VariableContext,
  ) {}

  get hostname(): string {
    return this.registry.process.hostname;
  }
  get pid(): number {
    return this.registry.process.pid;
  }
  get nginxVersion(): string {
    return this.registry.process.nginxVersion;
  }

  /** The value of the variable at `index`, or null (not found). */
  get(index: number): string | null {
    const slots = this.slots;
    if (slots !== undefined) {
      const v = slots[index];
      if (v !== undefined) return v;
    }
    const def = this.registry.def(index);
    const value = def.get(this, def.suffix);
    if (def.cacheable) (this.slots ??= new Array<Slot>(this.registry.size))[index] = value;
    return value;
  }

  /**
   * nginx's `set` and named captures: the value is the session's from now on, even for a
   * no-cacheable variable (only a computed value is dropped after use, never an assigned one).
   */
  assign(index: number, value: string): void {
    (this.slots ??= new Array<Slot>(this.registry.size))[index] = value;
  }
}
