// worker_connections: the per-process socket budget and its rate-limited alert.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { loadYamlConfig } from "../../src/core/config/read-yaml/reader.ts";
import { writeNginxConfig } from "../../src/core/config/write/nginx.ts";
import { writeYamlConfig } from "../../src/core/config/write/yaml.ts";
import { type AlertClock, ConnectionBudget } from "../../src/core/connections.ts";
import type { Logger } from "../../src/core/log.ts";

function fakeClock() {
  let now = 0;
  const timers: Array<{ at: number; fn: () => void }> = [];
  const clock: AlertClock = { now: () => now, setTimer: (fn, ms) => timers.push({ at: now + ms, fn }) };
  const advance = (ms: number) => {
    now += ms;
    for (const t of timers.splice(0).sort((a, b) => a.at - b.at)) {
      if (t.at <= now) t.fn();
      else timers.push(t);
    }
  };
  return { clock, advance };
}

function setup(limit: number, listeners: number, channel = false) {
  const lines: string[] = [];
  const logger: Logger = { enabled: () => true, log: (l, m) => lines.push(`[${l}] ${m}`) };
  const { clock, advance } = fakeClock();
  const budget = new ConnectionBudget(logger, channel, clock);
  budget.configure(limit, listeners);
  return { budget, lines, advance };
}

describe("worker_connections", () => {
  test("listeners and every session socket count; 16 with one listener leave room for 7 sessions and one client more", () => {
    const { budget } = setup(16, 1);
    let sessions = 0;
    while (budget.take() && budget.take()) sessions++;
    assert.equal(sessions, 7, "7 clients with their upstreams");
    assert.equal(budget.used, 16, "the 8th client took the last socket; its upstream found none");
    budget.release();
    assert.equal(budget.used, 15);
    assert.ok(budget.take(), "a released socket serves again");
  });

  test("a worker's channel to its master counts, as nginx's does", () => {
    const { budget } = setup(16, 1, true);
    assert.equal(budget.used, 2);
  });

  test("the alert: the first at once, the rest of that second counted in one line", () => {
    const { budget, lines, advance } = setup(2, 1);
    assert.ok(budget.take());
    for (let i = 0; i < 5; i++) {
      assert.equal(budget.take(), false);
      budget.notEnough("", "");
    }
    assert.deepEqual(lines, ["[alert] 2 worker_connections are not enough"]);
    advance(1000);
    assert.deepEqual(lines, [
      "[alert] 2 worker_connections are not enough",
      "[alert] 2 worker_connections are not enough (4 more times in the last second)",
    ]);
    advance(5000);
    assert.equal(lines.length, 2, "no flood, no lines");
    assert.equal(budget.take(), false);
    budget.notEnough("*9 ", " while connecting to upstream");
    assert.equal(lines[2], "[alert] *9 2 worker_connections are not enough while connecting to upstream");
  });

  test("the config: nginx's default, both spellings, and too few for the listeners", () => {
    const conf = (events: string) => `events { ${events} }\nstream { server { listen 1; proxy_pass 127.0.0.1:9; } }\n`;
    assert.equal(loadNginxConfig(conf(""), "/t.conf").config.workerConnections, 512);
    const c = loadNginxConfig(conf("worker_connections 16;"), "/t.conf").config;
    assert.equal(c.workerConnections, 16);
    assert.equal(loadYamlConfig(writeYamlConfig(c), "t.yaml").workerConnections, 16);
    assert.equal(loadNginxConfig(writeNginxConfig(c), "/u.conf").config.workerConnections, 16);
    assert.equal(loadYamlConfig(`events: { worker_connections: 20 }\nstream: {}\n`, "t.yaml").workerConnections, 20);
    assert.throws(() => loadNginxConfig(conf("worker_connections 1;"), "/t.conf"), {
      message: "1 worker_connections are not enough for 1 listening sockets",
    });
    assert.throws(() => loadNginxConfig(conf("worker_connections x;"), "/t.conf"), {
      message: `"worker_connections" directive invalid number in /t.conf:1`,
    });
  });
});
