// The library as a user gets it: `npm pack` this checkout, install the tarball into a scratch
// project, and from there import "streamlb" and run a balancer on Node, Deno and Bun. Each
// runtime takes its own branch of package.json's exports (Deno must get JavaScript: it will not
// strip types under node_modules).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { before, describe, test } from "node:test";
import { promisify } from "node:util";
import { TARGETS, tempDir } from "../support/streamlb.ts";

const run = promisify(execFile);
const ROOT = process.cwd();

/** Starts a backend and a balancer in front of it, fetches one reply, stops both, prints JSON. */
const APP = `import net from "node:net";
import { startBalancer } from "streamlb";
const listen = (server) => new Promise((r) => server.listen(0, "127.0.0.1", () => r(server.address().port)));
const backend = net.createServer((s) => s.end("hello from the backend\\n"));
const backendPort = await listen(backend);
const spare = net.createServer();
const port = await listen(spare);
await new Promise((r) => spare.close(r));
const lb = startBalancer(\`error_log: { path: stderr, level: warn }
stream:
  servers:
    - { listen: "127.0.0.1:\${port}", proxy_pass: "127.0.0.1:\${backendPort}" }
\`);
await lb.ready;
const reply = await new Promise((resolve, reject) => {
  let text = "";
  const c = net.connect(lb.addresses()[0].port, "127.0.0.1");
  c.setEncoding("utf8");
  c.on("data", (d) => (text += d));
  c.on("end", () => resolve(text));
  c.on("error", reject);
});
await lb.close();
backend.close();
const runtime = globalThis.Deno ? "deno" : globalThis.Bun ? "bun" : "node";
console.log(JSON.stringify({ runtime, reply, loaded: import.meta.resolve("streamlb") }));
`;

const RUNTIMES = {
  node: [process.execPath],
  deno: [resolve(ROOT, "node_modules/.bin/deno"), "run", "-A"],
  bun: [resolve(ROOT, "node_modules/.bin/bun")],
} as const;
type RuntimeName = keyof typeof RUNTIMES;

/** What each runtime should load from node_modules/streamlb. */
const ENTRY: Record<RuntimeName, string> = { node: "dist/js/src/mod.js", deno: "dist/js/src/mod.js", bun: "src/mod.ts" };

describe("the npm package", () => {
  let app = "";
  before(async () => {
    // The suite built dist/js already; pack what is there (no second build).
    const dir = tempDir();
    await run("npm", ["pack", "--ignore-scripts", "--pack-destination", dir], { cwd: ROOT, timeout: 60_000 });
    const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"));
    assert.ok(tarball, "npm pack made a tarball");
    app = join(dir, "app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    writeFileSync(join(app, "app.mjs"), APP);
    // yaml, its only dependency, comes from npm's cache when it is there.
    await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", join(dir, tarball)], {
      cwd: app,
      timeout: 120_000,
    });
  });

  for (const name of Object.keys(RUNTIMES) as RuntimeName[]) {
    test(
      `installed from its tarball, runs a balancer on ${name}`,
      { skip: !TARGETS.includes(name), timeout: 60_000 },
      async () => {
        const [exe, ...args] = RUNTIMES[name];
        const { stdout } = await run(exe, [...args, "app.mjs"], { cwd: app, timeout: 30_000 });
        const result = JSON.parse(stdout) as { runtime: string; reply: string; loaded: string };
        assert.equal(result.runtime, name);
        assert.equal(result.reply, "hello from the backend\n");
        assert.ok(result.loaded.endsWith(`/node_modules/streamlb/${ENTRY[name]}`), `${name} loaded ${result.loaded}`);
      },
    );
  }
});
