// `hash $remote_addr consistent bounded=1.25` against streamlb on every target. Every client
// here comes from 127.0.0.1, so all sessions share one key: the hottest key there is. Plain
// `consistent` (the control listener) puts every one on a single backend; with the bound, no
// backend ever holds more than ceil(1.25 × average) live sessions, while a backend is down and
// after it returns (the admin API takes it out and brings it back, as an operator would).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Backend, freePorts, startNamedEcho } from "../support/backends.ts";
import { Stream } from "../support/streams.ts";
import { startStreamlb, type Streamlb, TARGETS, writeConfig } from "../support/streamlb.ts";

const TOKEN = "e2e-bounded";
const FACTOR = 1.25;

for (const target of TARGETS) {
  describe(`bounded-load consistent hashing on ${target}`, () => {
    let backends: Backend[] = [];
    let lb: Streamlb;
    let boundedPort: number, plainPort: number, adminPort: number;
    const open: Stream[] = [];

    const patch = async (address: string, body: unknown) => {
      const r = await fetch(`http://127.0.0.1:${adminPort}/api/upstreams/chat/servers/${encodeURIComponent(address)}`, {
        method: "PATCH",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      assert.equal(r.status, 200, await r.text());
    };

    /** Opens `n` sessions that stay open, one at a time; returns the backend of each. */
    const hold = async (port: number, n: number): Promise<string[]> => {
      const names: string[] = [];
      for (let i = 0; i < n; i++) {
        const s = new Stream(port);
        open.push(s);
        await s.opened;
        names.push(s.backend);
      }
      return names;
    };

    before(async () => {
      backends = await Promise.all(["a", "b", "c"].map((n) => startNamedEcho(n)));
      [boundedPort, plainPort, adminPort] = (await freePorts(3)) as [number, number, number];
      const servers = backends.map((b) => `"${b.address}"`).join(", ");
      const file = writeConfig(`
error_log: { path: stderr, level: notice }
admin: { listen: "127.0.0.1:${adminPort}", token: ${TOKEN} }
stream:
  upstreams:
    chat:
      hash: { key: $remote_addr, consistent: true, bounded: ${FACTOR} }
      servers: [${servers}]
    plain:
      hash: { key: $remote_addr, consistent: true }
      servers: [${servers}]
  servers:
    - { listen: "127.0.0.1:${boundedPort}", proxy_pass: chat }
    - { listen: "127.0.0.1:${plainPort}", proxy_pass: plain }
`);
      lb = await startStreamlb(target, file);
    });

    after(async () => {
      for (const s of open) s.socket.destroy();
      await lb?.stop();
      await Promise.all(backends.map((b) => b.close()));
    });

    test("one hot key: plain consistent loads one backend, bounded spreads within ceil(1.25 x average)", async () => {
      const plain = await hold(plainPort, 9);
      assert.equal(new Set(plain).size, 1, `plain consistent used ${[...new Set(plain)]}`);

      // c goes down: a and b share the key's sessions, each within the bound at every placement.
      const c = backends[2]!;
      await patch(c.address, { down: true });
      const load = new Map<string, number>();
      const place = (names: string[], up: number) => {
        for (const name of names) {
          load.set(name, (load.get(name) ?? 0) + 1);
          const total = [...load.values()].reduce((x, y) => x + y);
          const bound = Math.ceil((FACTOR * total) / up);
          assert.ok(load.get(name)! <= bound, `${name} holds ${load.get(name)} of ${total}, over ${bound}`);
        }
      };
      const whileDown = await hold(boundedPort, 20);
      assert.ok(!whileDown.includes("c"), "a down server took a session");
      place(whileDown, 2);
      assert.deepEqual([...load.keys()].sort(), ["a", "b"]);

      // c returns: new sessions fill it up to its share instead of piling onto the key's server.
      await patch(c.address, { down: false });
      place(await hold(boundedPort, 20), 3);
      assert.ok((load.get("c") ?? 0) > 0, "the returned server got no sessions");
      const loads = ["a", "b", "c"].map((n) => load.get(n) ?? 0);
      assert.ok(Math.max(...loads) <= Math.ceil((FACTOR * 40) / 3), `loads ${loads}`);
      // Every session is still live on the backend it was placed on.
      for (const s of open) assert.equal(s.closed, false);
    });
  });
}
