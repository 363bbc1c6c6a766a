// allow/deny (nginx's stream access module): parsing as ngx_ptocidr does, matching per
// address family in config order, inheritance from stream{} in both config spellings.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { loadYamlConfig } from "../../src/core/config/read-yaml/reader.ts";
import { writeNginxConfig } from "../../src/core/config/write/nginx.ts";
import { writeYamlConfig } from "../../src/core/config/write/yaml.ts";
import type { AccessRuleConfig } from "../../src/core/config/model.ts";
import { AccessRules, parseAccessRule } from "../../src/core/phases/access.ts";
import { parseIPv6 } from "../../src/core/variables/ip.ts";

const loc = { file: "t", line: 1, col: 1 };
const rules = (...lines: string[]): AccessRules =>
  AccessRules.compile(
    lines.map((l): AccessRuleConfig => {
      const [action, address] = l.split(" ") as ["allow" | "deny", string];
      return { action, address, loc };
    }),
  )!;

describe("access: parsing rules", () => {
  test("addresses, CIDRs, all and unix:", () => {
    for (
      const ok of [
        "all",
        "unix:",
        "10.0.0.1",
        "10.0.0.0/8",
        "0.0.0.0/0",
        "::1",
        "2001:db8::/32",
        "::/0",
        "::ffff:127.0.0.1",
        "fe80::1:2:3:4:5/128",
      ]
    ) {
      assert.equal(parseAccessRule(ok).ok, true, ok);
    }
    for (
      const bad of [
        "10.0.0.300",
        "10.0.0.1/33",
        "::1/129",
        "localhost",
        "10.0.0",
        "1::2::3",
        "10.0.0.1/",
        "unix:/tmp/x",
        "",
        "10.0.0.1/-1",
      ]
    ) {
      assert.equal(parseAccessRule(bad).ok, false, bad);
    }
  });

  test("host bits past the prefix are cleared and reported, as nginx warns of them", () => {
    const r = parseAccessRule("10.1.2.3/8");
    assert.ok(r.ok && r.lowBits && r.match.kind === "ipv4" && r.match.addr === 10 * 2 ** 24);
    const clean = parseAccessRule("10.0.0.0/8");
    assert.ok(clean.ok && !clean.lowBits);
    const v6 = parseAccessRule("2001:db8::1/32");
    assert.ok(v6.ok && v6.lowBits);
  });

  test("IPv6 text forms", () => {
    // The parser access shares with geo and $binary_remote_addr (variables/ip.ts): 128-bit numbers.
    assert.equal(parseIPv6("::ffff:1.2.3.4"), 0xffff_0102_0304n);
    assert.equal(parseIPv6("1:2:3:4:5:6:7:8"), 0x0001_0002_0003_0004_0005_0006_0007_0008n);
    assert.equal(parseIPv6("::"), 0n);
    assert.equal(parseIPv6("1:2:3:4:5:6:7:8:9"), null);
    assert.equal(parseIPv6("12345::"), null);
  });
});

describe("access: matching", () => {
  test("first match wins, in config order; no match allows", () => {
    const r = rules("allow 127.0.0.2", "deny 127.0.0.0/8", "allow 127.0.0.3");
    assert.equal(r.allows("127.0.0.2"), true);
    assert.equal(r.allows("127.0.0.3"), false, "the deny comes first");
    assert.equal(r.allows("10.0.0.1"), true, "nothing matched");
  });

  test("deny all denies every family", () => {
    const r = rules("deny all");
    for (const a of ["127.0.0.1", "::1", "::ffff:127.0.0.1", ""]) assert.equal(r.allows(a), false, a);
  });

  test("IPv6 rules match IPv6 clients only, by prefix", () => {
    const r = rules("allow 2001:db8::/32", "deny ::/0");
    assert.equal(r.allows("2001:db8:1::5"), true);
    assert.equal(r.allows("2001:db9::5"), false);
    assert.equal(r.allows("10.0.0.1"), true, "no IPv4 rule");
  });

  test("a v4-mapped client meets the IPv4 rules when there are any, else the IPv6 ones", () => {
    const v4 = rules("allow 127.0.0.2", "deny all");
    assert.equal(v4.allows("::ffff:127.0.0.2"), true);
    assert.equal(v4.allows("::ffff:127.0.0.1"), false);
    const v6only = rules("deny ::ffff:0:0/96");
    assert.equal(v6only.allows("::ffff:127.0.0.1"), false);
    assert.equal(v6only.allows("127.0.0.1"), true, "a plain IPv4 client meets no IPv6 rule");
  });

  test("unix: matches unix-socket clients only", () => {
    const r = rules("deny unix:");
    assert.equal(r.allows(""), false);
    assert.equal(r.allows("127.0.0.1"), true);
  });

  test("no rules compile to nothing: the phase costs nothing", () => {
    assert.equal(AccessRules.compile([]), null);
  });
});

describe("access: in the config", () => {
  const nginx = (body: string) => loadNginxConfig(`events {}\nstream {\n${body}\n}\n`, "/t.conf");

  test("a server with rules of its own does not inherit stream{}'s; one without does", () => {
    const { config } = nginx(`deny 10.0.0.0/8;
server { listen 1; proxy_pass 127.0.0.1:9; }
server { listen 2; proxy_pass 127.0.0.1:9; allow 127.0.0.2; deny all; }`);
    const [a, b] = config.stream.servers;
    assert.deepEqual(a!.access.map((r) => `${r.action} ${r.address}`), ["deny 10.0.0.0/8"]);
    assert.deepEqual(b!.access.map((r) => `${r.action} ${r.address}`), ["allow 127.0.0.2", "deny all"]);
  });

  test("nginx's messages: a bad address, and meaningless low bits", () => {
    assert.throws(() => nginx(`server { listen 1; proxy_pass 127.0.0.1:9;\ndeny 10.0.0.300; }`), {
      message: `invalid parameter "10.0.0.300" in /t.conf:4`,
    });
    const { warnings } = nginx(`allow 10.1.2.3/8;`);
    assert.deepEqual(warnings.map((w) => w.message), ["low address bits of 10.1.2.3/8 are meaningless"]);
  });

  test("YAML: access lists in stream and servers, the same inheritance", () => {
    const config = loadYamlConfig(
      `stream:
  access: [{ deny: 10.0.0.0/8 }]
  servers:
    - { listen: 1, proxy_pass: "127.0.0.1:9" }
    - listen: 2
      proxy_pass: "127.0.0.1:9"
      access:
        - allow: 127.0.0.2
        - deny: all
`,
      "t.yaml",
    );
    const [a, b] = config.stream.servers;
    assert.deepEqual(a!.access.map((r) => `${r.action} ${r.address}`), ["deny 10.0.0.0/8"]);
    assert.deepEqual(b!.access.map((r) => `${r.action} ${r.address}`), ["allow 127.0.0.2", "deny all"]);
    assert.throws(
      () => loadYamlConfig(`stream:\n  access: [{ allow: nowhere }]\n`, "t.yaml"),
      /invalid allow "nowhere".*t\.yaml:2/,
    );
    assert.throws(() => loadYamlConfig(`stream:\n  access: [{ permit: all }]\n`, "t.yaml"), /unknown key "permit"/);
  });

  test("both writers keep the rules and their order, so convert runs the same", () => {
    const { config } = nginx(`server { listen 2; proxy_pass 127.0.0.1:9; allow 127.0.0.2; deny ::1; deny all; }`);
    const viaYaml = loadYamlConfig(writeYamlConfig(config), "c.yaml");
    const viaNginx = loadNginxConfig(writeNginxConfig(viaYaml), "/c.conf").config;
    for (const c of [viaYaml, viaNginx]) {
      assert.deepEqual(c.stream.servers[0]!.access.map((r) => `${r.action} ${r.address}`), [
        "allow 127.0.0.2",
        "deny ::1",
        "deny all",
      ]);
    }
  });
});
