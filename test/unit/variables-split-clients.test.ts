import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { murmurHash2, SplitClients, type SplitEntry } from "../../src/core/variables/split-clients.ts";
import { VariableRegistry } from "../../src/core/variables/registry.ts";
import { SessionVariables } from "../../src/core/variables/session-variables.ts";
import { variableContext } from "../support/variable-context.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const entries = (spec: string): SplitEntry[] =>
  spec.split(";").map((l) => l.trim()).filter(Boolean).map((l) => {
    const [percent, value = ""] = l.split(/\s+/);
    return { percent: percent!, value };
  });

/**
 * Recorded from Debian's nginx 1.22.1 by test/support/record-split-clients.sh:
 * key, then `split_clients "$k" {10% a; 20.5% b; 0.01% tiny; * c;}`, then
 * `split_clients "x${k}y" {50% x; 25% y; 12.34% z;}` ("" = no part took the hash).
 */
const NGINX_PICKS: ReadonlyArray<readonly [string, string, string]> = [
  ["key-2-37656", "c", "x"],
  ["key-3-37664", "c", "y"],
  ["key-4-37678", "c", "y"],
  ["key-5-37694", "a", "x"],
  ["key-6-37696", "c", "x"],
  ["key-7-37704", "c", "y"],
  ["key-8-37716", "c", "x"],
  ["key-9-37728", "c", "x"],
  ["key-10-37732", "c", "x"],
  ["key-11-37736", "c", "z"],
  ["key-12-37738", "c", "x"],
  ["key-13-37746", "c", "x"],
  ["key-14-37756", "c", "x"],
  ["key-15-37758", "c", "y"],
  ["key-16-37766", "c", "z"],
  ["key-17-37778", "c", "x"],
  ["key-18-37780", "c", "y"],
  ["key-19-37788", "c", "y"],
  ["key-20-37804", "c", "y"],
  ["key-21-37816", "c", "y"],
  ["key-22-37820", "b", "y"],
  ["key-23-37830", "c", "x"],
  ["key-24-37832", "c", "x"],
  ["key-25-37840", "a", "z"],
  ["key-26-37852", "c", "y"],
  ["key-27-37864", "c", "x"],
  ["key-28-37872", "b", ""],
  ["key-29-37878", "c", "z"],
  ["key-30-37880", "c", "x"],
  ["key-31-37886", "c", "y"],
  ["key-32-37892", "c", "z"],
  ["key-33-37896", "c", "x"],
  ["key-34-37904", "c", "y"],
  ["key-35-37912", "a", ""],
  ["key-36-37922", "c", "y"],
  ["key-37-37928", "c", "x"],
  ["key-38-37930", "c", "y"],
  ["key-39-37934", "c", "x"],
  ["key-40-37946", "c", "z"],
  ["key-41-37952", "c", "y"],
  ["key-42-37962", "c", "x"],
  ["key-43-37976", "c", "y"],
  ["key-44-37986", "c", ""],
  ["key-45-38002", "c", "y"],
  ["key-46-38006", "b", ""],
  ["key-47-38016", "c", ""],
  ["key-48-38018", "c", "x"],
  ["key-49-38020", "c", "x"],
  ["key-50-38026", "c", "x"],
  ["key-51-38038", "b", ""],
  ["key-52-38040", "a", "y"],
  ["key-53-38042", "a", "x"],
  ["key-54-38050", "c", "y"],
  ["key-55-38056", "b", "z"],
  ["key-56-38066", "c", "z"],
  ["key-57-38080", "c", ""],
  ["key-58-38084", "c", "x"],
  ["key-59-38086", "b", "z"],
  ["key-60-38088", "b", ""],
  ["key-61-38098", "c", ""],
  ["key-62-38110", "c", ""],
  ["key-63-38116", "a", "z"],
  ["key-64-38118", "a", "x"],
  ["key-65-38128", "c", ""],
  ["key-66-38136", "c", "x"],
  ["key-67-38144", "b", "x"],
  ["key-68-38154", "c", "x"],
  ["key-69-38170", "c", ""],
  ["key-70-38172", "b", "y"],
  ["key-71-38188", "c", "y"],
  ["key-72-38204", "b", "y"],
  ["key-73-38216", "b", "x"],
  ["key-74-38230", "a", "x"],
  ["key-75-38232", "c", "y"],
  ["key-76-38236", "c", "z"],
  ["key-77-38248", "c", "x"],
  ["key-78-38250", "b", ""],
  ["key-79-38258", "b", "x"],
  ["key-80-38270", "c", ""],
  ["key-81-38274", "b", ""],
];

describe("split_clients", () => {
  test("MurmurHash2 check values (seed 0) and every tail length", () => {
    assert.equal(murmurHash2(enc("")), 0);
    assert.equal(murmurHash2(enc("abc")), 0x13577c9b);
    const seen = new Set(["a", "ab", "abc", "abcd", "abcde"].map((s) => murmurHash2(enc(s))));
    assert.equal(seen.size, 5, "each tail length hashes differently");
    for (const h of seen) assert.ok(h >= 0 && h <= 0xffffffff && Number.isInteger(h));
  });

  test("picks are bit-identical to nginx's on recorded keys", () => {
    const r = new VariableRegistry();
    r.declareSet("k");
    const a = SplitClients.compile("$k", entries("10% a; 20.5% b; 0.01% tiny; * c"), r);
    const b = SplitClients.compile("x${k}y", entries("50% x; 25% y; 12.34% z"), r);
    assert.ok(NGINX_PICKS.length >= 60);
    for (const [key, va, vb] of NGINX_PICKS) {
      assert.equal(a.pick(key), va, `$a for ${key}`);
      assert.equal(b.pick(`x${key}y`), vb, `$b for ${key}`);
    }
    const values = new Set(NGINX_PICKS.flatMap(([, va, vb]) => [va, vb]));
    for (const v of ["a", "b", "c", "x", "y", "z", ""]) assert.ok(values.has(v), `fixtures cover "${v}"`);
  });

  test("the variable evaluates its complex value per session and is cached", () => {
    const r = new VariableRegistry();
    const k = r.declareSet("k");
    const split = SplitClients.compile("$k", entries("10% a; 20.5% b; * c"), r);
    const v = split.define("v", r);
    r.check();
    for (const [key, va] of NGINX_PICKS.slice(0, 10).filter(([, va]) => va !== "tiny")) {
      const s = new SessionVariables(r, variableContext());
      s.assign(k, key);
      assert.equal(s.get(v), va);
      s.assign(k, "something else");
      assert.equal(s.get(v), va, "cacheable: the first value stays");
    }
  });

  test("thresholds: hundredths, cumulative, with nginx's 64-bit division", () => {
    const r = new VariableRegistry();
    const s = SplitClients.compile("x", entries("50% x; 25% y"), r);
    const half = Number((5000n * 0xffffffffn) / 10000n);
    assert.equal(s.pickHash(half - 1), "x");
    assert.equal(s.pickHash(half), "y");
    assert.equal(s.pickHash(half + Number((2500n * 0xffffffffn) / 10000n)), "", "past 75%: no value");
  });

  test("the line reaching exactly 100% takes every hash left (nginx 1.31.2), like *", () => {
    const r = new VariableRegistry();
    const s = SplitClients.compile("x", entries("33.33% a; 66.67% b"), r);
    assert.equal(s.pickHash(0xffffffff), "b");
    const star = SplitClients.compile("x", entries("50% a; * b"), r);
    assert.equal(star.pickHash(0xffffffff), "b");
  });

  test("nginx's config errors", () => {
    const r = new VariableRegistry();
    const err = (spec: string) => {
      try {
        SplitClients.compile("x", entries(spec), r);
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    };
    assert.equal(err("0% a"), `invalid percent value "0%"`);
    assert.equal(err("10 a"), `invalid percent value "10"`);
    assert.equal(err("10.123% a"), `invalid percent value "10.123%"`);
    assert.equal(err("abc% a"), `invalid percent value "abc%"`);
    assert.equal(err("60% a; 50% b"), "percent total is greater than 100%");
    assert.equal(err("* a; 1% b"), "percent total is greater than 100%");
    assert.equal(err("99.99% a; 0.01% b"), null);
  });
});
