// Fail closed, on node, deno, bun and the binary: allow/deny keep out whom the file keeps out,
// a directive that guards access but is not implemented stops the start (-t) and a reload,
// and worker_connections closes what does not fit, as Debian's nginx does beside it.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { type Backend, firstLine, freePorts, startNamedEcho } from "../support/backends.ts";
import { ensureNginx, startNginx, STREAM_MODULE } from "../support/nginx.ts";
import { runStreamlb, startStreamlb, TARGETS, tempDir, writeConfig } from "../support/streamlb.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function conf(port: number, backend: string, server: string, events = ""): string {
  return `error_log stderr notice;
events { ${events} }
stream {
    server {
        listen 127.0.0.1:${port};
        proxy_pass ${backend};
${server}
    }
}
`;
}

/** Connects (from `from`) and says what came back: the backend's greeting, or a close without a byte. */
function probe(port: number, from?: string): Promise<"served" | "closed"> {
  return firstLine(port, "127.0.0.1", from).then(
    () => "served" as const,
    () => "closed" as const,
  );
}

/**
 * `count` clients at once, each held open: how many got the backend's greeting. Every
 * client is closed before this returns.
 */
async function concurrentClients(port: number, count: number): Promise<number> {
  const sockets: net.Socket[] = [];
  const outcomes = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<boolean>((resolve) => {
          const s = net.connect(port, "127.0.0.1");
          sockets.push(s);
          const timer = setTimeout(() => resolve(false), 3000);
          s.once("data", () => (clearTimeout(timer), resolve(true)));
          s.once("close", () => (clearTimeout(timer), resolve(false)));
          s.on("error", () => undefined);
        }),
    ),
  );
  for (const s of sockets) s.destroy();
  return outcomes.filter(Boolean).length;
}

describe("fail closed", () => {
  let backend: Backend;
  before(async () => {
    backend = await startNamedEcho("a");
  });
  after(async () => {
    await backend.close();
  });

  for (const target of TARGETS) {
    describe(target, () => {
      test("deny all: no client reaches the backend, each is logged as nginx logs it", async () => {
        const [port] = await freePorts(1);
        const lb = await startStreamlb(target, writeConfig(conf(port!, backend.address, "deny all;"), "nginx.conf"));
        try {
          const before = backend.accepted;
          for (let i = 0; i < 3; i++) assert.equal(await probe(port!), "closed");
          assert.equal(backend.accepted, before, "the backend saw no connection");
          await lb.waitForLog(/\[error\] \d+#0: \*\d+ access forbidden by rule, client: 127\.0\.0\.1, server: 127\.0\.0\.1:\d+/);
        } finally {
          await lb.stop();
        }
      });

      test("allow 127.0.0.2; deny all: only the client from 127.0.0.2 is proxied, the others logged with $status 403", async () => {
        const [port] = await freePorts(1);
        const log = `${tempDir()}/access.log`;
        const rules = `allow 127.0.0.2;\ndeny all;\naccess_log ${log} basic;`;
        const lb = await startStreamlb(target, writeConfig(conf(port!, backend.address, rules), "nginx.conf"));
        try {
          const before = backend.accepted;
          assert.equal(await probe(port!, "127.0.0.1"), "closed");
          assert.equal(await probe(port!, "127.0.0.2"), "served");
          assert.equal(await probe(port!, "127.0.0.3"), "closed");
          assert.equal(backend.accepted - before, 1);
        } finally {
          await lb.stop();
        }
        // nginx's "basic" format: $remote_addr [$time_local] $protocol $status ...
        const lines = readFileSync(log, "utf8").trim().split("\n");
        assert.deepEqual(
          lines.map((l) => /^(\S+) \[[^\]]+\] TCP (\d+) /.exec(l)?.slice(1).join(" ")).sort(),
          ["127.0.0.1 403", "127.0.0.2 200", "127.0.0.3 403"],
        );
      });

      test("a security directive not implemented: -t fails with file:line, and a reload with it keeps the old config", async () => {
        const [port] = await freePorts(1);
        const dir = tempDir();
        const bad = `${dir}/bad.conf`;
        writeFileSync(bad, conf(port!, backend.address, "js_access main.allow;"));
        const t = await runStreamlb(target, ["-t", "-c", bad]);
        assert.equal(t.code, 1);
        assert.match(t.stderr, new RegExp(`\\[emerg\\] "js_access" directive is not supported yet in ${bad}:7`));
        assert.match(t.stderr, /test failed/);

        const file = `${dir}/nginx.conf`;
        writeFileSync(file, conf(port!, backend.address, ""));
        const lb = await startStreamlb(target, file);
        try {
          assert.equal(await probe(port!), "served");
          writeFileSync(file, conf(port!, backend.address, "js_access main.allow;"));
          lb.signal("SIGHUP");
          await lb.waitForLog(
            /"js_access" directive is not supported yet in .*nginx\.conf:7; reload failed, the running configuration is kept/,
          );
          assert.equal(await probe(port!), "served");
        } finally {
          await lb.stop();
        }
      });

      test("worker_connections 16 and 40 clients at once: 7 sessions, the rest closed with nginx's alert, then service again", async () => {
        const [port] = await freePorts(1);
        const lb = await startStreamlb(
          target,
          writeConfig(conf(port!, backend.address, "", "worker_connections 16;"), "nginx.conf"),
        );
        try {
          assert.equal(await concurrentClients(port!, 40), 7);
          await lb.waitForLog(/\[alert\] \d+#0: (\*\d+ )?16 worker_connections are not enough/);
          await sleep(300);
          assert.equal(await probe(port!), "served", "the closed clients gave their connections back");
        } finally {
          await lb.stop();
        }
      });
    });
  }

  const nginx = ensureNginx();
  test("worker_connections 16 and 40 clients at once: Debian's nginx serves the same 7", {
    skip: "skip" in nginx ? nginx.skip : false,
  }, async () => {
    if (!("bin" in nginx)) return;
    const dir = tempDir();
    const [port] = await freePorts(1);
    const text = `load_module ${STREAM_MODULE};\npid ${dir}/nginx.pid;\n${
      conf(port!, backend.address, "", "worker_connections 16;")
    }`;
    const ngx = await startNginx(
      nginx.bin,
      dir,
      text.replace("error_log stderr notice;", `error_log ${dir}/error.log notice;`),
      port!,
    );
    try {
      assert.equal(await concurrentClients(port!, 40), 7);
      assert.match(ngx.log(), /\[alert\] .*16 worker_connections are not enough while connecting to upstream/);
      await sleep(300);
      assert.equal(await probe(port!), "served");
    } finally {
      await ngx.stop();
    }
  });
});
