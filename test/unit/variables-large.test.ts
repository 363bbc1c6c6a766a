// Large map and geo blocks (issue #13's bad input: "a map with 100k entries"): a config with
// 100,000 map keys or 100,000 geo networks loads, and every entry is found again. A lookup
// must not scan: 100,000 lookups against 100,000 entries would take minutes if it did, so
// these tests end only because exact keys and networks are hashed. The load times are
// reported (t.diagnostic), never asserted: the machine's speed is not the code's.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseConfig } from "../../src/core/config/load.ts";
import { Geo } from "../../src/core/variables/geo.ts";
import { VariableMap } from "../../src/core/variables/map.ts";
import { VariableRegistry } from "../../src/core/variables/registry.ts";
import { SessionVariables } from "../../src/core/variables/session-variables.ts";
import { variableContext } from "../support/variable-context.ts";

const N = 100_000;
const TIMEOUT = { timeout: 120_000 };

const ip = (x: number) => `${x >>> 24}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${x & 255}`;
/** The i-th /24 network, 10.0.0.0/24 onwards. */
const net24 = (i: number) => (10 << 24) + i * 256;

/** A fixed shuffle (a linear congruential generator): the order a generated file might have. */
function shuffled(n: number): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  let seed = 12345;
  for (let i = n - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function timed<T>(fn: () => T): { value: T; ms: number } {
  const start = performance.now();
  const value = fn();
  return { value, ms: performance.now() - start };
}

describe("100,000-entry map and geo blocks", () => {
  test("map: every exact key found (any case), a missing one gives the default", TIMEOUT, (t) => {
    const r = new VariableRegistry();
    const k = r.declareSet("k");
    const lines = [{ args: ["default", "none"] }];
    for (const i of shuffled(N)) lines.push({ args: [`Key${i}.Example.com`, `v${i}`] });
    const load = timed(() => VariableMap.compile("$k", "$m", lines, r));
    r.check();
    const m = r.resolve("m");
    const lookups = timed(() => {
      let wrong = 0;
      for (let i = 0; i < N; i++) {
        // A fresh session per lookup: $m is cached per session, as nginx caches it.
        const s = new SessionVariables(r, variableContext());
        s.assign(k, `KEY${i}.example.COM`);
        if (s.get(m) !== `v${i}`) wrong++;
      }
      return wrong;
    });
    assert.equal(lookups.value, 0);
    const s = new SessionVariables(r, variableContext());
    s.assign(k, `key${N}.example.com`);
    assert.equal(s.get(m), "none");
    t.diagnostic(`map compile ${load.ms.toFixed(0)} ms, ${N} lookups ${lookups.ms.toFixed(0)} ms`);
  });

  test("geo: 100,000 CIDRs, nested ones win by longest prefix", TIMEOUT, (t) => {
    const lines = [{ args: ["default", "none"] }, { args: ["10.0.0.0/7", "wide"] }];
    for (const i of shuffled(N)) lines.push({ args: [`${ip(net24(i))}/24`, `n${i}`] });
    const load = timed(() => Geo.compile(["$g"], lines, new VariableRegistry()));
    const geo = load.value;
    assert.deepEqual(geo.warnings, []);
    let wrong = 0;
    for (let i = 0; i < N; i++) if (geo.lookup(ip(net24(i) + (i % 256))) !== `n${i}`) wrong++;
    assert.equal(wrong, 0);
    assert.equal(geo.lookup(ip(net24(N))), "wide", "inside 10.0.0.0/7, past the /24s");
    assert.equal(geo.lookup("192.0.2.1"), "none");
    t.diagnostic(`geo compile ${load.ms.toFixed(0)} ms`);
  });

  test("geo ranges: 100,000 ranges in shuffled order, each found, the gaps default", TIMEOUT, (t) => {
    // Ranges of 3 addresses, 4 apart: every fourth address is a gap.
    const base = 20 << 24;
    const lines = [{ args: ["ranges"] }, { args: ["default", "gap"] }];
    for (const i of shuffled(N)) lines.push({ args: [`${ip(base + i * 4)}-${ip(base + i * 4 + 2)}`, `r${i}`] });
    const load = timed(() => Geo.compile(["$g"], lines, new VariableRegistry()));
    const geo = load.value;
    let wrong = 0;
    for (let i = 0; i < N; i++) {
      if (geo.lookup(ip(base + i * 4 + (i % 3))) !== `r${i}`) wrong++;
      if (geo.lookup(ip(base + i * 4 + 3)) !== "gap") wrong++;
    }
    assert.equal(wrong, 0);
    t.diagnostic(`geo ranges compile ${load.ms.toFixed(0)} ms`);
  });

  test("a whole nginx config with a 100,000-line map and a 100,000-line geo is read and checked", TIMEOUT, (t) => {
    const map = shuffled(N).map((i) => `    key${i}.example.com up${i % 4};`).join("\n");
    const geo = shuffled(N).map((i) => `    ${ip(net24(i))}/24 n${i % 7};`).join("\n");
    const text = [
      "events {}",
      "stream {",
      "  map $remote_addr $up {",
      "    default u0;",
      map,
      "  }",
      "  geo $net {",
      "    default none;",
      geo,
      "  }",
      `  server { listen 127.0.0.1:9000; return "$up $net"; }`,
      "}",
      "",
    ].join("\n");
    const load = timed(() => parseConfig(text, "big.conf"));
    const variables = load.value.stream.variables;
    assert.deepEqual(variables.map((v) => [v.kind, v.lines.length]), [["map", N + 1], ["geo", N + 1]]);
    t.diagnostic(`config of ${(text.length / 1e6).toFixed(1)} MB read and checked in ${load.ms.toFixed(0)} ms`);
  });
});
