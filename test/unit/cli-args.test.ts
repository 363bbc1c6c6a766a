// The command line read as nginx reads its own (messages checked against nginx 1.22.1), and
// what -g, -e and -T hand the config reader.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type CliOptions, parseCliArgs } from "../../src/cli-args.ts";
import { ConfigError } from "../../src/core/config/errors.ts";
import { parseConfig } from "../../src/core/config/load.ts";
import type { ConfigFiles } from "../../src/core/config/read-nginx/files.ts";
import { dumpFiles, RecordedFiles } from "../../src/core/config/read-nginx/recorded-files.ts";

function options(...argv: string[]): CliOptions {
  const r = parseCliArgs(argv);
  assert.ok(r.ok, r.ok ? "" : r.error);
  return r.options;
}

function error(...argv: string[]): string {
  const r = parseCliArgs(argv);
  assert.ok(!r.ok, `${argv.join(" ")} was accepted`);
  return r.error;
}

describe("nginx's options", () => {
  test("values detached or attached, flags grouped", () => {
    const o = options("-p", "/srv/", "-cnginx.conf", "-e", "error.log", "-g", "pid x.pid;", "-tq");
    assert.equal(o.prefix, "/srv/");
    assert.equal(o.config, "nginx.conf");
    assert.equal(o.errorLog, "error.log");
    assert.equal(o.globals, "pid x.pid;");
    assert.ok(o.test && o.quiet && !o.dump);
  });

  test("a value is the next argument whatever it looks like, and the last one wins", () => {
    assert.equal(options("-c", "-t").config, "-t");
    assert.equal(options("-c", "a", "-c", "b").config, "b");
  });

  test("-T tests and dumps, -V shows the configure line, -h the help", () => {
    const t = options("-T");
    assert.ok(t.test && t.dump);
    const v = options("-V");
    assert.ok(v.version && v.configure);
    const h = options("-?");
    assert.ok(h.help && h.version);
  });

  test("-s takes nginx's four signals, attached or not", () => {
    assert.equal(options("-s", "reload").signal, "reload");
    assert.equal(options("-squit").signal, "quit");
    assert.equal(error("-s", "foo"), 'invalid option: "-s foo"');
    assert.equal(error("-sfoo"), 'invalid option: "-s foo"');
  });

  test("mistakes in nginx's words", () => {
    assert.equal(error("-x"), 'invalid option: "x"');
    assert.equal(error("-tx"), 'invalid option: "x"');
    assert.equal(error("foo"), 'invalid option: "foo"');
    assert.equal(error("--bogus"), 'invalid option: "--bogus"');
    assert.equal(error("-c"), 'option "-c" requires file name');
    assert.equal(error("-p"), 'option "-p" requires directory name');
    assert.equal(error("-e"), 'option "-e" requires file name');
    assert.equal(error("-g"), 'option "-g" requires parameter');
    assert.equal(error("-s"), 'option "-s" requires parameter');
  });

  test("streamlb's commands: demo takes options after it, convert keeps its own", () => {
    const d = options("demo", "-c", "x.yaml");
    assert.equal(d.command, "demo");
    assert.equal(d.config, "x.yaml");
    const c = options("convert", "in.conf", "--to", "yaml");
    assert.equal(c.command, "convert");
    assert.deepEqual(c.commandArgs, ["in.conf", "--to", "yaml"]);
  });
});

const NGINX = "events {}\nstream {\n  server { listen 127.0.0.1:1; proxy_pass 127.0.0.1:2; }\n}\n";

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  assert.fail("no error");
}

describe("-g: global directives before the file", () => {
  test("set main-context directives", () => {
    const c = parseConfig(NGINX, "/etc/n.conf", { globals: "pid /run/x.pid; worker_processes 2;" });
    assert.equal(c.pid, "/run/x.pid");
    assert.equal(c.workerProcesses, 2);
  });

  test("a directive in both is a duplicate, reported at the file's line as nginx does", () => {
    assert.equal(
      errorOf(() => parseConfig(`pid a.pid;\n${NGINX}`, "/etc/n.conf", { globals: "pid b.pid;" })),
      `"pid" directive is duplicate in /etc/n.conf:1`,
    );
  });

  test("an error in them is said to be in the command line", () => {
    assert.equal(
      errorOf(() => parseConfig(NGINX, "/etc/n.conf", { globals: "foo x;" })),
      `unknown directive "foo" in command line`,
    );
  });

  test("with a YAML config they are refused, not dropped", () => {
    const yaml = `stream:\n  servers:\n    - { listen: "127.0.0.1:1", proxy_pass: "127.0.0.1:2" }\n`;
    assert.match(errorOf(() => parseConfig(yaml, "/etc/s.yaml", { globals: "pid x;" })), /nginx configs only.* in command line$/);
  });
});

describe("-e: the error log when the config names none", () => {
  const fallback = { path: "/var/log/e.log", level: "error" } as const;
  test("nginx and YAML configs without error_log take it", () => {
    assert.deepEqual(parseConfig(NGINX, "/etc/n.conf", { defaultErrorLog: fallback }).errorLog, fallback);
    const yaml = `stream:\n  servers:\n    - { listen: "127.0.0.1:1", proxy_pass: "127.0.0.1:2" }\n`;
    assert.deepEqual(parseConfig(yaml, "/etc/s.yaml", { defaultErrorLog: fallback }).errorLog, fallback);
  });

  test("a config's own error_log wins", () => {
    const c = parseConfig(`error_log /x/own.log info;\n${NGINX}`, "/etc/n.conf", { defaultErrorLog: fallback });
    assert.deepEqual(c.errorLog, { path: "/x/own.log", level: "info" });
  });
});

describe("-T: the files read", () => {
  const disk: Record<string, string> = { "/etc/a.conf": "proxy_timeout 5s;\n", "/etc/b.conf": "tcp_nodelay on;\n" };
  const files: ConfigFiles = {
    readFile: (p) => {
      const t = disk[p];
      if (t === undefined) throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
      return t;
    },
    glob: (pattern) => Object.keys(disk).filter((p) => p.startsWith(pattern.replace("*", ""))),
  };

  test("main file first, then includes in the order read, each once", () => {
    const main =
      `events {}\nstream {\n  include b.conf;\n  include a.conf;\n  server { listen 127.0.0.1:1; proxy_pass 127.0.0.1:2; include a.conf; }\n}\n`;
    const rec = new RecordedFiles(files);
    rec.add("/etc/main.conf", main);
    parseConfig(main, "/etc/main.conf", { files: rec });
    assert.deepEqual(
      rec.files().map((f) => f.path),
      ["/etc/main.conf", "/etc/b.conf", "/etc/a.conf"],
    );
    assert.equal(
      dumpFiles(rec.files().slice(1)),
      "# configuration file /etc/b.conf:\ntcp_nodelay on;\n\n# configuration file /etc/a.conf:\nproxy_timeout 5s;\n\n",
    );
  });
});
