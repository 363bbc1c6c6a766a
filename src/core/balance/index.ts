// The registry of balancing methods: a config's method to the picker that runs it.
import type { BalanceMethod } from "../config/model.ts";
import { BoundedLoadPicker } from "./bounded-load.ts";
import { HashPicker } from "./hash.ts";
import { KetamaPicker } from "./ketama.ts";
import { leastConn } from "./least-conn.ts";
import { RandomPicker } from "./random.ts";
import { pickRoundRobin, roundRobin } from "./round-robin.ts";
import type { Picker } from "./types.ts";
import type { VariableRegistry } from "../variables/registry.ts";

/** `registry`: the config's variables, which a hash key may read (built-ins alone when absent). */
/**
 * `resolves`: the upstream has `server NAME resolve` lines, so a group may be empty at run
 * time; only such upstreams pay for the check.
 */
export function createPicker(method: BalanceMethod, registry?: VariableRegistry, resolves = false): Picker {
  const picker = methodPicker(method, registry);
  if (picker === roundRobin || !resolves) return picker;
  // A group `resolve` has left empty (no answer yet, or the name went away) has nothing to
  // hash or draw from: round robin finds the backups, or "no live upstreams", as nginx does.
  return { pick: (sel, context) => (sel.group.peers.length === 0 ? pickRoundRobin(sel) : picker.pick(sel, context)) };
}

function methodPicker(method: BalanceMethod, registry?: VariableRegistry): Picker {
  switch (method.kind) {
    case "round_robin":
      return roundRobin;
    case "least_conn":
      return leastConn;
    case "hash":
      // Each picker owns a scratch buffer for the key, so every route gets its own.
      if (method.bounded !== undefined) return new BoundedLoadPicker(method.key, method.bounded, registry);
      return method.consistent ? new KetamaPicker(method.key, registry) : new HashPicker(method.key, registry);
    case "random":
      // `random two` compares by least_conn, the only comparison nginx knows.
      return new RandomPicker(method.two);
  }
}
