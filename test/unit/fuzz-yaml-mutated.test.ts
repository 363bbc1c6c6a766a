// Property test of the YAML config reader on generated valid configs with tokens deleted,
// duplicated, swapped, truncated or flipped (its own file: YAML parsing is the slowest reader,
// and each file should stay within a few seconds per runtime).
import { describe, test } from "node:test";
import * as fc from "fast-check";
import { FUZZ_TIMEOUT_MS, mutate, mutations, params, readOrConfigError } from "../support/fuzz.ts";
import { yamlConfigOf } from "../support/yaml-gen.ts";
import { loadYamlConfig } from "../../src/core/config/read-yaml/reader.ts";

const FILE = "fuzz.yaml";
/**
 * One upstream and one server{} (about 500 bytes): every kind of key still comes up, and a
 * mutation finds its way into a smaller document as well at half the parsing time.
 */
const small = yamlConfigOf({ upstreams: 1, upstreamServers: 2, servers: 1 });
/**
 * An unknown variable is reported once the whole config is read, without a line, as nginx
 * reports it (ngx_stream_variables_init_vars): a mutated `$name` in a TLS name or a log format
 * can end there.
 */
const WITHOUT_LINE = [/^unknown ".*" variable$/];
const attempt = (text: string): void => void readOrConfigError(text, FILE, (t) => loadYamlConfig(t, FILE), WITHOUT_LINE);

describe("YAML config reader (property)", () => {
  test("a generated config mutated: read, or a ConfigError at a line of the file", { timeout: FUZZ_TIMEOUT_MS }, () => {
    fc.assert(
      fc.property(small, mutations, (text, ms) => attempt(mutate(text, ms))),
      params(),
    );
  });
});
