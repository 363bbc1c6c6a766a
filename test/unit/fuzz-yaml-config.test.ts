// Property tests of the YAML config reader (fuzz-yaml-mutated.test.ts has the mutated valid
// configs): any text either reads or fails with a ConfigError naming the file and a line of
// it; never the yaml library's own exception or a TypeError from a node of an unexpected shape.
import { describe, test } from "node:test";
import * as fc from "fast-check";
import { parseConfig } from "../../src/core/config/load.ts";
import { loadYamlConfig } from "../../src/core/config/read-yaml/reader.ts";
import { anyText, configish, FUZZ_TIMEOUT_MS, params, readOrConfigError } from "../support/fuzz.ts";

const FILE = "fuzz.yaml";

/** nginx's whole-config problems, for text parseConfig takes for an nginx.conf. */
const WITHOUT_LINE = [/^no "events" section in configuration$/, /^no "stream" section in configuration/];

/** Reported without a line once the whole config is read, as nginx does (see fuzz-yaml-mutated). */
const UNKNOWN_VARIABLE = [/^unknown ".*" variable$/];
const attempt = (text: string): void => void readOrConfigError(text, FILE, (t) => loadYamlConfig(t, FILE), UNKNOWN_VARIABLE);

describe("YAML config reader (property)", () => {
  test("any text: read, or a ConfigError at a line of the file", { timeout: FUZZ_TIMEOUT_MS }, () => {
    const prefix = fc.constantFrom("", "stream:\n  ", "stream:\n  upstreams:\n    u:\n      ");
    fc.assert(
      fc.property(prefix, fc.oneof(anyText, configish), (head, text) => attempt(head + text)),
      params(),
    );
  });

  test(
    "any text under a name without .yaml: read as YAML or nginx by its look, or a ConfigError",
    { timeout: FUZZ_TIMEOUT_MS },
    () => {
      fc.assert(
        fc.property(
          fc.oneof(anyText, configish),
          (text) => void readOrConfigError(text, "fuzz.conf", (t) => parseConfig(t, "fuzz.conf"), WITHOUT_LINE),
        ),
        params(),
      );
    },
  );
});
