// The file access behind nginx's `include`: glob(3)'s matching and order on a real directory.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { configFiles, globPaths } from "../../src/runtime/files.ts";

describe("include files on disk", () => {
  const dir = mkdtempSync(join(tmpdir(), "streamlb-glob-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, "conf.d/sub"), { recursive: true });
  for (const name of ["b.conf", "a.conf", "c-1.conf", ".hidden.conf", "x.txt", "sub/d.conf"]) {
    writeFileSync(join(dir, "conf.d", name), `# ${name}\n`);
  }
  const names = (pattern: string) => globPaths(join(dir, pattern)).map((p) => p.slice(dir.length + 1));

  test("* and ? stay within a segment; results are sorted; dot files need a dot", () => {
    assert.deepEqual(names("conf.d/*.conf"), ["conf.d/a.conf", "conf.d/b.conf", "conf.d/c-1.conf"]);
    assert.deepEqual(names("conf.d/?.conf"), ["conf.d/a.conf", "conf.d/b.conf"]);
    assert.deepEqual(names("conf.d/.*.conf"), ["conf.d/.hidden.conf"]);
    assert.deepEqual(names("conf.d/*/*.conf"), ["conf.d/sub/d.conf"]);
    assert.deepEqual(names("*.d/a.conf"), ["conf.d/a.conf"]);
  });

  test("[…] and [!…]", () => {
    assert.deepEqual(names("conf.d/[ab].conf"), ["conf.d/a.conf", "conf.d/b.conf"]);
    assert.deepEqual(names("conf.d/[!a].conf"), ["conf.d/b.conf"]);
    assert.deepEqual(names("conf.d/[a-c]*.conf"), ["conf.d/a.conf", "conf.d/b.conf", "conf.d/c-1.conf"]);
  });

  test("no match is an empty list", () => {
    assert.deepEqual(names("conf.d/*.yaml"), []);
    assert.deepEqual(names("nothere/*.conf"), []);
  });

  test("the nginx reader includes through it, relative to the main file", () => {
    writeFileSync(join(dir, "conf.d/a.conf"), "upstream a { server 127.0.0.1:1; }\n");
    writeFileSync(join(dir, "conf.d/b.conf"), "upstream b { server 127.0.0.1:2; }\n");
    writeFileSync(join(dir, "conf.d/c-1.conf"), "");
    const main = join(dir, "nginx.conf");
    const { config } = loadNginxConfig("events {}\nstream { include conf.d/*.conf; }\n", main, { files: configFiles });
    assert.deepEqual([...config.stream.upstreams.keys()], ["a", "b"]);
    assert.throws(
      () => loadNginxConfig("events {}\ninclude conf.d/missing.conf;\n", main, { files: configFiles }),
      { message: `open() "${dir}/conf.d/missing.conf" failed (2: No such file or directory) in ${main}:2` },
    );
  });
});
