// `streamlb -c /etc/nginx/nginx.conf`: a Debian-like nginx.conf (module includes, an http{}
// block, a stream{} block) runs under every target, balances round robin over real backends,
// and says which directives it ignored; `-t` and `convert` work on it too.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Backend, firstLine, freePorts, startNamedEcho } from "../support/backends.ts";
import { runStreamlb, startStreamlb, type Streamlb, TARGETS, tempDir, writeConfig } from "../support/streamlb.ts";

/** Debian's nginx.conf layout, with a stream{} block over `backends` listening on `port`. */
function debianConfig(backends: readonly Backend[], port: number): string {
  const dir = tempDir();
  const file = join(dir, "nginx.conf");
  writeFileSync(
    file,
    `user www-data;
worker_processes auto;
pid ${dir}/nginx.pid;
error_log stderr notice;
include modules-enabled/*.conf;

events {
	worker_connections 768;
	# multi_accept on;
}

http {
	sendfile on;
	tcp_nopush on;
	include mime.types;
	default_type application/octet-stream;
	access_log /var/log/nginx/access.log;
	gzip on;

	server {
		listen 80 default_server;
		root /var/www/html;
		index index.html index.htm index.nginx-debian.html;
		server_name _;
		location / {
			try_files $uri $uri/ =404;
		}
	}
}

stream {
	proxy_connect_timeout 1s;
	upstream chat {
${backends.map((b) => `		server ${b.address} max_fails=3 fail_timeout=30s;`).join("\n")}
	}
	server {
		listen 127.0.0.1:${port};
		proxy_pass chat;
	}
}
`,
  );
  mkdirSync(join(dir, "modules-enabled"));
  writeFileSync(join(dir, "modules-enabled/50-mod-stream.conf"), "load_module modules/ngx_stream_module.so;\n");
  writeFileSync(join(dir, "mime.types"), "types {\n    text/html  html htm shtml;\n    text/css   css;\n}\n");
  return file;
}

for (const target of TARGETS) {
  describe(`nginx.conf on ${target}`, () => {
    const backends: Backend[] = [];
    let lb: Streamlb;
    let file: string;

    before(async () => {
      backends.push(await startNamedEcho("a"), await startNamedEcho("b"));
      const [port] = await freePorts(1);
      file = debianConfig(backends, port!);
      lb = await startStreamlb(target, file);
    });

    after(async () => {
      await lb?.stop();
      await Promise.all(backends.map((b) => b.close()));
    });

    test("balances round robin over the stream{} upstream", async () => {
      const seen: string[] = [];
      for (let i = 0; i < 6; i++) seen.push(await firstLine(lb.ports[0]!));
      // `worker_processes auto` runs one worker per CPU, each with its own round robin (as
      // nginx's workers without `zone`): per worker a and b alternate, so the totals differ by
      // at most one per worker, whichever worker each session reached.
      const a = seen.filter((n) => n === "a").length;
      const b = seen.filter((n) => n === "b").length;
      assert.equal(a + b, 6, seen.join(","));
      assert.ok(a > 0 && b > 0 && Math.abs(a - b) <= availableParallelism(), seen.join(","));
    });

    test("warns about what it ignores, with nginx's file:line", () => {
      const log = lb.log();
      const dir = dirname(file);
      for (
        const line of [
          `[warn] "user" is ignored: streamlb does not switch users (start it as the user it should run as) in ${file}:1`,
          `[warn] "load_module" is ignored: the stream module is part of streamlb in ${dir}/modules-enabled/50-mod-stream.conf:1`,
          `[warn] the "http" section is ignored: streamlb proxies TCP streams only in ${file}:12`,
        ]
      ) {
        assert.ok(log.includes(line), `missing ${line} in:\n${log}`);
      }
      // worker_connections (line 8) takes effect now, and no [warn] names anything that guards access.
      assert.ok(!log.includes("worker_connections"), log);
    });

    test("-t checks it the way nginx -t does", async () => {
      const ok = await runStreamlb(target, ["-t", "-c", file]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stderr, /syntax is ok/);
      assert.match(ok.stderr, /test is successful/);

      const broken = writeConfig(`events {}\nstream {\n    server {\n        listn 80;\n    }\n}\n`, "nginx.conf");
      const bad = await runStreamlb(target, ["-t", "-c", broken]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, new RegExp(`\\[emerg\\] unknown directive "listn" in ${broken}:4\\n`));
      assert.match(bad.stderr, /test failed/);
    });

    test("convert prints YAML that runs the same", async () => {
      const out = await runStreamlb(target, ["convert", file]);
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stdout, /^stream:\n {2}proxy_connect_timeout: 1s\n {2}upstreams:\n {4}chat:\n/m);
      const yaml = writeConfig(out.stdout, "converted.yaml");
      const check = await runStreamlb(target, ["-t", "-c", yaml]);
      assert.equal(check.code, 0, check.stderr);
      const back = await runStreamlb(target, ["convert", yaml, "--to", "nginx"]);
      assert.equal(back.code, 0, back.stderr);
      assert.match(back.stdout, /upstream chat \{\n {8}server 127\.0\.0\.1:\d+ max_fails=3 fail_timeout=30s;/);
    });
  });
}
