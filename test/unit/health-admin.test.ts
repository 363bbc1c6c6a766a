// Health checks meet the admin API: a server added at run time starts in its check's initial
// state at once (mandatory: out until it passes) and is probed right away, like one added by
// a reload.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createAdminHandler } from "../../src/core/admin.ts";
import { loadYamlConfig } from "../../src/core/config/read-yaml/reader.ts";
import { startRunningBalancer } from "../../src/core/running-balancer.ts";
import type { Logger } from "../../src/core/log.ts";
import type { ConnectTarget, ProbeResult, Runtime } from "../../src/core/runtime.ts";

async function setup(healthCheck: string) {
  const probed: string[] = [];
  const runtime = {
    name: "node",
    version: "test",
    pid: 4242,
    async listen(options: { host: string | null; port: number }) {
      return { host: options.host ?? "0.0.0.0", port: options.port, close: async () => undefined };
    },
    // Checks never finish here: a server's state is its initial one.
    probe(target: ConnectTarget): Promise<ProbeResult> {
      probed.push(`${target.host}:${target.port}`);
      return new Promise(() => undefined);
    },
  } as unknown as Runtime;
  const logger: Logger = { enabled: () => true, log: () => undefined };
  const config = loadYamlConfig(
    `
stream:
  upstreams:
    web:
      servers: ["127.0.0.1:6000"]
      health_check: ${healthCheck}
  servers:
    - { listen: "127.0.0.1:8000", proxy_pass: web }
`,
    "t.yaml",
  );
  const instance = startRunningBalancer(runtime, config, logger);
  await instance.ready;
  const handler = createAdminHandler({
    runtime,
    version: "9.9.9",
    startedMs: Date.now(),
    instance: () => instance,
    token: () => null,
    accepting: () => true,
    logger,
  });
  const add = (server: string) =>
    handler(
      new Request("http://127.0.0.1:9000/api/upstreams/web/servers", {
        method: "POST",
        headers: { host: "127.0.0.1:9000", "content-type": "application/json" },
        body: JSON.stringify({ server }),
      }),
    );
  const health = (address: string) =>
    [...instance.balancer.upstream("web")!.allPeers()].find((p) => p.address === address)?.health;
  return { instance, add, health, probed };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe("health checks and the admin API", () => {
  test("mandatory: a server added through the API takes no session before it passes", async () => {
    const s = await setup("{ interval: 1h, mandatory: true }");
    try {
      assert.equal((await s.add("127.0.0.1:6001")).status, 201);
      assert.equal(s.health("127.0.0.1:6001"), "unhealthy");
      await tick();
      assert.ok(s.probed.includes("127.0.0.1:6001"), `probed: ${s.probed.join(" ")}`);
    } finally {
      await s.instance.close();
    }
  });

  test("without mandatory it is usable and checked at once", async () => {
    const s = await setup("{ interval: 1h }");
    try {
      assert.equal((await s.add("127.0.0.1:6001")).status, 201);
      assert.equal(s.health("127.0.0.1:6001"), "unchecked");
      await tick();
      assert.ok(s.probed.includes("127.0.0.1:6001"));
      assert.equal(s.instance.balancer.health.timers, 0, "the only check in flight never ends: no timer waits");
    } finally {
      await s.instance.close();
    }
  });
});
