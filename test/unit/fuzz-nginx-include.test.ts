// nginx's include as a property: a generated config with one directive moved to an included
// file reads into the same model; the two files mutated (one may include itself) read, or
// fail with a ConfigError naming one of them and a line of it.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as fc from "fast-check";
import { ConfigError } from "../../src/core/config/errors.ts";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { type ConfigFiles } from "../../src/core/config/read-nginx/files.ts";
import { comparable, nginxConfig } from "../support/config-gen.ts";
import { bounded, FUZZ_TIMEOUT_MS, lineCount, mutate, mutations, params } from "../support/fuzz.ts";

const FILE = "fuzz.conf";

/** The whole-config problems nginx reports without a line (it has read the file by then). */
const WITHOUT_LINE = [/^no "events" section in configuration$/, /^no "stream" section in configuration/];

describe("nginx include (property)", () => {
  test("a line moved to an included file reads the same; both mutated, a ConfigError in one of them", {
    timeout: FUZZ_TIMEOUT_MS,
  }, () => {
    fc.assert(
      fc.property(nginxConfig, fc.nat(), fc.boolean(), mutations, mutations, (g, pick, selfInclude, mainMs, partMs) => {
        const lines = g.text.split("\n");
        const simple = lines.flatMap((l, i) => (/^[^{}#]*;$/.test(l) ? [i] : []));
        const at = simple[pick % simple.length]!;
        const part = `${lines[at]!.trim()}\n`;
        const main = [...lines.slice(0, at), "include part.conf;", ...lines.slice(at + 1)].join("\n");
        const files = virtualFiles({ "conf/part.conf": part });
        const whole = comparable(loadNginxConfig(g.text, FILE).config);
        assert.deepEqual(comparable(loadNginxConfig(main, "conf/main.conf", { files }).config), whole, main);

        // A file that includes itself, or any mutation of either file, is at worst a ConfigError
        // naming one of the two files and a line of it.
        const texts: Record<string, string> = {
          "conf/main.conf": mutate(main, mainMs),
          "conf/part.conf": mutate(selfInclude ? `include part.conf;\n${part}` : part, partMs),
        };
        try {
          bounded(
            "reading with includes",
            () => loadNginxConfig(texts["conf/main.conf"]!, "conf/main.conf", { files: virtualFiles(texts) }),
          );
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          if (e.loc === null) return void assert.ok(WITHOUT_LINE.some((re) => re.test(e.problem)), e.problem);
          const text = texts[e.loc.file];
          assert.ok(text !== undefined, `an error in a file that is not there: ${e.message}`);
          assert.ok(e.loc.line >= 1 && e.loc.line <= lineCount(text), e.message);
        }
      }),
      // Three reads a case; a fifth of the count keeps the file within seconds.
      params(0.2),
    );
  });
});

/** Files in memory: readFile as node:fs fails (ENOENT), glob by `*` and `?` only. */
function virtualFiles(texts: Readonly<Record<string, string>>): ConfigFiles {
  return {
    readFile(path) {
      const text = texts[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
      return text;
    },
    glob(pattern) {
      const re = new RegExp(`^${pattern.replace(/[.+^${}()|\\[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")}$`);
      return Object.keys(texts).filter((p) => re.test(p)).sort();
    },
  };
}
