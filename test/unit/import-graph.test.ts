// The source tree's shape, checked so CI fails when it drifts: no import cycles among src/'s
// modules (type-only imports included: a cycle of types is still two modules that cannot be
// read apart), no source file far over 400 lines, and src/core/ reaching the world only
// through runtime.ts (no node:*, no Deno, no Bun).
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

/** The checkout's root: the nearest directory up from this file with src/core (from test/ or dist/js/test/). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "src", "core", "runtime.ts"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("no src/core/runtime.ts above this test");
    dir = up;
  }
  return dir;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []
  );
}

const SPECIFIER = /(?:^|\n)\s*(?:import|export)\b[^;"']*?\bfrom\s*["']([^"']+)["']|(?:^|\n)\s*import\s*["']([^"']+)["']/g;

/** Relative specifiers of a file's static imports and re-exports. */
export function relativeImports(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(SPECIFIER)) {
    const spec = m[1] ?? m[2]!;
    if (spec.startsWith(".")) out.push(spec);
  }
  return out;
}

/** The cycles of a graph (Tarjan's strongly connected components of more than one node, or a self-loop). */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

describe("source tree", () => {
  const root = repoRoot();
  const files = sources(join(root, "src"));
  const text = new Map(files.map((f) => [f, readFileSync(f, "utf8")]));

  test("the cycle finder finds a cycle, and none where there is none", () => {
    assert.deepEqual(cycles(new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]])), [["a", "b", "c"]]);
    assert.deepEqual(cycles(new Map([["a", ["b"]], ["b", ["c"]], ["d", ["a", "c"]]])), []);
    assert.deepEqual(relativeImports(`import type { A } from "./a.ts";\nexport { b } from "../b.ts";\nimport "./c.ts";`), [
      "./a.ts",
      "../b.ts",
      "./c.ts",
    ]);
  });

  test("src/ has no import cycles", () => {
    const graph = new Map(
      files.map((f) => [f, relativeImports(text.get(f)!).map((s) => resolve(dirname(f), s)).filter((t) => text.has(t))]),
    );
    assert.ok([...graph.values()].some((edges) => edges.length > 0), "the graph has edges");
    assert.deepEqual(cycles(graph).map((c) => c.map((f) => relative(root, f))), []);
  });

  test("no source file is far over 400 lines", () => {
    const long = files.filter((f) => text.get(f)!.split("\n").length > 420).map((f) => relative(root, f));
    assert.deepEqual(long, []);
  });

  test("src/core/ imports no runtime's own modules", () => {
    const core = files.filter((f) => relative(root, f).startsWith(join("src", "core")));
    assert.ok(core.length > 50);
    const offenders = core.filter((f) => /from\s*["'](node:|bun|deno)/.test(text.get(f)!)).map((f) => relative(root, f));
    assert.deepEqual(offenders, []);
  });
});
