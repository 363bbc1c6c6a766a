// The library API, run in-process by each runtime's own test runner (node --test, bun test,
// deno test): a test suite puts a real balancer in front of its own servers.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { startBalancer } from "../../src/mod.ts";
import { type Backend, firstLine, freePorts, startNamedEcho } from "../support/backends.ts";

describe("startBalancer", () => {
  const backends: Backend[] = [];
  after(async () => {
    await Promise.all(backends.map((b) => b.close()));
  });

  test("balances, reloads and closes in-process", async () => {
    backends.push(...(await Promise.all(["one", "two", "three"].map((n) => startNamedEcho(n)))));
    const [one, two, three] = backends as [Backend, Backend, Backend];
    const [port] = await freePorts(1);
    const yaml = (servers: Backend[]) => `
error_log: { path: stderr, level: warn }
stream:
  upstreams:
    app: { servers: [${servers.map((b) => `"${b.address}"`).join(", ")}] }
  servers:
    - { listen: "127.0.0.1:${port}", proxy_pass: app }
`;
    const lb = startBalancer(yaml([one, two]));
    await lb.ready;
    try {
      assert.deepEqual(lb.addresses().map((a) => a.port), [port]);
      const picks = [];
      for (let i = 0; i < 4; i++) picks.push(await firstLine(port!));
      assert.deepEqual(picks, ["one", "two", "one", "two"]);

      await lb.reload(yaml([one, two, three]));
      const after = new Set<string>();
      for (let i = 0; i < 6; i++) after.add(await firstLine(port!));
      assert.ok(after.has("three"), "the reloaded upstream includes the new server");

      await assert.rejects(lb.reload("stream: ["), /YAML syntax error/);
      assert.equal(await firstLine(port!).then(() => "served"), "served", "a bad reload keeps the running config");
    } finally {
      await lb.close();
    }
    await assert.rejects(firstLine(port!), "closed: nothing listens any more");
  });
});
