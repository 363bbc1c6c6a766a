// The sockets a master keeps for its workers: one per worker and TCP listen, taken from an
// upgrade where passed, closed with their listen, and never left open with no one to accept.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { MasterListeners } from "../../src/core/master-listeners.ts";
import type { ProcessSupport } from "../../src/core/runtime.ts";

const config = (body: string) => loadNginxConfig(`events {}\nstream {\n${body}\n}\n`, "/t.conf").config;

/** A ProcessSupport that hands out descriptors from 100 and records what happens to them. */
function fakeProcesses(inherited: Record<string, number[]> = {}, failing = new Set<number>()) {
  const opened: string[] = [];
  const closed: number[] = [];
  let next = 100;
  const left = new Map(Object.entries(inherited).map(([k, fds]) => [k, [...fds]]));
  const processes: ProcessSupport = {
    cpuCount: () => 2,
    worker: null,
    spawnWorker: () => {
      throw new Error("not here");
    },
    openListener: (host, port) => {
      if (failing.has(port)) throw Object.assign(new Error("EADDRINUSE"), { code: "EADDRINUSE" });
      opened.push(`${host ?? "*"}:${port}`);
      const fd = next++;
      return { fd, close: () => closed.push(fd) };
    },
    takeInherited: (key) => left.get(key)?.shift(),
    untakenInherited: () => [...left.values()].flat(),
    closeFd: (fd) => void closed.push(fd),
  };
  return { processes, opened, closed };
}

describe("the master's listening sockets", () => {
  test("one per worker and TCP listen; none for udp or unix:", () => {
    const { processes, opened } = fakeProcesses();
    const m = new MasterListeners(processes, 2);
    m.apply(
      config(`server { listen 127.0.0.1:8000; listen [::1]:8002; return x; }
server { listen 127.0.0.1:8000 udp; listen unix:/tmp/s.sock; listen 8003; return y; }`),
      true,
    );
    assert.deepEqual(opened, ["127.0.0.1:8000", "127.0.0.1:8000", "::1:8002", "::1:8002", "*:8003", "*:8003"]);
    assert.deepEqual(m.forWorker(0), [{ key: "127.0.0.1:8000", fd: 100 }, { key: "[::1]:8002", fd: 102 }, {
      key: "*:8003",
      fd: 104,
    }]);
    assert.deepEqual(m.forWorker(1), [{ key: "127.0.0.1:8000", fd: 101 }, { key: "[::1]:8002", fd: 103 }, {
      key: "*:8003",
      fd: 105,
    }]);
    assert.deepEqual(m.all().map((l) => l.fd), [100, 102, 104, 101, 103, 105], "a new binary gets them all");
  });

  test("an upgrade's sockets are taken, not bound again; the rest are closed at once", () => {
    // The old master ran 3 workers on 8000 and listened on 9999; this one runs 2, not on 9999.
    const { processes, opened, closed } = fakeProcesses({ "127.0.0.1:8000": [3, 5, 7], "127.0.0.1:9999": [4, 6, 8] });
    const m = new MasterListeners(processes, 2);
    m.apply(config(`server { listen 127.0.0.1:8000; listen 127.0.0.1:8001; return x; }`), true);
    assert.deepEqual(m.forWorker(0), [{ key: "127.0.0.1:8000", fd: 3 }, { key: "127.0.0.1:8001", fd: 100 }]);
    assert.deepEqual(m.forWorker(1), [{ key: "127.0.0.1:8000", fd: 5 }, { key: "127.0.0.1:8001", fd: 101 }]);
    assert.deepEqual(opened, ["127.0.0.1:8001", "127.0.0.1:8001"]);
    assert.deepEqual(closed.sort(), [4, 6, 7, 8], "no worker would accept on these");
  });

  test("more workers than sockets passed: the rest are bound beside them", () => {
    const { processes, opened } = fakeProcesses({ "127.0.0.1:8000": [3] });
    const m = new MasterListeners(processes, 2);
    m.apply(config(`server { listen 127.0.0.1:8000; return x; }`), true);
    assert.deepEqual(m.all().map((l) => l.fd), [3, 100]);
    assert.deepEqual(opened, ["127.0.0.1:8000"]);
  });

  test("a reload closes the sockets of listens it drops and opens none", () => {
    const { processes, opened, closed } = fakeProcesses();
    const m = new MasterListeners(processes, 1);
    m.apply(config(`server { listen 127.0.0.1:8000; listen 127.0.0.1:8001; return x; }`), true);
    m.apply(config(`server { listen 127.0.0.1:8001; listen 127.0.0.1:8002; return x; }`), false);
    assert.deepEqual(closed, [100]);
    assert.deepEqual(opened, ["127.0.0.1:8000", "127.0.0.1:8001"], "8002 is bound by the workers");
    assert.deepEqual(m.all(), [{ key: "127.0.0.1:8001", fd: 101 }]);
  });

  test("a reload that turns TLS on or off for a held listen is refused, and changes nothing", () => {
    const { processes, closed } = fakeProcesses();
    const m = new MasterListeners(processes, 1);
    m.apply(config(`server { listen 127.0.0.1:8000; listen 127.0.0.1:8001; return x; }`), true);
    assert.throws(
      () => m.apply(config(`server { listen 127.0.0.1:8000; proxy_pass 127.0.0.1:9; proxy_ssl on; }`), false),
      /"listen 127\.0\.0\.1:8000" would gain TLS, which reopens its socket.*restart, or upgrade the binary \(USR2\)/,
    );
    assert.deepEqual(closed, [], "8001 stays: the reload did not happen");
    assert.equal(m.all().length, 2);
  });

  test("a socket that cannot be bound stops the start with nginx's message, and none is left open", () => {
    const { processes, closed } = fakeProcesses({ "127.0.0.1:8000": [3] }, new Set([8000]));
    const m = new MasterListeners(processes, 2);
    assert.throws(
      () => m.apply(config(`server { listen 127.0.0.1:8000; return x; }`), true),
      /^Error: bind\(\) to 127\.0\.0\.1:8000 failed \(98: Address already in use\)$/,
    );
    assert.deepEqual(closed, [3]);
  });

  test("where workers cannot inherit a socket (Node, Deno), the master holds none", () => {
    const { processes } = fakeProcesses();
    const m = new MasterListeners({ ...processes, openListener: undefined }, 2);
    m.apply(config(`server { listen 127.0.0.1:8000; return x; }`), true);
    assert.equal(m.supported, false);
    assert.deepEqual(m.all(), []);
  });
});
