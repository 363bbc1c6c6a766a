// Property test of the YAML config reader on generated valid configs with tokens deleted,
// duplicated, swapped, truncated or flipped (its own file: YAML parsing is the slowest reader,
// and each file should stay within a few seconds per runtime).
import { describe, test } from "node:test";
import * as fc from "fast-check";
import { FUZZ_TIMEOUT_MS, mutate, mutations, params, readOrConfigError } from "../support/fuzz.ts";
import { yamlConfig } from "../support/yaml-gen.ts";
import { loadYamlConfig } from "../../src/core/config/yaml.ts";

const FILE = "fuzz.yaml";
const attempt = (text: string): void => void readOrConfigError(text, FILE, (t) => loadYamlConfig(t, FILE));

describe("YAML config reader (property)", () => {
  test("a generated config mutated: read, or a ConfigError at a line of the file", { timeout: FUZZ_TIMEOUT_MS }, () => {
    fc.assert(
      fc.property(yamlConfig, mutations, (text, ms) => attempt(mutate(text, ms))),
      params(),
    );
  });

});
