// The admin endpoint's hardening without sockets: what one request may cost (431, 413, 408
// before the handler runs), the token compared whole, and the refusal to listen beyond
// loopback without a token unless the config says `insecure`, in both spellings.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AdminEndpoint } from "../../src/core/admin-endpoint.ts";
import { ADMIN_LIMITS, limitRequests } from "../../src/core/admin-limits.ts";
import type { AdminConfig } from "../../src/core/config/model.ts";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { writeNginxConfig } from "../../src/core/config/write/nginx.ts";
import { writeYamlConfig } from "../../src/core/config/write/yaml.ts";
import { loadYamlConfig } from "../../src/core/config/read-yaml/reader.ts";
import type { Logger } from "../../src/core/log.ts";
import type { HttpServer } from "../../src/core/runtime.ts";

const limits = { ...ADMIN_LIMITS, maxHeaderBytes: 200, maxBodyBytes: 100, bodyTimeoutMs: 30 };

/** A handler that records the bodies it was given. */
function recorder(): { seen: string[]; handler: (r: Request) => Promise<Response> } {
  const seen: string[] = [];
  return { seen, handler: async (r) => (seen.push(await r.text()), new Response("done")) };
}

/** A body stream that yields the chunks, then (if `hang`) never ends. */
function stream(chunks: Uint8Array[], hang = false): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      for (const x of chunks) c.enqueue(x);
      if (!hang) c.close();
    },
  });
}

function post(body: string | ReadableStream<Uint8Array>, headers: Record<string, string> = {}): Request {
  return new Request(
    "http://127.0.0.1/api/upstreams/u/servers",
    { method: "POST", body, headers, duplex: "half" } as RequestInit,
  );
}

describe("admin request limits", () => {
  test("a body within the limit reaches the handler whole", async () => {
    const r = recorder();
    const res = await limitRequests(r.handler, limits)(post(stream([new Uint8Array(60).fill(65), new Uint8Array(40).fill(66)])));
    assert.equal(res.status, 200);
    assert.deepEqual(r.seen, ["A".repeat(60) + "B".repeat(40)]);
  });

  test("413 for a declared length over the limit, and for a streamed body that grows past it", async () => {
    const r = recorder();
    const declared = await limitRequests(r.handler, limits)(post("x".repeat(101), { "content-length": "101" }));
    assert.equal(declared.status, 413);
    assert.equal(declared.headers.get("connection"), "close");
    const streamed = await limitRequests(r.handler, limits)(post(stream([new Uint8Array(60), new Uint8Array(60)], true)));
    assert.equal(streamed.status, 413);
    assert.deepEqual(r.seen, [], "the handler never ran");
  });

  test("408 for a body that stops coming, closing the connection", async () => {
    const r = recorder();
    const res = await limitRequests(r.handler, limits)(post(stream([new Uint8Array(10)], true)));
    assert.equal(res.status, 408);
    assert.equal(res.headers.get("connection"), "close");
    assert.deepEqual(r.seen, []);
  });

  test("431 for headers over the limit; requests without a body pass", async () => {
    const r = recorder();
    const big = new Request("http://127.0.0.1/status", { headers: { "x-big": "a".repeat(250) } });
    assert.equal((await limitRequests(r.handler, limits)(big)).status, 431);
    assert.equal((await limitRequests(r.handler, limits)(new Request("http://127.0.0.1/status"))).status, 200);
    assert.deepEqual(r.seen, [""]);
  });
});

describe("admin endpoint beyond loopback", () => {
  const quiet: Logger = { log: () => undefined } as unknown as Logger;
  const fakeRuntime = {
    serveHttp: async (o: { host: string; port: number }): Promise<HttpServer> => ({
      host: o.host,
      port: o.port || 9000,
      close: async () => undefined,
    }),
  };
  const config = (host: string, token: string | null, insecure?: boolean): AdminConfig => ({
    host,
    port: 9000,
    token,
    ...(insecure === undefined ? {} : { insecure }),
    loc: { file: "t", line: 1, col: 1 },
  });

  test("0.0.0.0 without a token is refused; with a token, on loopback, or said insecure it listens", async () => {
    const make = () => new AdminEndpoint(fakeRuntime, async () => new Response(""), quiet);
    await assert.rejects(make().apply(config("0.0.0.0", null)), /admin: listening on 0\.0\.0\.0:9000 without a token is refused/);
    await assert.rejects(make().apply(config("::", null)), /without a token is refused/);
    await assert.rejects(
      make().apply(config("127.0.0.1.example", null)),
      /without a token is refused/,
      "a name that starts like loopback is not loopback",
    );
    for (
      const ok of [config("0.0.0.0", "t0ken"), config("127.0.0.1", null), config("::1", null), config("0.0.0.0", null, true)]
    ) {
      const e = make();
      await e.apply(ok);
      assert.equal(e.address?.host, ok.host);
    }
  });

  test("`insecure` in both spellings, and convert keeps it", () => {
    const stream = "stream { server { listen 1; proxy_pass 127.0.0.1:2; } }\n";
    const n = loadNginxConfig(`admin 0.0.0.0:9000 insecure;\nevents {}\n${stream}`, "in.conf").config;
    assert.equal(n.admin?.insecure, true);
    assert.equal(
      loadNginxConfig(`admin 0.0.0.0:9000 token=t insecure;\nevents {}\n${stream}`, "in.conf").config.admin?.token,
      "t",
    );
    assert.equal(loadNginxConfig(`admin 0.0.0.0:9000;\nevents {}\n${stream}`, "in.conf").config.admin?.insecure, undefined);
    const y = loadYamlConfig(
      `admin: { listen: "0.0.0.0:9000", insecure: true }\nstream:\n  servers:\n    - { listen: 1, proxy_pass: "127.0.0.1:2" }\n`,
      "in.yaml",
    );
    assert.equal(y.admin?.insecure, true);
    assert.match(writeNginxConfig(n), /^admin 0\.0\.0\.0:9000 insecure;$/m);
    assert.match(writeYamlConfig(y), /^admin: \{ listen: "?0\.0\.0\.0:9000"?, insecure: true \}$/m);
    assert.throws(
      () => loadYamlConfig(`admin: { listen: 9000, insecure: maybe }\nstream: {}\n`, "in.yaml"),
      /invalid admin insecure "maybe"/,
    );
  });
});
