// The directive table's own consistency: one row per directive and place, every setting row
// in it, and the views the readers and writers walk are the table's.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MAIN_ROWS } from "../../src/core/config/schema/main.ts";
import { PROXY_ROWS } from "../../src/core/config/schema/proxy.ts";
import {
  DIRECTIVES,
  directiveSpecs,
  EVENTS_SETTINGS,
  MAIN_SETTINGS,
  PROXY_SETTINGS,
} from "../../src/core/config/schema/table.ts";

describe("directive table", () => {
  test("no two rows of one name share a context (the reader's lookup is never ambiguous)", () => {
    const clashes: string[] = [];
    for (const r of DIRECTIVES) {
      for (const ctx of r.contexts) {
        if (directiveSpecs(r.name).filter((o) => o.contexts.includes(ctx)).length > 1) clashes.push(`${r.name} in ${ctx}`);
      }
    }
    assert.deepEqual(clashes, []);
  });

  test("the setting views are the setting rows, each once, in their order", () => {
    assert.deepEqual(MAIN_SETTINGS, MAIN_ROWS.filter((r) => r.context === "main"));
    assert.deepEqual(EVENTS_SETTINGS, MAIN_ROWS.filter((r) => r.context === "events"));
    assert.deepEqual(PROXY_SETTINGS, PROXY_ROWS);
  });

  test("a setting's directive rows run and name the setting; its deprecated and tcp{} names share its slot or row", () => {
    for (const r of DIRECTIVES.filter((x) => x.setting)) {
      assert.equal(r.support, "runs", r.name);
      const s = r.setting!;
      if (r.family === "tcp") assert.equal((s as unknown as (typeof PROXY_ROWS)[number]).tcp?.name, r.name);
      else assert.equal(r.slot, s.name, r.name);
      assert.deepEqual(r.args, s.kind.flag ? "flag" : [1], r.name);
    }
    for (const s of [...MAIN_ROWS, ...PROXY_ROWS]) assert.ok(DIRECTIVES.some((r) => r.setting === s), s.name);
  });

  test("each row belongs to a module, and tcp{} and http rows to their own", () => {
    for (const r of DIRECTIVES) {
      assert.ok(r.module.length > 0, r.name);
      if (r.family === "tcp") assert.equal(r.module, "tcp", r.name);
      if (r.family === "http") assert.equal(r.module, "http", r.name);
      if (r.module.startsWith("stream_")) assert.equal(r.family, "stream", r.name);
    }
  });

  test("a harmless row gives its reason, and only rows streamlb does not run are harmless or refused", () => {
    for (const r of DIRECTIVES) {
      if (typeof r.support === "object") assert.ok(r.support.harmless.length > 10, r.name);
    }
    assert.ok(DIRECTIVES.filter((r) => r.support === "runs").length >= 30);
  });
});
