// A schema row, in the spirit of nginx's ngx_command_t: one setting, its nginx directive
// (which is also its YAML key), where it lands in the model, its value kind and default.
import type { ValueKind } from "../values/kinds.ts";

export interface SettingRow<M> {
  /** nginx's directive (or server parameter) name. */
  readonly name: string;
  /** The YAML key (the directive's name: YAML mirrors nginx one to one). */
  readonly yaml: string;
  /** The model field the value lands in. */
  readonly field: keyof M & string;
  /** Method syntax in ValueKind keeps rows of different value types in one list. */
  readonly kind: ValueKind<never>;
  /** nginx's default; null for a setting that is off unless written. */
  readonly default: unknown;
}

/** The row's value as its kind sees it (the kinds are typed per row where the row is made). */
export function kindOf<T>(row: { readonly kind: ValueKind<never> }): ValueKind<T> {
  return row.kind as unknown as ValueKind<T>;
}

/** A row's value in a model object. */
export function valueOf<M>(row: SettingRow<M>, model: M): unknown {
  return model[row.field];
}

/** The defaults of a group of rows, as the model object they fill. */
export function defaultsOf<M>(rows: readonly SettingRow<M>[]): M {
  return Object.fromEntries(rows.map((r) => [r.field, r.default])) as M;
}

export function row<M, K extends keyof M & string>(r: {
  name: string;
  field: K;
  kind: ValueKind<NonNullable<M[K]>>;
  default: M[K];
}): SettingRow<M> {
  return { ...r, yaml: r.name } as unknown as SettingRow<M>;
}

/** A model object being filled by a reader. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Sets a row's field on an object a reader is filling. */
export function setField<M>(target: Mutable<M>, r: SettingRow<M>, value: unknown): void {
  (target as Record<string, unknown>)[r.field] = value;
}
