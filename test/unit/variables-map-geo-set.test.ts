import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Geo } from "../../src/core/variables/geo.ts";
import { VariableMap } from "../../src/core/variables/map.ts";
import { VariableRegistry } from "../../src/core/variables/registry.ts";
import { SessionVariables } from "../../src/core/variables/session-variables.ts";
import { SetPhase } from "../../src/core/variables/set.ts";
import { variableContext } from "../support/variable-context.ts";
import type { VariableContext } from "../../src/core/variables/context.ts";

const lines = (spec: string) =>
  spec.split(";").map((l) => l.trim()).filter(Boolean).map((l, i) => ({
    args: l.split(/\s+/),
    loc: { file: "t.conf", line: i + 1 },
  }));
const err = (f: () => unknown) => {
  try {
    f();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
};

/** A map over `$k` (assigned per lookup), returning $m for an input. */
function mapper(spec: string) {
  const r = new VariableRegistry();
  const k = r.declareSet("k");
  VariableMap.compile("$k", "$m", lines(spec), r);
  r.check();
  const m = r.resolve("m");
  return (input: string, s = new SessionVariables(r, variableContext())) => {
    s.assign(k, input);
    return s.get(m);
  };
}

describe("map", () => {
  test("exact keys are case-insensitive; empty key; default; \\default is a key", () => {
    const m = mapper("Foo 1; \\default d; default z");
    assert.equal(m("fOO"), "1");
    const r = new VariableRegistry();
    const k = r.declareSet("k");
    VariableMap.compile("$k", "$e", [{ args: ["", "empty"] }, { args: ["default", "z"] }], r);
    const s = new SessionVariables(r, variableContext());
    s.assign(k, "");
    assert.equal(s.get(r.resolve("e")), "empty", `the key "" matches an empty input`);
    assert.equal(m("default"), "d");
    assert.equal(m("other"), "z");
    assert.equal(mapper("a 1")("b"), "", "no default: empty");
  });

  test("precedence: exact, longest head wildcard, tail wildcard, regexes in order", () => {
    const m = mapper(
      "~^www 1r; hostnames; www.a.com exact; *.a.com head; *.b.a.com longer; .c.com dot; www.a.* tail; ~^w(.)w 2r",
    );
    assert.equal(m("WWW.A.COM."), "exact", "exact beats an earlier regex; one trailing dot dropped");
    assert.equal(m("x.a.com"), "head");
    assert.equal(m("x.y.b.a.com"), "longer");
    assert.equal(m("c.com"), "dot", ".c.com also matches c.com");
    assert.equal(m("a.com"), "", "*.a.com does not match a.com");
    assert.equal(m("www.a.co.uk"), "tail");
    assert.equal(m("wwwx"), "1r", "regexes in config order");
  });

  test("regex captures feed the value and stay session-global; named captures become variables", () => {
    const r = new VariableRegistry();
    const k = r.declareSet("k");
    VariableMap.compile("$k", "$m", lines("~*^(?<host>[a-z]+)\\.(\\w+)$ $2-$host; default none"), r);
    r.check();
    const s = new SessionVariables(r, variableContext());
    s.assign(k, "Web.Test");
    assert.equal(s.get(r.resolve("m")), "Test-Web");
    assert.equal(s.captures?.[1], "Web");
    assert.equal(s.get(r.resolve("host")), "Web");
  });

  test("a non-volatile map caches its first value; volatile recomputes", () => {
    let now = 1_000_000;
    const ctx: VariableContext = variableContext({ now: () => now });
    const r = new VariableRegistry();
    VariableMap.compile("$session_time", "$m", lines("default m:$session_time"), r);
    VariableMap.compile("$session_time", "$v", lines("volatile; default $session_time"), r);
    const s = new SessionVariables(r, ctx);
    assert.equal(s.get(r.resolve("m")), "m:0.000");
    now += 1201;
    assert.equal(s.get(r.resolve("m")), "m:0.000");
    assert.equal(s.get(r.resolve("v")), "1.201");
  });

  test("nginx's config errors (words of Debian's nginx 1.22)", () => {
    const r = new VariableRegistry();
    const c = (spec: string, out = "$m") => err(() => VariableMap.compile("$remote_addr", out, lines(spec), r));
    assert.equal(c("default 1; default 2"), "duplicate default map parameter");
    assert.equal(c("a 1; A 2"), `conflicting parameter "A"`);
    assert.equal(c("a 1 2"), "invalid number of the map parameters");
    assert.equal(c("hostnames; *.a.*.com 1"), `invalid hostname or wildcard "*.a.*.com"`);
    assert.equal(c("hostnames; .a.com 1; *.a.com 2"), `conflicting parameter "*.a.com"`);
    assert.equal(c("*.a.*.com 1"), null, "without hostnames a wildcard is a plain key");
    assert.match(c("~(a 1")!, /^pcre2_compile\(\) failed: .* in "\(a"$/);
    assert.equal(c("a ${b"), `the closing bracket in "b" variable is missing`);
    assert.equal(c("default 1", "m"), `invalid variable name "m"`);
    assert.equal(c("default 1", "$remote_port"), `the duplicate "remote_port" variable`);
    assert.equal(c("default 1"), null, "a second map of one name: the last wins, silently");
  });
});

describe("geo", () => {
  const geo = (spec: string, args = ["$g"]) => {
    const r = new VariableRegistry();
    return { geo: Geo.compile(args, lines(spec), r), r };
  };

  test("CIDR: longest prefix wins, IPv6, v4-mapped clients, default, unparsable as 255.255.255.255", () => {
    const { geo: g } = geo("default d; 10.0.0.0/8 a; 10.1.0.0/16 b; 10.1.2.3 c; ::1 six; 2001:db8::/32 net6; 255.255.255.255 bc");
    assert.equal(g.lookup("10.9.9.9"), "a");
    assert.equal(g.lookup("10.1.9.9"), "b");
    assert.equal(g.lookup("10.1.2.3"), "c");
    assert.equal(g.lookup("::ffff:10.1.2.3"), "c");
    assert.equal(g.lookup("11.0.0.1"), "d");
    assert.equal(g.lookup("::1"), "six");
    assert.equal(g.lookup("2001:db8:1::5"), "net6");
    assert.equal(g.lookup("::2"), "d");
    assert.equal(g.lookup("unix:"), "bc");
    assert.equal(geo("10.0.0.0/8 a").geo.lookup("11.0.0.1"), "", "no default: empty");
  });

  test("source variable, delete, and nginx's warnings", () => {
    const r = new VariableRegistry();
    const g = Geo.compile(
      ["$k", "$g"],
      lines("10.0.0.0/8 a; 10.0.0.0/8 b; 10.0.0.1/8 c; delete 10.0.0.0/8; delete 10.0.0.0/9; 9.0.0.0/8 n"),
      r,
    );
    r.declareSet("k");
    r.check();
    assert.deepEqual(g.warnings.map((w) => w.message), [
      `duplicate network "10.0.0.0/8", value: "b", old value: "a"`,
      `low address bits of 10.0.0.1/8 are meaningless`,
      `duplicate network "10.0.0.1/8", value: "c", old value: "b"`,
      `no network "10.0.0.0/9" to delete`,
    ]);
    const s = new SessionVariables(r, variableContext());
    s.assign(r.resolve("k"), "9.1.1.1");
    assert.equal(s.get(r.resolve("g")), "n");
    assert.equal(g.lookup("10.0.0.1"), "", "deleted");
  });

  test("ranges: lookup, nested ranges split, exact duplicates replace, overlaps fail", () => {
    const { geo: g } = geo(
      "ranges; default d; 10.0.0.0-10.0.0.255 a; 10.0.0.10-10.0.0.20 b; 10.0.0.10-10.0.0.20 c; 10.0.1.0-10.0.1.9 x; delete 10.0.1.0-10.0.1.9",
    );
    assert.equal(g.lookup("10.0.0.9"), "a");
    assert.equal(g.lookup("10.0.0.15"), "c");
    assert.equal(g.lookup("10.0.0.21"), "a");
    assert.equal(g.lookup("10.0.1.5"), "d");
    assert.equal(g.lookup("::1"), "d", "ranges are IPv4 only");
    assert.deepEqual(g.warnings.map((w) => w.message), [`duplicate range "10.0.0.10-10.0.0.20", value: "c", old value: "b"`]);
  });

  test("nginx's config errors", () => {
    const c = (spec: string, args = ["$g"]) => err(() => geo(spec, args));
    assert.equal(c("default a; ranges"), `the "ranges" directive must be the first directive inside "geo" block`);
    assert.equal(
      c("ranges; 10.0.0.0-10.0.0.10 a; 10.0.0.5-10.0.0.20 b"),
      `range "10.0.0.5-10.0.0.20" overlaps "10.0.0.0-10.0.0.10"`,
    );
    assert.equal(c("ranges; 10.0.0.1 a"), `invalid range "10.0.0.1"`);
    assert.equal(c("ranges; 10.0.0.10-10.0.0.1 a"), `invalid range "10.0.0.10-10.0.0.1"`);
    assert.equal(c("10.0.0.300/8 a"), `invalid network "10.0.0.300/8"`);
    assert.equal(c("proxy 10.0.0.1"), `invalid network "proxy"`, "stream geo has no proxy");
    assert.equal(c("a b c"), "invalid number of the geo parameters");
    assert.equal(c("default a", ["g"]), `invalid variable name "g"`);
    assert.equal(c("default a", ["$remote_addr"]), `the duplicate "remote_addr" variable`);
    assert.equal(c("default a", ["$a", "$b", "$c"]), `invalid number of arguments in "geo" directive`);
  });

  test("100k networks and 100k ranges load and look up (figures printed)", () => {
    const net = (i: number) => `${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0`;
    const cidr = Array.from({ length: 100_000 }, (_, i) => ({ args: [`${net(i)}/24`, `v${i}`] }));
    let t = performance.now();
    const g = Geo.compile(["$g"], cidr, new VariableRegistry());
    const cidrMs = performance.now() - t;
    const ranges = [
      { args: ["ranges"] },
      ...Array.from({ length: 100_000 }, (_, i) => ({ args: [`${net(i)}-${net(i).replace(/0$/, "99")}`, `r${i}`] })),
    ];
    t = performance.now();
    const gr = Geo.compile(["$g"], ranges, new VariableRegistry());
    const rangeMs = performance.now() - t;
    t = performance.now();
    for (let i = 0; i < 100_000; i += 1) {
      assert.equal(g.lookup(net(i).replace(/0$/, "7")), `v${i}`);
    }
    const lookupMs = performance.now() - t;
    assert.equal(gr.lookup(net(99_999).replace(/0$/, "50")), "r99999");
    assert.equal(gr.lookup(net(99_999).replace(/0$/, "100")), "");
    console.log(
      `geo 100k: cidr load ${cidrMs.toFixed(0)} ms, ranges load ${rangeMs.toFixed(0)} ms, 100k cidr lookups ${
        lookupMs.toFixed(0)
      } ms`,
    );
  });
});

describe("set", () => {
  test("assigns in config order, overrides a map within its server, refuses built-ins", () => {
    const r = new VariableRegistry();
    VariableMap.compile("$remote_addr", "$m", lines("default from-map"), r);
    const phase = new SetPhase();
    phase.add(["$a", "x-$remote_port"], r);
    phase.add(["$b", "$a-y"], r);
    phase.add(["$m", "set-$b"], r);
    r.check();
    const s = new SessionVariables(r, variableContext());
    phase.run(s);
    assert.equal(s.get(r.resolve("b")), "x-5555-y");
    assert.equal(s.get(r.resolve("m")), "set-x-5555-y");
    const other = new SessionVariables(r, variableContext());
    assert.equal(other.get(r.resolve("m")), "from-map", "a server without the set reads the map");
    assert.equal(other.get(r.resolve("a")), "", "never set: empty, found");
  });

  test("set of a no-cacheable variable sticks (set $k $bytes_sent reads the early value)", () => {
    let sent = 0;
    const r = new VariableRegistry();
    const phase = new SetPhase();
    phase.add(["$k", "$bytes_sent"], r);
    const s = new SessionVariables(r, variableContext({ bytesSent: () => sent }));
    phase.run(s);
    sent = 6;
    assert.equal(s.get(r.resolve("k")), "0");
    assert.equal(s.get(r.resolve("bytes_sent")), "0");
  });

  test("nginx's errors", () => {
    const r = new VariableRegistry();
    const c = (args: string[]) => err(() => new SetPhase().add(args, r, { file: "t.conf", line: 3 }));
    assert.equal(c(["$a"]), `invalid number of arguments in "set" directive`);
    assert.equal(c(["x", "1"]), `invalid variable name "x"`);
    assert.equal(c(["$", "1"]), `invalid variable name "$"`);
    assert.equal(c(["$remote_addr", "1"]), `the duplicate "remote_addr" variable`);
    assert.equal(c(["$a", "${"]), "invalid variable name");
  });
});
