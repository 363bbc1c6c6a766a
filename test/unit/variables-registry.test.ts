import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ComplexValue, splitVariables } from "../../src/core/variables/complex-value.ts";
import { VariableRegistry } from "../../src/core/variables/registry.ts";
import { SessionVariables } from "../../src/core/variables/session-variables.ts";
import { variableContext } from "../support/variable-context.ts";

const err = (f: () => unknown) => {
  try {
    f();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
};

describe("variables: registry and session slots", () => {
  test("unknown names fail at check() with nginx's text; names are case-insensitive", () => {
    const r = new VariableRegistry();
    assert.equal(r.index("Remote_Addr"), r.index("remote_addr"));
    r.index("foo");
    assert.equal(err(() => r.check()), `unknown "foo" variable`);
    r.define("foo", "map", true, () => "x");
    assert.equal(err(() => r.check()), null, "a later map may define a name used earlier");
    assert.equal(err(() => r.resolve("nope")), `unknown "nope" variable`);
  });

  test("built-ins cannot be redefined; a name matching only a prefix variable can", () => {
    const r = new VariableRegistry();
    assert.equal(err(() => r.define("remote_port", "map", true, () => "")), `the duplicate "remote_port" variable`);
    assert.equal(err(() => r.declareSet("Remote_Addr")), `the duplicate "remote_addr" variable`);
    const i = r.declareSet("proxy_protocol_tlv_x");
    const s = new SessionVariables(r, variableContext());
    assert.equal(s.get(i), "", "a set variable never set reads empty, not not-found");
  });

  test("catalogue values", () => {
    const r = new VariableRegistry({ hostname: "h1", pid: 42, nginxVersion: "1.31.5" });
    const ctx = variableContext({
      remoteAddress: "::ffff:10.0.0.9",
      status: () => 502,
      upstreamTries: () => [
        { addr: "127.0.0.1:1", bytesSent: 0, bytesReceived: 0, connectMs: -1, firstByteMs: -1, sessionMs: 3 },
        { addr: "127.0.0.1:2", bytesSent: 5, bytesReceived: 7, connectMs: 1, firstByteMs: 1234, sessionMs: 2001 },
      ],
      proxyProtocol: { srcAddr: "1.2.3.4", srcPort: 1111, dstAddr: "5.6.7.8", dstPort: 0, tlvs: null },
      realip: { addr: "127.0.0.1", port: 9 },
      preread: { serverName: "Mixed.Example.COM", alpnProtocols: "h2,http/1.1", protocol: "TLSv1.3" },
    });
    const s = new SessionVariables(r, ctx);
    const v = (name: string) => s.get(r.resolve(name));
    assert.equal(v("remote_addr"), "10.0.0.9");
    assert.equal(v("binary_remote_addr"), "\x0a\x00\x00\x09");
    assert.equal(v("remote_port"), "5555");
    assert.equal(v("status"), "502");
    assert.equal(v("session_time"), "1.250");
    assert.equal(v("msec"), "1001.250");
    assert.equal(v("connection"), "7");
    assert.equal(v("hostname"), "h1");
    assert.equal(v("pid"), "42");
    assert.equal(v("protocol"), "TCP");
    assert.equal(v("upstream_addr"), "127.0.0.1:1, 127.0.0.1:2");
    assert.equal(v("upstream_connect_time"), "-, 0.001");
    assert.equal(v("upstream_first_byte_time"), "-, 1.234");
    assert.equal(v("upstream_bytes_received"), "0, 7");
    assert.equal(v("proxy_protocol_addr"), "1.2.3.4");
    assert.equal(v("proxy_protocol_server_port"), "", "port 0 is empty");
    assert.equal(v("realip_remote_addr"), "127.0.0.1");
    assert.equal(v("ssl_preread_server_name"), "Mixed.Example.COM");
    assert.equal(v("ssl_protocol"), null, "plain TCP: not found");
    assert.equal(v("limit_conn_status"), null);
    assert.match(v("time_iso8601")!, /^19(69-12-31|70-01-01)T\d\d:\d\d:41[+-]\d\d:\d\d$/);
  });

  test("before a status and any try: 000 and not found", () => {
    const r = new VariableRegistry();
    const s = new SessionVariables(r, variableContext({ remoteAddress: "unix:", remotePort: 0 }));
    assert.equal(s.get(r.resolve("status")), "000");
    assert.equal(s.get(r.resolve("upstream_addr")), null);
    assert.equal(s.get(r.resolve("binary_remote_addr")), "unix:");
    assert.equal(s.get(r.resolve("remote_port")), "");
    assert.equal(s.get(r.resolve("proxy_protocol_addr")), null);
  });

  test("cacheable values (and not-found) stay; no-cacheable ones are recomputed", () => {
    let sent = 0;
    let now = 1_000_000;
    const r = new VariableRegistry();
    const s = new SessionVariables(r, variableContext({ bytesSent: () => sent, now: () => now, preread: null }));
    const bytes = r.resolve("bytes_sent");
    const time = r.resolve("session_time");
    const sni = r.resolve("ssl_preread_server_name");
    assert.equal(s.get(bytes), "0");
    assert.equal(s.get(sni), null);
    sent = 6;
    now += 1201;
    assert.equal(s.get(bytes), "0", "as nginx: $bytes_sent read early stays 0");
    assert.equal(s.get(time), "1.201");
    now += 1000;
    assert.equal(s.get(time), "2.201");
  });

  test("nothing is allocated until a variable is read", () => {
    const r = new VariableRegistry();
    r.resolve("remote_addr");
    const s = new SessionVariables(r, variableContext());
    assert.equal((s as unknown as { slots: unknown }).slots, undefined);
    s.get(0);
    assert.ok(Array.isArray((s as unknown as { slots: unknown }).slots));
  });

  test("PROXY TLVs: by name and hex, inside the SSL TLV, unknown names and broken areas", () => {
    const tlv = (type: number, value: number[]) => [type, value.length >> 8, value.length & 255, ...value];
    const ssl = tlv(0x20, [0x01, 0, 0, 0, 3, ...tlv(0x21, [...Buffer.from("TLSv1.3")])]);
    const area = new Uint8Array([...tlv(0x01, [...Buffer.from("h2")]), ...tlv(0x02, [...Buffer.from("a.test")]), ...ssl]);
    const r = new VariableRegistry();
    const ctx = variableContext({
      proxyProtocol: { srcAddr: "1.1.1.1", srcPort: 1, dstAddr: "2.2.2.2", dstPort: 2, tlvs: area },
    });
    const s = new SessionVariables(r, ctx);
    const v = (n: string) => s.get(r.resolve(`proxy_protocol_tlv_${n}`));
    assert.equal(v("alpn"), "h2");
    assert.equal(v("0x2"), "a.test");
    // ngx_hextoi reads every hex digit: leading zeros name the same type; past a byte, none.
    assert.equal(v("0x0002"), "a.test");
    assert.equal(v("0x102"), null);
    assert.equal(v("ssl_version"), "TLSv1.3");
    assert.equal(v("ssl_verify"), "3");
    assert.equal(v("unique_id"), null);
    assert.equal(v("foo"), "");
    assert.deepEqual(ctx.errors, [`unknown PROXY protocol TLV "foo"`]);
    const broken = variableContext({
      proxyProtocol: { srcAddr: null, srcPort: 0, dstAddr: null, dstPort: 0, tlvs: new Uint8Array([1, 0, 9, 1]) },
    });
    assert.equal(new SessionVariables(r, broken).get(r.resolve("proxy_protocol_tlv_alpn")), "");
    assert.deepEqual(broken.errors, ["broken PROXY protocol TLV"]);
    const none = variableContext();
    assert.equal(new SessionVariables(r, none).get(r.resolve("proxy_protocol_tlv_foo")), null);
    assert.deepEqual(none.errors, [], "no header: not found, nothing logged");
  });
});

describe("variables: complex values", () => {
  test("nginx's syntax: $name, ${name}, one-digit captures", () => {
    assert.deepEqual(splitVariables("a$b_1-${c}d$10"), [
      { text: "a" },
      { name: "b_1" },
      { text: "-" },
      { name: "c" },
      { text: "d" },
      { capture: 1 },
      { text: "0" },
    ]);
    assert.deepEqual(splitVariables("$10", { captures: false }), [{ name: "10" }]);
  });

  test("nginx's errors (as Debian's nginx 1.22 words them)", () => {
    assert.equal(err(() => splitVariables("a$")), "invalid variable name");
    assert.equal(err(() => splitVariables("a${")), "invalid variable name");
    assert.equal(err(() => splitVariables("a${}")), "invalid variable name");
    assert.equal(err(() => splitVariables("a$-")), "invalid variable name");
    assert.equal(err(() => splitVariables("a${ab-")), `the closing bracket in "ab" variable is missing`);
    assert.equal(err(() => splitVariables("a${-")), `the closing bracket in "" variable is missing`);
  });

  test("evaluation: variables, not found as empty, captures, constants", () => {
    const r = new VariableRegistry();
    const cv = ComplexValue.compile("${remote_addr}x:$remote_port $ssl_protocol|$2", r);
    const s = new SessionVariables(r, variableContext());
    assert.equal(cv.evaluate(s), "10.1.2.3x:5555 |");
    s.captures = ["all", "one", "two"];
    assert.equal(cv.evaluate(s), "10.1.2.3x:5555 |two");
    assert.equal(ComplexValue.compile("plain", r).constant, "plain");
    assert.equal(cv.constant, null);
  });
});
