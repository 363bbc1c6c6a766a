// Property tests of the upstream state file: a server list written as the admin API writes it
// reads back equal; the file mutated, or any text, either reads or fails with a ConfigError at
// a line of it.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as fc from "fast-check";
import { type UpstreamServerConfig } from "../../src/core/config/model.ts";
import { DEFAULT_SERVER } from "../../src/core/config/schema/upstream-server.ts";
import { parseUpstreamState } from "../../src/core/config/read-nginx/reader.ts";
import { formatUpstreamState } from "../../src/core/state.ts";
import { anyText, bounded, configish, FUZZ_TIMEOUT_MS, mutate, mutations, params, readOrConfigError } from "../support/fuzz.ts";

const FILE = "/var/lib/streamlb/fuzz.state";

const host = fc.oneof(
  fc.ipV4(),
  fc.ipV6().map((h) => `[${h}]`),
  fc.domain(),
);

/**
 * Whole seconds (state files keep times in nginx's second-granular syntax), up to the largest
 * a time holds (the admin API takes any of them).
 */
const seconds = fc
  .oneof(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 0, max: Math.floor(Number.MAX_SAFE_INTEGER / 1000) }))
  .map((s) => s * 1000);

const server: fc.Arbitrary<UpstreamServerConfig> = fc
  .record({
    host,
    port: fc.integer({ min: 1, max: 65535 }),
    weight: fc.oneof(fc.constant(DEFAULT_SERVER.weight), fc.integer({ min: 1, max: 2_147_483_647 })),
    maxFails: fc.oneof(fc.constant(DEFAULT_SERVER.maxFails), fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
    failTimeoutMs: fc.oneof(fc.constant(DEFAULT_SERVER.failTimeoutMs), seconds),
    maxConns: fc.oneof(fc.constant(DEFAULT_SERVER.maxConns), fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
    backup: fc.boolean(),
    down: fc.boolean(),
    drain: fc.boolean(),
    slowStartMs: fc.oneof(fc.constant(DEFAULT_SERVER.slowStartMs), seconds),
  })
  .map(({ host, port, ...params }) => {
    const address = `${host}:${port}`;
    return { ...params, address, host: host.replace(/^\[(.*)\]$/, "$1"), port, loc: { file: FILE, line: 0, col: 0 } };
  });

const servers = fc.array(server, { maxLength: 8 });

const withoutLoc = (list: readonly UpstreamServerConfig[]) => list.map(({ loc: _loc, ...rest }) => rest);

describe("upstream state file (property)", () => {
  test("servers written as the admin API writes them read back equal", { timeout: FUZZ_TIMEOUT_MS }, () => {
    fc.assert(
      fc.property(servers, (list) => {
        const text = formatUpstreamState(list);
        const back = bounded("reading a state file", () => parseUpstreamState(text, FILE));
        assert.deepEqual(withoutLoc(back), withoutLoc(list), text);
      }),
      params(),
    );
  });

  test("a state file mutated: read, or a ConfigError at a line of it", { timeout: FUZZ_TIMEOUT_MS }, () => {
    fc.assert(
      fc.property(servers, mutations, (list, ms) => {
        readOrConfigError(mutate(formatUpstreamState(list), ms), FILE, (t) => parseUpstreamState(t, FILE));
      }),
      params(),
    );
  });

  test("any text: read, or a ConfigError at a line of it", { timeout: FUZZ_TIMEOUT_MS }, () => {
    fc.assert(
      fc.property(fc.constantFrom("", "server "), fc.oneof(anyText, configish), (head, text) => {
        readOrConfigError(head + text, FILE, (t) => parseUpstreamState(t, FILE));
      }),
      params(),
    );
  });
});
