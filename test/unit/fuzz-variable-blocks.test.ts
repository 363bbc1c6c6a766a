// Property tests of the map, geo and split_clients block readers. A generated stream config
// with all three, mutated, reads or fails with a ConfigError naming the file and a line of it.
// Then each against a model: a map's exact keys (any case) give their value, others the
// default; geo gives the longest matching prefix of what is left after deletes, and in
// `ranges` mode what a naive list of ranges says (nested ones split, exact ones replace,
// crossing ones refused); split_clients picks parts in order along the hash, each as wide
// as its percentage of 2^32, and refuses totals over 100%.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as fc from "fast-check";
import { ConfigError } from "../../src/core/config/errors.ts";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { Geo } from "../../src/core/variables/geo.ts";
import { VariableMap } from "../../src/core/variables/map.ts";
import { VariableError, VariableRegistry } from "../../src/core/variables/registry.ts";
import { SessionVariables } from "../../src/core/variables/session-variables.ts";
import { SplitClients } from "../../src/core/variables/split-clients.ts";
import { nginxWord } from "../support/config-gen.ts";
import { bounded, FUZZ_TIMEOUT_MS, mutate, mutations, params, readOrConfigError } from "../support/fuzz.ts";
import { variableContext } from "../support/variable-context.ts";

const FILE = "blocks.conf";
const word = fc.string({ unit: fc.constantFrom(..."abcxyz019-_"), minLength: 1, maxLength: 6 });
const value = fc.oneof(word, fc.constantFrom("$remote_addr", "${remote_port}x", "$1", "$unknown", "''"));
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join("."));
const ipv6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(":"));

const mapLine = fc.oneof(
  fc.tuple(word, value).map(([k, v]) => [k, v]),
  fc.tuple(word, value).map(([k, v]) => [`*.${k}.com`, v]),
  fc.tuple(word, value).map(([k, v]) => [`.${k}.org`, v]),
  fc.tuple(word, value).map(([k, v]) => [`www.${k}.*`, v]),
  fc.tuple(fc.constantFrom("~^a(\\d+)$", "~*^(?<n>x)", "~(", "~[z-a]", "~^$"), value).map(([k, v]) => [k, v]),
  value.map((v) => ["default", v]),
  value.map((v) => ["\\default", v]),
  fc.constantFrom(["hostnames"], ["volatile"]),
);
const geoLine = fc.oneof(
  fc.tuple(ipv4, fc.integer({ min: 0, max: 33 }), word).map(([a, l, v]) => [`${a}/${l}`, v]),
  fc.tuple(ipv6, fc.integer({ min: 0, max: 129 }), word).map(([a, l, v]) => [`${a}/${l}`, v]),
  fc.tuple(ipv4, word).map(([a, v]) => [a, v]),
  fc.tuple(ipv4, ipv4, word).map(([a, b, v]) => [`${a}-${b}`, v]),
  fc.tuple(ipv4, fc.integer({ min: 0, max: 32 })).map(([a, l]) => ["delete", `${a}/${l}`]),
  word.map((v) => ["default", v]),
  fc.constantFrom(["ranges"], ["volatile"], ["proxy", "10.0.0.1"]),
);
const splitLine = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 6000 }), word).map(([p, v]) => [`${p / 100}%`, v]),
  word.map((v) => ["*", v]),
  fc.constantFrom(["0%", "a"], ["1.234%", "b"], ["50", "c"]),
);

const block = (head: string, lines: readonly (readonly string[])[]) =>
  `  ${head} {\n${lines.map((l) => `    ${l.map(nginxWord).join(" ")};\n`).join("")}  }\n`;

const blocksConfig = fc
  .tuple(
    fc.array(mapLine, { maxLength: 8 }),
    fc.array(geoLine, { maxLength: 8 }),
    fc.array(splitLine, { maxLength: 5 }),
    fc.boolean(),
  )
  .map(([m, g, s, geoSource]) =>
    [
      "events {}",
      "stream {",
      block("map $remote_addr $m", m) + block(geoSource ? "geo $remote_addr $g" : "geo $g", g) +
      block(`split_clients "\${remote_addr}x" $s`, s) +
      `  server { listen 127.0.0.1:9000; return "$m $g $s"; }`,
      "}",
      "",
    ].join("\n")
  );

const read = (text: string) => loadNginxConfig(text, FILE);
/**
 * What nginx reports without a line: the sections it finds missing once the file is read,
 * and unknown variables, checked after the whole config (ngx_stream_variables_init_vars).
 */
const WITHOUT_LINE = [
  /^no "events" section in configuration$/,
  /^no "stream" section in configuration/,
  /^unknown ".*" variable$/,
];

/** A registry with `$k` to feed a block, and a fresh session per lookup (values are cached per session). */
function fed(compile: (r: VariableRegistry) => void, output: string): (input: string) => string {
  const r = new VariableRegistry();
  const k = r.declareSet("k");
  compile(r);
  r.check();
  const out = r.resolve(output);
  return (input) => {
    const s = new SessionVariables(r, variableContext());
    s.assign(k, input);
    return s.get(out) ?? "";
  };
}

const ip = (x: number) => `${x >>> 24}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${x & 255}`;

/** Reads a stream{} body; the ConfigError's text and line, or null when it reads. */
function problem(body: string): string | null {
  try {
    read(`events {}\nstream {\n${body}\n  server { listen 127.0.0.1:9000; return x; }\n}\n`);
    return null;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return `${e.problem} at ${e.loc?.line ?? "?"}`;
  }
}

describe("map, geo and split_clients blocks: cases the fuzzer found", () => {
  test("a bad `$` in a geo or split_clients source is a config error at its line, not a crash", () => {
    // Found by the mutated-config property: both threw VariableSyntaxError out of the reader.
    // The texts are nginx 1.22's (`nginx -t`): geo takes one variable, split_clients a complex value.
    assert.equal(problem("  geo $ $g { default a; }"), `invalid variable name "$" at 3`);
    assert.equal(problem("  geo abc $g { default a; }"), `invalid variable name "abc" at 3`);
    assert.equal(problem(`  split_clients "$" $s { * a; }`), "invalid variable name at 3");
    assert.equal(problem(`  split_clients "\${x" $s { * a; }`), `the closing bracket in "x" variable is missing at 3`);
    assert.equal(problem("  geo $remote_addr $g { default a; }"), null);
  });
});

describe("map, geo and split_clients blocks (property)", () => {
  test("a generated config with the three blocks, mutated: read, or a ConfigError at a line of the file", {
    timeout: FUZZ_TIMEOUT_MS,
  }, () => {
    fc.assert(
      fc.property(blocksConfig, fc.oneof(fc.constant([]), mutations), (text, ms) => {
        readOrConfigError(mutate(text, ms), FILE, read, WITHOUT_LINE);
      }),
      params(),
    );
  });

  test("map: exact keys found in any case, the last wins nowhere (duplicates refused), others the default", {
    timeout: FUZZ_TIMEOUT_MS,
  }, () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(word, word), { maxLength: 20 }), fc.option(word), fc.array(word), (pairs, dflt, probes) => {
        const lines = pairs.map(([k, v]) => ({ args: [k.toUpperCase(), v] }));
        if (dflt !== null) lines.push({ args: ["default", dflt] });
        const keys = new Map<string, string>();
        let duplicate = false;
        for (const [k, v] of pairs) {
          if (keys.has(k)) duplicate = true;
          keys.set(k, v);
        }
        let m: (input: string) => string;
        try {
          m = bounded("map", () => fed((r) => VariableMap.compile("$k", "$m", lines, r), "m"));
        } catch (e) {
          assert.ok(e instanceof VariableError && /^conflicting parameter/.test(e.message), String(e));
          assert.ok(duplicate);
          return;
        }
        assert.ok(!duplicate, "a duplicate key is refused");
        for (const [k, v] of keys) assert.equal(m(k), v);
        for (const p of probes) assert.equal(m(p.toUpperCase()), keys.get(p) ?? dflt ?? "");
      }),
      params(),
    );
  });

  test("geo: the longest matching network after deletes, or the default", { timeout: FUZZ_TIMEOUT_MS }, () => {
    // Few distinct networks (in 10.0.0.0/14) so lookups hit them and deletes find them; /0 is
    // left to `default`.
    const net = fc.tuple(fc.nat(3), fc.nat(255), fc.integer({ min: 1, max: 32 })).map(([b, c, len]) => {
      const mask = (~0 << (32 - len)) >>> 0;
      return { addr: (((10 << 24) | (b << 16) | (c << 8)) & mask) >>> 0, len };
    });
    const op = fc.oneof(
      { weight: 3, arbitrary: fc.tuple(net, word).map(([n, v]) => ({ ...n, value: v as string | null })) },
      { weight: 1, arbitrary: net.map((n) => ({ ...n, value: null as string | null })) },
    );
    const probe = fc.tuple(fc.nat(3), fc.nat(255), fc.nat(255)).map(([b, c, d]) => ((10 << 24) | (b << 16) | (c << 8) | d) >>> 0);
    fc.assert(
      fc.property(fc.array(op, { maxLength: 25 }), fc.option(word), fc.array(probe, { maxLength: 20 }), (ops, dflt, probes) => {
        const lines = ops.map((o) => ({
          args: o.value === null ? ["delete", `${ip(o.addr)}/${o.len}`] : [`${ip(o.addr)}/${o.len}`, o.value],
        }));
        if (dflt !== null) lines.unshift({ args: ["default", dflt] });
        const model = new Map<string, string>();
        if (dflt !== null) model.set(`0/0`, dflt);
        for (const o of ops) {
          if (o.value === null) model.delete(`${o.addr}/${o.len}`);
          else model.set(`${o.addr}/${o.len}`, o.value);
        }
        const geo = bounded("geo", () => Geo.compile(["$g"], lines, new VariableRegistry()));
        for (const a of probes) {
          let best: { len: number; value: string } | null = null;
          for (const [key, v] of model) {
            const [addr, len] = key.split("/").map(Number) as [number, number];
            const mask = len === 0 ? 0 : (~0 << (32 - len)) >>> 0;
            if (((a & mask) >>> 0) === addr && (best === null || len > best.len)) best = { len, value: v };
          }
          assert.equal(geo.lookup(ip(a)), best?.value ?? "", `lookup ${ip(a)}`);
        }
      }),
      params(),
    );
  });

  test("geo ranges: what a naive list of ranges says, nested ones split, crossing ones refused", {
    timeout: FUZZ_TIMEOUT_MS,
  }, () => {
    const base = 20 << 24;
    const range = fc.tuple(fc.nat(60), fc.nat(60)).map(([a, b]) => ({
      start: base + Math.min(a, b),
      end: base + Math.max(a, b),
    }));
    const op = fc.tuple(range, fc.option(word, { freq: 4 })).map(([r, v]) => ({ ...r, value: v }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const lines = [{ args: ["ranges"] }, { args: ["default", "none"] }];
        // The model: a sorted list of disjoint ranges, searched and changed the slow, obvious way.
        let model: { start: number; end: number; value: string }[] = [];
        let refusedAt = -1;
        for (const [i, o] of ops.entries()) {
          const text = `${ip(o.start)}-${ip(o.end)}`;
          lines.push({ args: o.value === null ? ["delete", text] : [text, o.value] });
          if (refusedAt >= 0) continue;
          const same = model.find((r) => r.start === o.start && r.end === o.end);
          if (o.value === null) {
            model = model.filter((r) => r !== same);
            continue;
          }
          if (same) {
            same.value = o.value;
            continue;
          }
          const outer = model.find((r) => r.start <= o.start && o.end <= r.end);
          if (outer) {
            model = model.filter((r) => r !== outer);
            if (outer.start < o.start) model.push({ start: outer.start, end: o.start - 1, value: outer.value });
            if (o.end < outer.end) model.push({ start: o.end + 1, end: outer.end, value: outer.value });
          } else if (model.some((r) => r.start <= o.end && o.start <= r.end)) {
            refusedAt = i;
            continue;
          }
          model.push({ start: o.start, end: o.end, value: o.value });
          model.sort((a, b) => a.start - b.start);
        }
        let geo: Geo;
        try {
          geo = bounded("geo ranges", () => Geo.compile(["$g"], lines, new VariableRegistry()));
        } catch (e) {
          assert.ok(e instanceof VariableError && /overlaps/.test(e.message), String(e));
          assert.ok(refusedAt >= 0, `refused: ${e.message}`);
          return;
        }
        assert.equal(refusedAt, -1, "a crossing range is refused");
        for (let a = base - 1; a <= base + 61; a++) {
          assert.equal(geo.lookup(ip(a)), model.find((r) => r.start <= a && a <= r.end)?.value ?? "none", ip(a));
        }
      }),
      params(),
    );
  });

  test("split_clients: parts in order along the hash, each its percentage of 2^32 wide; over 100% refused", {
    timeout: FUZZ_TIMEOUT_MS,
  }, () => {
    const part = fc.integer({ min: 1, max: 5000 });
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 6 }), fc.boolean(), fc.nat(0xffffffff), (hundredths, star, h) => {
        const entries = hundredths.map((p, i) => ({
          percent: `${Math.floor(p / 100)}.${String(p % 100).padStart(2, "0")}%`,
          value: `v${i}`,
        }));
        if (star) entries.push({ percent: "*", value: "rest" });
        const total = hundredths.reduce((a, b) => a + b, 0);
        let split: SplitClients;
        try {
          split = SplitClients.compile("$remote_addr", entries, new VariableRegistry());
        } catch (e) {
          assert.ok(e instanceof VariableError && e.message === "percent total is greater than 100%", String(e));
          assert.ok(total > 10000);
          return;
        }
        assert.ok(total <= 10000);
        // Where each part ends, from the percentages alone (rounding: at most a few hashes per part).
        const picked = split.pickHash(h);
        let cumulative = 0;
        let expected = star ? "rest" : "";
        for (const [i, p] of hundredths.entries()) {
          cumulative += p;
          const edge = (cumulative / 10000) * 0xffffffff;
          if (h < edge - 8 || cumulative === 10000) {
            expected = `v${i}`;
            break;
          }
          if (h < edge + 8) return; // too close to an edge for a model without nginx's integer rounding
        }
        assert.equal(picked, expected, `hash ${h} with ${entries.map((e) => e.percent).join(" ")}`);
        assert.equal(split.pickHash(0), "v0");
      }),
      params(),
    );
  });
});
