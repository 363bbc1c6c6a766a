// -V's `configure arguments:` line follows the module table, and the table tells the truth:
// a module it calls implemented has directives that take effect, one it calls missing has
// directives that are refused or warned about, never silently taken.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError } from "../../src/core/config/errors.ts";
import {
  configureArguments,
  PARTIAL_MODULES,
  STREAM_MODULE_BUILDS,
  STREAM_MODULES,
  type StreamModule,
  streamModules,
} from "../../src/core/config/schema/modules.ts";
import { type DirectiveRow, DIRECTIVES } from "../../src/core/config/schema/table.ts";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";

/**
 * Whether a reader of the line that follows nginx's configure conventions (as nginx's test
 * harness does) would count the module as built.
 */
function countsAsPresent(line: string, m: StreamModule): boolean {
  const args = line.split(" ");
  if (m.build === "optional") return args.includes(`--with-${m.name}`);
  return !args.includes(`--without-${m.name}`);
}

describe("configure arguments", () => {
  const line = configureArguments();

  test("say stream is built and http is not", () => {
    assert.deepEqual(line.split(" ").slice(0, 2), ["--with-stream", "--without-http"]);
  });

  for (const m of STREAM_MODULES) {
    test(`${m.name} counts as ${m.implemented ? "present" : "absent"}`, () => {
      assert.equal(countsAsPresent(line, m), m.implemented);
    });
  }

  test("name no module twice and nothing but stream switches", () => {
    const args = line.split(" ");
    assert.equal(new Set(args).size, args.length);
    for (const a of args.slice(2)) assert.match(a, /^--with(out)?-stream_\w+_module$/);
  });

  test("follow the table: flipping a module flips its switch", () => {
    const flipped = STREAM_MODULES.map((m) => (m.name === "stream_map_module" ? { ...m, implemented: false } : m));
    assert.ok(!line.includes("stream_map_module"), "map runs: nothing is said of it");
    assert.ok(configureArguments(flipped).includes("--without-stream_map_module"));
    const ssl = STREAM_MODULES.map((m) => (m.name === "stream_ssl_module" ? { ...m, implemented: true } : m));
    assert.ok(configureArguments(ssl).includes("--with-stream_ssl_module"));
  });
});

/** One directive of each module but core, proxy, upstream and log (which every config uses). */
const SAMPLES: Readonly<Record<string, { where: "server" | "upstream" | "stream"; text: string }>> = {
  stream_access_module: { where: "server", text: "allow 127.0.0.1;" },
  stream_upstream_hash_module: { where: "upstream", text: "hash $remote_addr consistent;" },
  stream_upstream_least_conn_module: { where: "upstream", text: "least_conn;" },
  stream_upstream_random_module: { where: "upstream", text: "random two;" },
  stream_limit_conn_module: { where: "stream", text: "limit_conn_zone $remote_addr zone=addr:1m;" },
  stream_geo_module: { where: "stream", text: "geo $g { default 0; }" },
  stream_map_module: { where: "stream", text: "map $remote_addr $m { default 0; }" },
  stream_split_clients_module: { where: "stream", text: 'split_clients "$remote_addr" $s { * a; }' },
  stream_return_module: { where: "server", text: "return x;" },
  stream_set_module: { where: "server", text: "set $x 1;" },
  stream_pass_module: { where: "server", text: "pass 127.0.0.1:2;" },
  stream_upstream_zone_module: { where: "upstream", text: "zone z 64k;" },
  stream_realip_module: { where: "server", text: "set_real_ip_from 127.0.0.1;" },
  stream_ssl_module: { where: "server", text: "ssl_certificate c.pem;" },
  stream_ssl_preread_module: { where: "server", text: "ssl_preread on;" },
  stream_geoip_module: { where: "stream", text: "geoip_country c.dat;" },
};

function configWith(sample: { where: string; text: string }): string {
  const at = (where: string) => (sample.where === where ? sample.text : "");
  return `events {}\nstream {\n${at("stream")}\nupstream u { server 127.0.0.1:2; ${
    at("upstream")
  } }\nserver { listen 127.0.0.1:1; proxy_pass u; ${at("server")} }\n}\n`;
}

/** "ok": read with no warning; "refused": an error or a warning that names the directive. */
function outcome(text: string, directive: string): "ok" | "refused" | string {
  try {
    const { warnings } = loadNginxConfig(text, "m.conf");
    if (warnings.length === 0) return "ok";
    return warnings.every((w) => w.message.includes(`"${directive}"`)) ? "refused" : warnings[0]!.message;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.message.includes(`"${directive}"`) ? "refused" : e.message;
  }
}

describe("the table matches what the reader does", () => {
  for (const [name, sample] of Object.entries(SAMPLES)) {
    const m = STREAM_MODULES.find((x) => x.name === name);
    test(`${name}: "${sample.text}" is ${m?.implemented ? "taken" : "not taken silently"}`, () => {
      assert.ok(m, `${name} is in the table`);
      assert.equal(outcome(configWith(sample), sample.text.split(" ")[0]!.replace(";", "")), m.implemented ? "ok" : "refused");
    });
  }
});

describe("-V's module line follows the directive table", () => {
  const withSupport = (module: string, support: DirectiveRow["support"]) =>
    DIRECTIVES.map((r) => (r.module === module ? { ...r, support } : r));
  const present = (table: readonly DirectiveRow[], name: string) =>
    countsAsPresent(configureArguments(streamModules(table)), streamModules(table).find((m) => m.name === name)!);

  test("every module configure knows has rows in the table, and every stream_*_module row names one it knows", () => {
    const known = new Set(STREAM_MODULE_BUILDS.map(([name]) => name));
    for (const name of known) assert.ok(DIRECTIVES.some((r) => r.module === name), `${name} has no rows`);
    const ngxStream = DIRECTIVES.filter((r) => /^stream_\w+_module$/.test(r.module) && !known.has(r.module));
    // NGINX Plus's and third-party modules are not configure's: they never reach the line.
    for (const r of ngxStream) assert.ok(!configureArguments().includes(r.module), `${r.name}: ${r.module}`);
  });

  for (const [name, build] of STREAM_MODULE_BUILDS) {
    test(`${name}: all its rows running makes it present, one refused row makes it absent (unless core or partial)`, () => {
      assert.equal(present(withSupport(name, "runs"), name), true);
      const oneRefused = withSupport(name, "runs");
      const i = oneRefused.findIndex((r) => r.module === name);
      oneRefused[i] = { ...oneRefused[i]!, support: "refused" };
      assert.equal(present(oneRefused, name), build === "core" || PARTIAL_MODULES.has(name));
      assert.equal(present(withSupport(name, { harmless: "x" }), name), build === "core");
    });
  }

  test("stream_ssl_module is there only on a runtime with TLS; the others do not depend on it", () => {
    const withTls = streamModules(DIRECTIVES, { tls: true });
    const without = streamModules(DIRECTIVES, { tls: false });
    assert.equal(withTls.find((m) => m.name === "stream_ssl_module")!.implemented, true);
    assert.equal(without.find((m) => m.name === "stream_ssl_module")!.implemented, false);
    assert.ok(!configureArguments(without).includes("stream_ssl_module"));
    for (const m of without) {
      if (m.name !== "stream_ssl_module") {
        assert.equal(
          m.implemented,
          withTls.find((x) => x.name === m.name)!.implemented,
        );
      }
    }
  });

  test("the line printed is the one the table gives", () => {
    assert.equal(configureArguments(), configureArguments(streamModules(DIRECTIVES)));
  });
});
