// `streamlb convert` as a property: a generated YAML config written back as YAML, and as
// nginx.conf, reads into the same model (source locations aside). This covers both writers
// on every value kind the grammar makes: names that need quoting, times, sizes, flags,
// balancing methods in both YAML forms, health checks with send/expect, access logs.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as fc from "fast-check";
import type { Config } from "../../src/core/config/model.ts";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { writeNginxConfig } from "../../src/core/config/write/nginx.ts";
import { writeYamlConfig } from "../../src/core/config/write/yaml.ts";
import { formatSize, formatTime, parseSize, parseTime } from "../../src/core/config/values/units.ts";
import { loadYamlConfig } from "../../src/core/config/read-yaml/reader.ts";
import { comparable } from "../support/config-gen.ts";
import { bounded, FUZZ_TIMEOUT_MS, params } from "../support/fuzz.ts";
import { yamlConfig } from "../support/yaml-gen.ts";

/**
 * The model less what nginx.conf cannot say: a health check lives in a server{} that
 * proxy_passes to its upstream, so an upstream no server uses loses it (the writer leaves a
 * comment saying so).
 */
function nginxCanHold(config: Config): Config {
  const used = new Set(config.stream.servers.map((s) => s.proxyPass));
  const upstreams = new Map(
    [...config.stream.upstreams].map(([name, u]) => [name, used.has(name) ? u : { ...u, healthCheck: null }]),
  );
  return { ...config, stream: { ...config.stream, upstreams } };
}

describe("streamlb convert (property)", () => {
  test("YAML → YAML and YAML → nginx.conf read back into the same model", { timeout: FUZZ_TIMEOUT_MS }, () => {
    fc.assert(
      fc.property(yamlConfig, (text) => {
        const config = bounded("reading a generated config", () => loadYamlConfig(text, "in.yaml"));
        const model = comparable(config);
        const asYaml = writeYamlConfig(config, "in.yaml");
        assert.deepEqual(comparable(loadYamlConfig(asYaml, "out.yaml")), model, asYaml);
        const asNginx = writeNginxConfig(config, "in.yaml");
        assert.deepEqual(comparable(loadNginxConfig(asNginx, "out.conf").config), comparable(nginxCanHold(config)), asNginx);
      }),
      // Two YAML parses a case (the yaml library reads about 1 KiB a millisecond): a fifth of
      // the count keeps the file within seconds; `npm run fuzz` runs the full count.
      params(0.2),
    );
  });

  test("every time and size a reader takes is written as text that reads back the same", { timeout: FUZZ_TIMEOUT_MS }, () => {
    // nginx's time grammar with numbers up to the largest it takes, units in order.
    const units = fc.subarray(["y", "M", "w", "d", "h", "m", "s", "ms"], { minLength: 1 });
    const number = fc.oneof(fc.nat(1000), fc.nat(), fc.maxSafeNat(), fc.integer({ min: 1, max: 3_000_000_000 }));
    const time = fc.tuple(units, fc.array(number, { minLength: 8, maxLength: 8 })).map(([us, ns]) =>
      us.map((u, i) => `${ns[i]}${u}`).join("")
    );
    fc.assert(
      fc.property(
        time,
        fc.constantFrom("ms" as const, "s" as const),
        fc.maxSafeNat(),
        fc.constantFrom("", "k", "m"),
        (text, g, n, unit) => {
          const ms = parseTime(text, g);
          if (ms !== null) assert.equal(parseTime(formatTime(ms), g), ms, `${text} → ${formatTime(ms)}`);
          const bytes = parseSize(`${n}${unit}`);
          if (bytes !== null) assert.equal(parseSize(formatSize(bytes)), bytes);
        },
      ),
      params(),
    );
  });
});
