// set_real_ip_from NAME, as nginx reads it: the name is looked up once, at load, and every
// address it has becomes a trusted peer; a name with no address fails the load in nginx's
// words. The config keeps the name (writers give it back); the lookup replaces it before use.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { hasHostNames, lookUpHostNames } from "../../src/core/config/host-names.ts";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { loadYamlConfig } from "../../src/core/config/read-yaml/reader.ts";
import { writeNginxConfig } from "../../src/core/config/write/nginx.ts";
import { writeYamlConfig } from "../../src/core/config/write/yaml.ts";
import { realipPhase } from "../../src/core/phases/realip.ts";
import { lookupHost } from "../../src/runtime/host-lookup.ts";

const CONF = `events {}
stream {
    set_real_ip_from proxies.test;
    server { listen 1 proxy_protocol; return x; }
    server { listen 2 proxy_protocol; return x; set_real_ip_from 10.0.0.0/8; set_real_ip_from PROXIES.test; set_real_ip_from unix:; }
    server { listen 3; return x; }
}
`;
const HOSTS: Record<string, string[]> = { "proxies.test": ["192.0.2.7", "2001:db8::7", "192.0.2.7"] };

/** A system resolver with a fixed table, counting the questions it is asked. */
function fakeLookup() {
  const asked: string[] = [];
  const lookup = (host: string) => {
    asked.push(host);
    const a = HOSTS[host.toLowerCase()];
    return a ? Promise.resolve(a) : Promise.reject(new Error("ENOTFOUND"));
  };
  return { asked, lookup };
}

describe("set_real_ip_from with a host name", () => {
  test("every address of the name is trusted, in place of the name; other entries stay as written", async () => {
    const config = loadNginxConfig(CONF, "/a.conf").config;
    assert.ok(hasHostNames(config));
    const { asked, lookup } = fakeLookup();
    const looked = await lookUpHostNames(config, lookup);
    assert.deepEqual(looked.stream.servers.map((s) => s.realipFrom), [
      ["192.0.2.7", "2001:db8::7"],
      ["10.0.0.0/8", "192.0.2.7", "2001:db8::7", "unix:"],
      ["192.0.2.7", "2001:db8::7"],
    ]);
    assert.deepEqual(asked, ["proxies.test"], "one question per name and load, whatever its case");
    assert.equal(hasHostNames(looked), false);
    assert.ok(realipPhase(looked.stream.servers[1]!.realipFrom!), "the looked-up list compiles");
  });

  test("a name with no address fails the load in nginx's words; a runtime without a lookup refuses names", async () => {
    const config =
      loadNginxConfig(CONF.replace("set_real_ip_from proxies.test;", "set_real_ip_from nowhere.test;"), "/a.conf").config;
    await assert.rejects(lookUpHostNames(config, fakeLookup().lookup), {
      message: `host not found in set_real_ip_from "nowhere.test" in /a.conf:4`,
    });
    await assert.rejects(
      lookUpHostNames(config, undefined),
      /host names cannot be resolved on this runtime in set_real_ip_from "nowhere\.test"/,
    );
  });

  test("a config without names is handed back untouched, and no lookup is made", async () => {
    const config = loadNginxConfig(CONF.replace(/proxies\.test/gi, "127.0.0.1"), "/a.conf").config;
    const { asked, lookup } = fakeLookup();
    assert.equal(await lookUpHostNames(config, lookup), config);
    assert.deepEqual(asked, []);
  });

  test("fail closed: a name that reached the phase unresolved is refused, never matched or ignored", () => {
    assert.throws(() => realipPhase(["10.0.0.1", "proxies.test"]), /set_real_ip_from "proxies\.test" was not resolved at load/);
  });

  test("the name survives both writers and the YAML reader", () => {
    const config = loadNginxConfig(CONF, "/a.conf").config;
    assert.match(writeNginxConfig(config), /set_real_ip_from proxies\.test;/);
    const back = loadYamlConfig(writeYamlConfig(config), "b.yaml");
    assert.deepEqual(back.stream.servers.map((s) => s.realipFrom), config.stream.servers.map((s) => s.realipFrom));
  });

  test("the runtimes' lookup finds localhost's loopback address (getaddrinfo, /etc/hosts)", async () => {
    const addresses = await lookupHost("localhost");
    assert.ok(addresses.some((a) => a === "127.0.0.1" || a === "::1"), addresses.join(", "));
    await assert.rejects(lookupHost("no-such-host.invalid"));
  });
});
