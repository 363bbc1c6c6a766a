// Property tests of the nginx config reader: a generated stream config reads into the model it
// declares and `streamlb convert --to nginx` writes it back unchanged; the same config mutated, or any text,
// either reads or fails with a ConfigError naming the file and a line of it.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as fc from "fast-check";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { writeNginxConfig } from "../../src/core/config/write/nginx.ts";
import { comparable, nginxConfig } from "../support/config-gen.ts";
import { anyText, bounded, configish, FUZZ_TIMEOUT_MS, mutate, mutations, params, readOrConfigError } from "../support/fuzz.ts";

const FILE = "fuzz.conf";

/** The whole-config problems nginx reports without a line (it has read the file by then). */
const WITHOUT_LINE = [/^no "events" section in configuration$/, /^no "stream" section in configuration/];

const read = (text: string) => loadNginxConfig(text, FILE);
const attempt = (text: string) => readOrConfigError(text, FILE, read, WITHOUT_LINE);

describe("nginx config reader (property)", () => {
  test(
    "a generated config reads into what it declares, and writes back as nginx.conf unchanged",
    { timeout: FUZZ_TIMEOUT_MS },
    () => {
      fc.assert(
        fc.property(nginxConfig, (g) => {
          const { config } = bounded("reading a generated config", () => loadNginxConfig(g.text, FILE));
          const declared = [...config.stream.upstreams.values()].filter((u) => !u.implicit);
          assert.deepEqual(
            declared.map((u) => ({ name: u.name, addresses: u.servers.map((s) => s.address) })),
            g.upstreams.map((u) => ({ name: u.name, addresses: [...u.addresses] })),
          );
          assert.deepEqual(
            config.stream.servers.map((s) => ({ ports: s.listen.map((l) => l.port), proxyPass: s.proxyPass })),
            g.servers.map((s) => ({ ports: [...s.ports], proxyPass: s.proxyPass })),
          );
          const model = comparable(config);
          const asNginx = writeNginxConfig(config, FILE);
          assert.deepEqual(comparable(loadNginxConfig(asNginx, "out.conf").config), model, asNginx);
        }),
        params(),
      );
    },
  );

  test("a generated config mutated: read, or a ConfigError at a line of the file", { timeout: FUZZ_TIMEOUT_MS }, () => {
    fc.assert(
      fc.property(nginxConfig, mutations, (g, ms) => {
        attempt(mutate(g.text, ms));
      }),
      params(),
    );
  });

  test("any text: read, or a ConfigError at a line of the file", { timeout: FUZZ_TIMEOUT_MS }, () => {
    const prefix = fc.constantFrom("", "events {}\n", "events {}\nstream {\n", "events {}\nstream {\nupstream u {\n");
    fc.assert(
      fc.property(prefix, fc.oneof(anyText, configish), (head, text) => {
        attempt(head + text);
      }),
      params(),
    );
  });
});
