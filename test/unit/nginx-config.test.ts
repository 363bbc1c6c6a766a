// Reading nginx.conf into the Config model: the directives streamlb runs, the ones it warns
// about, nginx's errors and where they point, include with globs, inheritance, yaoweibin's tcp{}.
// The error texts are nginx 1.22's (checked with `nginx -t`) unless a case says otherwise.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError } from "../../src/core/config/errors.ts";
import { configFormat, parseConfig } from "../../src/core/config/load.ts";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { type ConfigFiles, formatWarning } from "../../src/core/config/read-nginx/files.ts";

/** An in-memory file system: readFile throws like node:fs, glob handles `*` and `?`. */
function fakeFiles(files: Record<string, string>): ConfigFiles {
  return {
    readFile(path) {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: no such file, open '${path}'`), { code: "ENOENT" });
      return text;
    },
    glob(pattern) {
      const re = new RegExp(
        `^${pattern.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")}$`,
      );
      return Object.keys(files)
        .filter((p) => re.test(p))
        .sort();
    },
  };
}

const MAIN = "/etc/nginx/nginx.conf";

function load(text: string, files: Record<string, string> = {}) {
  return loadNginxConfig(text, MAIN, { files: fakeFiles(files) });
}

function warnings(text: string, files: Record<string, string> = {}): string[] {
  return load(text, files).warnings.map(formatWarning);
}

function errorOf(text: string, files: Record<string, string> = {}): string {
  try {
    load(text, files);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e.message;
  }
  assert.fail("expected the config to be rejected");
}

/** A minimal valid config around a stream{} body. */
const withStream = (body: string) => `events {}\nstream {\n${body}\n}\n`;

// Debian's nginx.conf, as the package installs it, with a stream{} block added.
const DEBIAN = `user www-data;
worker_processes auto;
pid /run/nginx.pid;
error_log /var/log/nginx/error.log;
include /etc/nginx/modules-enabled/*.conf;

events {
	worker_connections 768;
	# multi_accept on;
}

http {
	sendfile on;
	tcp_nopush on;
	types_hash_max_size 2048;
	include /etc/nginx/mime.types;
	default_type application/octet-stream;
	ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3; # Dropping SSLv3, ref: POODLE
	ssl_prefer_server_ciphers on;
	access_log /var/log/nginx/access.log;
	gzip on;
	include /etc/nginx/conf.d/*.conf;
	include /etc/nginx/sites-enabled/*;
}

stream {
	proxy_connect_timeout 1s;
	upstream chat {
		server 127.0.0.1:6000 max_fails=3 fail_timeout=30s;
		server 127.0.0.1:6002 max_fails=3 fail_timeout=30s;
	}
	server {
		listen 8000;
		proxy_pass chat;
	}
}
`;

const DEBIAN_FILES = {
  "/etc/nginx/modules-enabled/50-mod-stream.conf": "load_module modules/ngx_stream_module.so;\n",
  "/etc/nginx/modules-enabled/10-mod-http-geoip.conf": "load_module modules/ngx_http_geoip_module.so;\n",
  "/etc/nginx/mime.types": "types {\n    text/html  html htm shtml;\n    image/png  png;\n}\n",
  "/etc/nginx/sites-enabled/default": `server {
	listen 80 default_server;
	listen [::]:80 default_server;
	root /var/www/html;
	index index.html index.htm index.nginx-debian.html;
	server_name _;
	location / {
		try_files $uri $uri/ =404;
	}
	location ~ \\.php$ {
		include snippets/fastcgi-php.conf;
	}
}
`,
  "/etc/nginx/snippets/fastcgi-php.conf": "fastcgi_split_path_info ^(.+?\\.php)(/.*)$;\nfastcgi_index index.php;\n",
};

describe("nginx config: a Debian nginx.conf", () => {
  test("runs its stream{} block with nginx's defaults", () => {
    const { config } = load(DEBIAN, DEBIAN_FILES);
    assert.equal(config.file, MAIN);
    assert.equal(config.pid, "/run/nginx.pid");
    assert.equal(config.workerProcesses, "auto");
    assert.deepEqual(config.errorLog, { path: "/var/log/nginx/error.log", level: "error" });
    const chat = config.stream.upstreams.get("chat")!;
    assert.deepEqual(chat.method, { kind: "round_robin" });
    assert.deepEqual(
      chat.servers.map((s) => [s.address, s.host, s.port, s.weight, s.maxFails, s.failTimeoutMs, s.backup]),
      [
        ["127.0.0.1:6000", "127.0.0.1", 6000, 1, 3, 30_000, false],
        ["127.0.0.1:6002", "127.0.0.1", 6002, 1, 3, 30_000, false],
      ],
    );
    assert.deepEqual(chat.loc, { file: MAIN, line: 28, col: 0 });
    const [server] = config.stream.servers;
    assert.deepEqual(server!.listen.map((l) => [l.host, l.port, l.loc.line]), [[null, 8000, 33]]);
    assert.equal(server!.proxyPass, "chat");
    assert.equal(server!.proxy.proxyConnectTimeoutMs, 1000, "inherited from stream{}");
    assert.equal(server!.proxy.proxyTimeoutMs, 600_000, "nginx's default 10m");
    assert.equal(server!.proxy.proxyBufferSize, 16 * 1024);
  });

  test("warns once for each directive it does not run, with the file and line", () => {
    assert.deepEqual(warnings(DEBIAN, DEBIAN_FILES), [
      `"user" is ignored: streamlb does not switch users (start it as the user it should run as) in ${MAIN}:1`,
      // glob matches come in sorted order
      `"load_module" is ignored: streamlb does not load nginx modules in /etc/nginx/modules-enabled/10-mod-http-geoip.conf:1`,
      `"load_module" is ignored: the stream module is part of streamlb in /etc/nginx/modules-enabled/50-mod-stream.conf:1`,
      `the "http" section is ignored: streamlb proxies TCP streams only in ${MAIN}:12`,
    ]);
  });

  test("reads the http{} includes, so their syntax errors still count", () => {
    const broken = { ...DEBIAN_FILES, "/etc/nginx/sites-enabled/default": "server {\n  listen 80;\n" };
    assert.equal(
      errorOf(DEBIAN, broken),
      `unexpected end of file, expecting "}" in /etc/nginx/sites-enabled/default:3`,
    );
    const missing: Record<string, string> = { ...DEBIAN_FILES };
    delete missing["/etc/nginx/mime.types"];
    assert.equal(
      errorOf(DEBIAN, missing),
      `open() "/etc/nginx/mime.types" failed (2: No such file or directory) in ${MAIN}:16`,
    );
  });
});

describe("nginx config: include", () => {
  const files = {
    "/etc/nginx/streams/b.conf": "server { listen 8002; proxy_pass backend; }\n",
    "/etc/nginx/streams/a.conf": "server { listen 8001; proxy_pass backend; }\n",
    "/etc/nginx/upstreams.conf": "upstream backend {\n    include /etc/nginx/servers.inc;\n}\n",
    "/etc/nginx/servers.inc": "server 10.0.0.1:80;\nserver 10.0.0.2:80 weight=2;\n",
  };

  test("works in any context; relative paths are relative to the main file's directory", () => {
    const { config } = load(withStream("include upstreams.conf;\ninclude streams/*.conf;"), files);
    assert.deepEqual(
      config.stream.upstreams.get("backend")!.servers.map((s) => [s.address, s.weight, s.loc.file, s.loc.line]),
      [
        ["10.0.0.1:80", 1, "/etc/nginx/servers.inc", 1],
        ["10.0.0.2:80", 2, "/etc/nginx/servers.inc", 2],
      ],
    );
    // a.conf before b.conf: glob order
    assert.deepEqual(
      config.stream.servers.map((s) => [s.listen[0]!.port, s.loc.file]),
      [
        [8001, "/etc/nginx/streams/a.conf"],
        [8002, "/etc/nginx/streams/b.conf"],
      ],
    );
  });

  test("a glob that matches nothing is fine", () => {
    const { config } = load(withStream("include /etc/nginx/none/*.conf;\ninclude upstreams.conf;"), files);
    assert.equal(config.stream.upstreams.size, 1);
  });

  test("a missing plain file is an error at the include", () => {
    assert.equal(
      errorOf(withStream("include nothere.conf;"), files),
      `open() "/etc/nginx/nothere.conf" failed (2: No such file or directory) in ${MAIN}:3`,
    );
  });

  test("an error inside an included file points into that file", () => {
    assert.equal(
      errorOf(withStream("include bad.conf;"), { "/etc/nginx/bad.conf": "\n\nserver {\n  listn 80;\n}\n" }),
      `unknown directive "listn" in /etc/nginx/bad.conf:4`,
    );
  });

  test("include takes one argument and ends with ;", () => {
    assert.equal(errorOf("events {}\ninclude a b;\n"), `invalid number of arguments in "include" directive in ${MAIN}:2`);
    assert.equal(errorOf("events {}\ninclude a {}\n"), `directive "include" is not terminated by ";" in ${MAIN}:2`);
  });

  test("a file that includes itself fails instead of looping", () => {
    assert.match(
      errorOf(withStream("include loop.conf;"), { "/etc/nginx/loop.conf": "include loop.conf;\n" }),
      /too many nested includes/,
    );
  });

  test("without file access, include is an error (and the rest still parses)", () => {
    assert.throws(
      () => loadNginxConfig(withStream("include x.conf;"), MAIN),
      /"include" needs file access.* in \/etc\/nginx\/nginx\.conf:3/,
    );
  });
});

describe("nginx config: proxy_* inheritance", () => {
  test("stream{} settings reach every server, wherever they are written; a server overrides", () => {
    const { config } = load(
      withStream(`
    server { listen 1; proxy_pass 127.0.0.1:9; proxy_timeout 3s; tcp_nodelay off; }
    server { listen 2; proxy_pass 127.0.0.1:9; }
    proxy_connect_timeout 2s;
    proxy_timeout 1m;
    proxy_next_upstream off;
    proxy_next_upstream_tries 3;
    proxy_next_upstream_timeout 10s;
    proxy_buffer_size 32k;
    proxy_half_close on;
    proxy_socket_keepalive ON;
    proxy_session_drop on;
    proxy_requests 2;
    proxy_responses 0;`),
    );
    const [a, b] = config.stream.servers.map((s) => s.proxy);
    assert.deepEqual(a, {
      proxyConnectTimeoutMs: 2000,
      proxyTimeoutMs: 3000,
      proxyNextUpstream: false,
      proxyNextUpstreamTries: 3,
      proxyNextUpstreamTimeoutMs: 10_000,
      proxyBufferSize: 32 * 1024,
      tcpNodelay: false,
      proxyHalfClose: true,
      proxySocketKeepalive: true,
      proxySessionDrop: true,
      proxyRequests: 2,
      proxyResponses: 0,
      proxyUploadRate: 0,
      proxyDownloadRate: 0,
      proxyProtocol: "off",
      proxyProtocolTimeoutMs: 30_000,
      sslPreread: false,
      prereadBufferSize: 16 * 1024,
      prereadTimeoutMs: 30_000,
    });
    assert.deepEqual(b, { ...a, proxyTimeoutMs: 60_000, tcpNodelay: true });
  });

  test("nginx's defaults when nothing is set", () => {
    const { config } = load(withStream("server { listen 1; proxy_pass 127.0.0.1:9; }"));
    assert.deepEqual(config.stream.servers[0]!.proxy, {
      proxyConnectTimeoutMs: 60_000,
      proxyTimeoutMs: 600_000,
      proxyNextUpstream: true,
      proxyNextUpstreamTries: 0,
      proxyNextUpstreamTimeoutMs: 0,
      proxyBufferSize: 16 * 1024,
      tcpNodelay: true,
      proxyHalfClose: false,
      proxySocketKeepalive: false,
      proxySessionDrop: false,
      proxyRequests: 0,
      // nginx's unset value (NGX_MAX_INT32_VALUE): no limit.
      proxyResponses: 2147483647,
      proxyUploadRate: 0,
      proxyDownloadRate: 0,
      proxyProtocol: "off",
      proxyProtocolTimeoutMs: 30_000,
      sslPreread: false,
      prereadBufferSize: 16 * 1024,
      prereadTimeoutMs: 30_000,
    });
    // proxy_pass host:port makes the implicit one-server upstream
    const implicit = config.stream.upstreams.get("127.0.0.1:9")!;
    assert.equal(implicit.implicit, true);
    assert.deepEqual(implicit.servers.map((s) => [s.host, s.port]), [["127.0.0.1", 9]]);
  });

  test("the deprecated proxy_downstream_buffer sets proxy_buffer_size, with nginx's warning", () => {
    const text = withStream("proxy_downstream_buffer 8k;\nserver { listen 1; proxy_pass 127.0.0.1:9; }");
    assert.equal(load(text).config.stream.servers[0]!.proxy.proxyBufferSize, 8192);
    assert.deepEqual(warnings(text), [
      `the "proxy_downstream_buffer" directive is deprecated, use the "proxy_buffer_size" directive instead in ${MAIN}:3`,
    ]);
    assert.equal(
      errorOf(withStream("proxy_buffer_size 8k;\nproxy_upstream_buffer 8k;")),
      `"proxy_upstream_buffer" directive is duplicate in ${MAIN}:4`,
    );
  });
});

describe("nginx config: upstream{}", () => {
  const up = (body: string) => withStream(`upstream u {\n${body}\n}\nserver { listen 1; proxy_pass u; }`);

  test("server parameters", () => {
    const { config } = load(
      up("server 10.0.0.1:80 weight=5 max_fails=0 fail_timeout=1m max_conns=100;\nserver [::1]:81 backup down;"),
    );
    const [a, b] = config.stream.upstreams.get("u")!.servers;
    assert.deepEqual(
      [a!.weight, a!.maxFails, a!.failTimeoutMs, a!.maxConns, a!.backup, a!.down],
      [5, 0, 60_000, 100, false, false],
    );
    assert.deepEqual([b!.address, b!.host, b!.port, b!.backup, b!.down], ["[::1]:81", "::1", 81, true, true]);
  });

  test("bad parameters and addresses, in nginx's words", () => {
    const cases: Array<[string, string]> = [
      ["server 10.0.0.1:80 weight=0;", `invalid parameter "weight=0"`],
      ["server 10.0.0.1:80 weight=x;", `invalid parameter "weight=x"`],
      ["server 10.0.0.1:80 foo;", `invalid parameter "foo"`],
      ["server 10.0.0.1:80 fail_timeout=10ms;", `invalid parameter "fail_timeout=10ms"`], // seconds only
      ["server 10.0.0.1;", `no port in upstream "10.0.0.1"`],
      ["server 10.0.0.1:99999;", `invalid port in upstream "10.0.0.1:99999"`],
      ["server 10.0.0.1:80 foo=1 weight=0;", `invalid parameter "foo=1"`], // parameters in order, before the address
    ];
    for (const [line, message] of cases) assert.equal(errorOf(up(line)), `${message} in ${MAIN}:4`, line);
  });

  test("fail_timeout takes M and y, as nginx keeps it in seconds", () => {
    const { config } = load(up("server 10.0.0.1:80 fail_timeout=1M;"));
    assert.equal(config.stream.upstreams.get("u")!.servers[0]!.failTimeoutMs, 30 * 24 * 3600 * 1000);
  });

  test("the balancing methods", () => {
    const method = (line: string) => load(up(`${line}\nserver 10.0.0.1:80;`)).config.stream.upstreams.get("u")!.method;
    assert.deepEqual(method("least_conn;"), { kind: "least_conn" });
    assert.deepEqual(method("hash $remote_addr;"), { kind: "hash", key: "$remote_addr", consistent: false });
    assert.deepEqual(method("hash $remote_addr consistent;"), { kind: "hash", key: "$remote_addr", consistent: true });
    assert.deepEqual(method("random;"), { kind: "random", two: false, leastConn: false });
    assert.deepEqual(method("random two;"), { kind: "random", two: true, leastConn: false });
    assert.deepEqual(method("random two least_conn;"), { kind: "random", two: true, leastConn: true });
    assert.equal(errorOf(up("hash $remote_addr foo;")), `invalid parameter "foo" in ${MAIN}:4`);
    assert.equal(errorOf(up("random three;")), `invalid parameter "three" in ${MAIN}:4`);
    assert.equal(errorOf(up("least_conn x;")), `invalid number of arguments in "least_conn" directive in ${MAIN}:4`);
    assert.match(
      errorOf(up("hash $remote_adr;\nserver 10.0.0.1:80;")),
      /^unknown "remote_adr" variable.* in \/etc\/nginx\/nginx\.conf:\d+$/,
    );
  });

  test("backup with hash or random: refused only on servers after the method (nginx's order)", () => {
    for (const method of ["hash $remote_addr;", "hash $remote_addr consistent;", "random;", "random two;"]) {
      assert.equal(
        errorOf(up(`server 10.0.0.1:80;\n${method}\nserver 10.0.0.2:80 backup;`)),
        `balancing method does not support parameter "backup" in ${MAIN}:6`,
        method,
      );
      const { config } = load(up(`server 10.0.0.1:80;\nserver 10.0.0.2:80 backup;\n${method}`));
      assert.deepEqual(
        config.stream.upstreams.get("u")!.servers.map((s) => s.backup),
        [false, true],
        `${method} after the backup server is accepted, as nginx does`,
      );
    }
    const { config } = load(up("least_conn;\nserver 10.0.0.1:80;\nserver 10.0.0.2:80 backup;"));
    assert.equal(config.stream.upstreams.get("u")!.servers[1]!.backup, true, "least_conn allows backup");
  });

  test("a second method directive wins, with nginx's warning", () => {
    const text = up("least_conn;\nhash $remote_addr;\nserver 10.0.0.1:80;");
    assert.deepEqual(load(text).config.stream.upstreams.get("u")!.method, {
      kind: "hash",
      key: "$remote_addr",
      consistent: false,
    });
    assert.deepEqual(warnings(text), [`load balancing method redefined in ${MAIN}:5`]);
  });

  test("an upstream needs servers; names are unique regardless of case, and proxy_pass finds them so", () => {
    assert.equal(errorOf(up("")), `no servers are inside upstream in ${MAIN}:5`);
    assert.equal(
      errorOf(withStream("upstream a { server 10.0.0.1:80; }\nupstream A { server 10.0.0.1:80; }")),
      `duplicate upstream "A" in ${MAIN}:4`,
    );
    const { config } = load(withStream("upstream Chat { server 10.0.0.1:80; }\nserver { listen 1; proxy_pass chat; }"));
    assert.equal(config.stream.servers[0]!.proxyPass, "Chat");
  });
});

describe("nginx config: server{} and listen", () => {
  const server = (body: string) => withStream(`server {\n${body}\n}`);

  test("listen forms", () => {
    const { config } = load(
      server(
        "listen 8000;\nlisten 127.0.0.1:8001 reuseport rcvbuf=64k;\nlisten [::1]:8002;\nlisten *:8003;\nlisten 9000-9002;\nproxy_pass 127.0.0.1:9;",
      ),
    );
    assert.deepEqual(
      config.stream.servers[0]!.listen.map((l) => [l.host, l.port]),
      [
        [null, 8000],
        ["127.0.0.1", 8001],
        ["::1", 8002],
        [null, 8003],
        [null, 9000],
        [null, 9001],
        [null, 9002],
      ],
    );
  });

  test("listen errors", () => {
    const cases: Array<[string, string]> = [
      ["listen 70000;", `invalid port in "70000" of the "listen" directive`],
      ["listen 127.0.0.1:x;", `invalid port in "127.0.0.1:x" of the "listen" directive`],
      ["listen 8000 foo;", `the invalid "foo" parameter`],
      ["listen 8000 backlog=x;", `invalid backlog "backlog=x"`],
      ["listen 8000 rcvbuf=x;", `invalid rcvbuf "rcvbuf=x"`],
      ["listen 8000 so_keepalive=x;", `invalid so_keepalive value: "x"`],
      // nginx refuses these beside udp, before it looks at their values.
      ["listen 8000 udp ssl;", `"listen" directive "ssl" parameter is incompatible with "udp"`],
      ["listen 8000 udp proxy_protocol;", `"listen" directive "proxy_protocol" parameter is incompatible with "udp"`],
      ["listen 8000 backlog=x udp;", `"listen" directive "backlog" parameter is incompatible with "udp"`],
      ["listen 8000 udp so_keepalive=on;", `"listen" directive "so_keepalive" parameter is incompatible with "udp"`],
      ["listen 8000 udp fastopen=1;", `"listen" directive "fastopen" parameter is incompatible with "udp"`],
      ["listen 8000 udp deferred;", `"listen" directive "deferred" parameter is incompatible with "udp"`],
      ["listen 8000 udp foo;", `the invalid "foo" parameter`],
    ];
    for (const [line, message] of cases) {
      assert.equal(errorOf(server(`${line}\nproxy_pass 127.0.0.1:9;`)), `${message} in ${MAIN}:4`, line);
    }
  });

  test("listen … udp [reuseport]: a datagram listener, which may share its address and port with a TCP one", () => {
    const { config } = load(
      withStream(`server { listen 127.0.0.1:53 udp reuseport; listen 53 udp; listen 127.0.0.1:53; proxy_pass 127.0.0.1:9; }`),
    );
    assert.deepEqual(
      config.stream.servers[0]!.listen.map(({ host, port, udp, reusePort }) => ({ host, port, udp, reusePort })),
      [
        { host: "127.0.0.1", port: 53, udp: true, reusePort: true },
        { host: null, port: 53, udp: true, reusePort: undefined },
        { host: "127.0.0.1", port: 53, udp: undefined, reusePort: undefined },
      ],
    );
    assert.equal(
      errorOf(server(`listen 127.0.0.1:53 udp;\nlisten 127.0.0.1:53 udp;\nproxy_pass 127.0.0.1:9;`)),
      `duplicate "127.0.0.1:53 udp" address and port pair in ${MAIN}:5`,
    );
    // reuseport on a UDP listener is applied, so it is no warning there.
    assert.deepEqual(warnings(server("listen 8000 udp reuseport;\nproxy_pass 127.0.0.1:9;")), []);
  });

  test("harmless listen parameters streamlb does not apply are warned about, with the reason", () => {
    assert.deepEqual(warnings(server("listen 8000 reuseport default_server;\nproxy_pass 127.0.0.1:9;")), [
      `the "reuseport" parameter of "listen" is ignored: one process needs none, and streamlb's workers always use SO_REUSEPORT in ${MAIN}:4`,
    ]);
  });

  test("listen parameters that limit or shape connections are refused, after nginx's own checks", () => {
    for (const p of ["backlog=511", "so_keepalive=on", "ipv6only=on", "multipath"]) {
      const name = p.replace(/=.*$/, "");
      assert.equal(
        errorOf(server(`listen [::]:8000 ${p};\nproxy_pass 127.0.0.1:9;`)),
        `the "${name}" parameter of "listen" is not supported yet in ${MAIN}:4`,
      );
    }
  });

  test("a server needs listen and proxy_pass", () => {
    assert.equal(errorOf(server("proxy_pass 127.0.0.1:9;")), `no "listen" is defined for server in ${MAIN}:3`);
    assert.equal(errorOf(server("listen 1;")), `no handler for server in ${MAIN}:3`);
    // return is a handler too; the last handler of a server wins, as in nginx.
    assert.equal(load(server("listen 1;\nreturn 200;")).config.stream.servers[0]!.return, "200");
    const last = load(server("listen 1;\nproxy_pass 127.0.0.1:9;\nreturn x;")).config.stream.servers[0]!;
    assert.deepEqual([last.proxyPass, last.return], [null, "x"]);
    // proxy_pass with variables: the names are checked once the config is read.
    assert.match(errorOf(server("listen 1;\nproxy_pass $upstream;")), /^unknown "upstream" variable/);
  });
});

describe("nginx config: nginx's errors", () => {
  const cases: Array<[string, string, string]> = [
    ["unknown directive", "events {}\nfoo bar;\n", `unknown directive "foo" in ${MAIN}:2`],
    ["`foo#bar` is one word", "events {}\nfoo#bar;\n", `unknown directive "foo#bar" in ${MAIN}:2`],
    ["a stream directive at the top", "events {}\nlisten 80;\n", `"listen" directive is not allowed here in ${MAIN}:2`],
    [
      "an http directive in stream{}",
      withStream("proxy_set_header a b;"),
      `"proxy_set_header" directive is not allowed here in ${MAIN}:3`,
    ],
    ["a tcp{} directive in stream{} is unknown to nginx", withStream("timeout 5s;"), `unknown directive "timeout" in ${MAIN}:3`],
    ["duplicate", withStream("proxy_timeout 1s;\nproxy_timeout 2s;"), `"proxy_timeout" directive is duplicate in ${MAIN}:4`],
    ["duplicate block", "events {}\nevents {}\n", `"events" directive is duplicate in ${MAIN}:2`],
    ["argument count", withStream("proxy_timeout;"), `invalid number of arguments in "proxy_timeout" directive in ${MAIN}:3`],
    ["a block directive without {", withStream("upstream u;"), `directive "upstream" has no opening "{" in ${MAIN}:3`],
    [
      "a simple directive with {",
      withStream("proxy_timeout 1s {}"),
      `directive "proxy_timeout" is not terminated by ";" in ${MAIN}:3`,
    ],
    [
      "a flag that is not on/off",
      withStream("tcp_nodelay yes;"),
      `invalid value "yes" in "tcp_nodelay" directive, it must be "on" or "off" in ${MAIN}:3`,
    ],
    ["a bad time", withStream("proxy_timeout 1M;"), `"proxy_timeout" directive invalid value in ${MAIN}:3`],
    ["a bad size", withStream("proxy_buffer_size 1g;"), `"proxy_buffer_size" directive invalid value in ${MAIN}:3`],
    [
      "a bad number",
      withStream("proxy_next_upstream_tries x;"),
      `"proxy_next_upstream_tries" directive invalid number in ${MAIN}:3`,
    ],
    [
      "a bad value in an ignored directive",
      withStream("preread_timeout x;"),
      `"preread_timeout" directive invalid value in ${MAIN}:3`,
    ],
    ["no events{}", "stream {}\n", `no "events" section in configuration`],
    ["worker_processes", "events {}\nworker_processes x;\n", `"worker_processes" directive invalid value in ${MAIN}:2`],
    ["error_log level", "events {}\nerror_log stderr loud;\n", `invalid log level "loud" in ${MAIN}:2`],
    // the first problem in file order wins, as nginx acts on each directive when it reads it
    ["errors in file order", "events {}\nfoo;\nstream {\n", `unknown directive "foo" in ${MAIN}:2`],
    [
      "syntax error after good directives",
      "events {}\nstream {\n  proxy_timeout 1s;\n",
      `unexpected end of file, expecting "}" in ${MAIN}:4`,
    ],
  ];
  for (const [name, text, message] of cases) test(name, () => assert.equal(errorOf(text), message));

  test("on/off is case-insensitive", () => {
    const { config } = load(withStream("tcp_nodelay OFF;\nproxy_half_close On;\nserver { listen 1; proxy_pass 127.0.0.1:9; }"));
    assert.equal(config.stream.servers[0]!.proxy.tcpNodelay, false);
    assert.equal(config.stream.servers[0]!.proxy.proxyHalfClose, true);
  });
});

describe("nginx config: main context", () => {
  test("the directives streamlb uses take effect", () => {
    const { config } = load(
      "worker_processes 4;\npid /tmp/x.pid;\nerror_log stderr info;\nworker_shutdown_timeout 30s;\nevents {}\nstream {}\n",
    );
    assert.equal(config.workerProcesses, 4);
    assert.equal(config.pid, "/tmp/x.pid");
    assert.deepEqual(config.errorLog, { path: "stderr", level: "info" });
    assert.equal(config.workerShutdownTimeoutMs, 30_000);
  });

  test("the harmless others are accepted with one warning each, with the reason", () => {
    const text = `
daemon off;
master_process on;
env TZ;
thread_pool default threads=32 max_queue=65536;
timer_resolution 100ms;
worker_cpu_affinity auto;
worker_priority -5;
lock_file /var/lock/nginx.lock;
pcre_jit on;
events { use epoll; multi_accept on; accept_mutex off; worker_connections 64; }
stream {}
`;
    const w = warnings(text);
    // daemon off and master_process on are what streamlb does: no word about them.
    assert.equal(w.length, 10, w.join("\n"));
    assert.ok(w.every((m) => / in \/etc\/nginx\/nginx\.conf:\d+$/.test(m)));
    assert.equal(w[0], `"env" is ignored: environment variables kept for nginx's workers in ${MAIN}:4`);
    assert.equal(load(text).config.workerConnections, 64);
  });

  test("master_process off runs one process, as nginx's single-process mode", () => {
    assert.equal(load("worker_processes 4;\nmaster_process off;\nevents {}\nstream {}\n").config.workerProcesses, 1);
    assert.equal(load("worker_processes 4;\nmaster_process on;\nevents {}\nstream {}\n").config.workerProcesses, 4);
  });

  test("a resource limit streamlb cannot set is refused, not ignored", () => {
    assert.equal(
      errorOf("worker_rlimit_nofile 65535;\nevents {}\nstream {}\n"),
      `"worker_rlimit_nofile" directive is not supported yet in ${MAIN}:1`,
    );
  });

  test("directives whose value is what streamlb does anyway are accepted without a word", () => {
    const text = withStream(`
log_format basic '$remote_addr [$time_local] $status';
access_log /var/log/nginx/stream.log basic;
server {
    listen 1;
    proxy_pass 127.0.0.1:9;
    access_log off;
    proxy_protocol off;
    proxy_ssl off;
    ssl_preread off;
    proxy_upload_rate 0;
    allow 127.0.0.1;
}`);
    assert.deepEqual(warnings(text), []);
  });

  test("unsupported stream directives that guard access or shape traffic are refused with their place", () => {
    const inServer = (line: string) => `server { listen 1; proxy_pass 127.0.0.1:9;\n${line} }`;
    const cases: Array<[string, string, number]> = [
      // TLS directives streamlb does not run yet (proxy_ssl and ssl_* run: tls-config.test.ts).
      ["ssl_stapling", inServer("ssl_stapling on;"), 4],
      ["proxy_ssl_conf_command", "proxy_ssl_conf_command Options X;", 3],
      // In server{} a resolver serves only proxy_pass $var, which streamlb does not run yet.
      ["resolver", inServer("resolver 127.0.0.1;"), 4],
    ];
    for (const [name, text, at] of cases) {
      assert.equal(errorOf(withStream(text)), `"${name}" directive is not supported yet in ${MAIN}:${at}`, text);
    }
  });

  test("proxy_upload_rate/proxy_download_rate are read for UDP and TCP listeners alike", () => {
    const both = load(
      withStream(`proxy_upload_rate 10k;\nserver { listen 1 udp; listen 2; proxy_pass 127.0.0.1:9; proxy_download_rate 1m; }`),
    );
    assert.deepEqual(
      [both.config.stream.servers[0]!.proxy.proxyUploadRate, both.config.stream.servers[0]!.proxy.proxyDownloadRate],
      [10 * 1024, 1024 * 1024],
    );
    assert.equal(
      errorOf(withStream(`server { listen 2; proxy_pass 127.0.0.1:9; proxy_download_rate 1x; }`)),
      `"proxy_download_rate" directive invalid value in ${MAIN}:3`,
    );
  });

  test("a config without stream{} has nothing for streamlb to run", () => {
    assert.match(errorOf("events {}\nhttp {}\n"), /^no "stream" section in configuration/);
  });
});

describe("nginx config: yaoweibin's tcp{}", () => {
  const TCP = `events {}
tcp {
    timeout 30000;
    upstream cluster {
        server 127.0.0.1:3306 weight=2;
        server 127.0.0.1 max_fails=2 fail_timeout=20s;
        check interval=3000 rise=2 fall=5 timeout=1000 type=tcp;
    }
    server {
        listen 8888;
        proxy_pass cluster;
        proxy_connect_timeout 5s;
    }
    server {
        listen 8889;
        proxy_pass 10.0.0.9;
    }
}
`;

  test("has the same shape as stream{}, with its defaults (port 80, timeout, 4k buffer)", () => {
    const { config } = load(TCP);
    const cluster = config.stream.upstreams.get("cluster")!;
    assert.deepEqual(
      cluster.servers.map((s) => [s.address, s.port, s.weight, s.maxFails, s.failTimeoutMs]),
      [
        ["127.0.0.1:3306", 3306, 2, 1, 10_000],
        ["127.0.0.1:80", 80, 1, 2, 20_000],
      ],
    );
    const [a, b] = config.stream.servers;
    assert.equal(a!.proxy.proxyTimeoutMs, 30_000_000, "a bare number is seconds, as ngx_parse_time reads it");
    assert.equal(a!.proxy.proxyConnectTimeoutMs, 5000);
    assert.equal(a!.proxy.proxyBufferSize, 4096);
    assert.equal(b!.proxyPass, "10.0.0.9:80");
  });

  test("check takes effect, without a warning, and its mistakes are nginx's errors", () => {
    assert.deepEqual(warnings(TCP), []);
    assert.equal(load(TCP).config.stream.upstreams.get("cluster")!.healthCheck?.intervalMs, 3000);
    assert.equal(
      errorOf(TCP.replace("type=tcp", "type=tcp bogus=1")),
      `invalid parameter "bogus=1" in ${MAIN}:7`,
    );
  });

  test("ip_hash becomes hash $remote_addr, with a warning, and refuses backup after it", () => {
    const text = TCP.replace("check interval", "ip_hash;\n        check interval");
    assert.deepEqual(load(text).config.stream.upstreams.get("cluster")!.method, {
      kind: "hash",
      key: "$remote_addr",
      consistent: false,
    });
    assert.match(warnings(text)[0]!, /^"ip_hash" is not supported yet: "hash \$remote_addr" is used instead/);
    assert.equal(
      errorOf(TCP.replace("server 127.0.0.1:3306 weight=2;", "ip_hash;\n        server 127.0.0.1:3306 backup;")),
      `invalid parameter "backup" in ${MAIN}:6`,
    );
  });

  test("stream{} directives are unknown in tcp{} and the other way round", () => {
    assert.equal(errorOf("events {}\ntcp { proxy_timeout 1s; }\n"), `unknown directive "proxy_timeout" in ${MAIN}:2`);
  });
});

describe("parseConfig picks the spelling", () => {
  test("nginx by its blocks or directives, YAML by keys; the extension first", () => {
    assert.equal(configFormat(DEBIAN, "/etc/nginx/nginx.conf"), "nginx");
    assert.equal(configFormat("# hi\nworker_processes 1;\n", "x"), "nginx");
    assert.equal(configFormat("stream:\n  servers: []\n", "x"), "yaml");
    // .conf is nginx's: whatever it holds, the nginx reader says where it goes wrong.
    assert.equal(configFormat("stream:\n  servers: []\n", "x.conf"), "nginx");
    assert.equal(configFormat("\u0000\u0001garbage", "x.conf"), "nginx");
    assert.equal(configFormat("# hi\npid: /run/x.pid\n", "x"), "yaml");
    assert.equal(configFormat("{ stream: {} }", "x"), "yaml");
    assert.equal(configFormat("events {}\nstream {}\n", "x.yaml"), "yaml");
  });

  test("binary data without an extension is neither, said with the line it starts on", () => {
    assert.throws(
      () => configFormat("# ok\nstream:\n\u0000\u0007\u00ff", "/etc/x"),
      /^ConfigError: "\/etc\/x" is neither an nginx config nor YAML: it holds binary data \(line 3\)/,
    );
    // Not UTF-8 decodes as U+FFFD.
    assert.throws(() => configFormat("pid: \ufffd\ufffd\n", "/etc/x"), /binary data \(line 1\)/);
    // Tabs, CR and form feeds are text.
    assert.equal(configFormat("stream:\r\n\t# x\f\n", "/etc/x"), "yaml");
  });

  test("warnings reach the caller", () => {
    const seen: string[] = [];
    const config = parseConfig("user nobody;\nevents {}\nstream {}\n", "t.conf", {
      files: fakeFiles({}),
      onWarning: (w) => seen.push(formatWarning(w)),
    });
    assert.equal(config.stream.servers.length, 0);
    assert.deepEqual(seen, [
      `"user" is ignored: streamlb does not switch users (start it as the user it should run as) in t.conf:1`,
    ]);
  });
});
