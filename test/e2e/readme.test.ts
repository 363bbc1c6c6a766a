// Every example config in README.md passes `streamlb -t`, so the docs cannot drift from
// what the parser accepts. -t opens the logs as nginx's does, so the examples' absolute
// directories (/var/log/streamlb/) are moved under a temporary one.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { runStreamlb, tempDir, TARGETS, writeConfig } from "../support/streamlb.ts";

const README = readFileSync("README.md", "utf8");
const examples = [...README.matchAll(/```(yaml|nginx)\n([\s\S]*?)```/g)].map((m, i) => ({
  kind: m[1] as "yaml" | "nginx",
  text: m[2]!,
  n: i + 1,
}));

describe("README examples", () => {
  test("README has example configs in both spellings", () => {
    assert.ok(examples.some((e) => e.kind === "yaml"));
    assert.ok(examples.some((e) => e.kind === "nginx"));
  });

  for (const e of examples) {
    test(`example ${e.n} (${e.kind}) passes -t`, async () => {
      const root = tempDir();
      mkdirSync(join(root, "var/log/streamlb"), { recursive: true });
      const text = e.text.replaceAll("/var/log/streamlb/", `${root}/var/log/streamlb/`);
      const file = writeConfig(text, e.kind === "yaml" ? "example.yaml" : "nginx.conf");
      const r = await runStreamlb(TARGETS[0] ?? "node", ["-t", "-c", file]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /test is successful/);
    });
  }
});
