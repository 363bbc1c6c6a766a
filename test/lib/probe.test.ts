// Runtime.probe of the adapter this runner runs on (node --test, bun test, deno test), against
// real loopback servers: every outcome a health check can meet.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { ProbeOptions, Runtime } from "../../src/core/runtime.ts";
import { detectRuntime } from "../../src/runtime/detect.ts";
import { type Backend, closedPort, startBackend } from "../support/backends.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const bytes = (s: string) => new TextEncoder().encode(s);
const options = (o: Partial<ProbeOptions>): ProbeOptions => ({
  timeoutMs: 2000,
  send: null,
  maxBytes: 0,
  enough: () => false,
  ...o,
});

describe("Runtime.probe", () => {
  let runtime: Runtime;
  const backends: Backend[] = [];
  let got = "";
  let pong: Backend, nope: Backend, silent: Backend, chatty: Backend;
  before(async () => {
    runtime = await detectRuntime();
    pong = await startBackend("pong", 0, (s) => {
      s.on("data", (d: Buffer) => {
        got += d.toString("latin1");
        if (got.includes("PING\r\n")) s.write("+PO", () => setTimeout(() => s.write("NG\r\n"), 20));
      });
    });
    nope = await startBackend("nope", 0, (s) => s.end("NOPE\r\n"));
    silent = await startBackend("silent", 0, () => {});
    chatty = await startBackend("chatty", 0, (s) => s.write("x".repeat(100)));
    backends.push(pong, nope, silent, chatty);
  });
  after(async () => {
    await Promise.all(backends.map((b) => b.close()));
  });
  const target = (b: Backend) => ({ host: "127.0.0.1", port: b.port });

  test("a closed port is refused", async () => {
    assert.deepEqual(await runtime.probe({ host: "127.0.0.1", port: await closedPort() }, options({})), { kind: "refused" });
  });

  test("connect only: ok, nothing read", async () => {
    const accepted = silent.accepted;
    const r = await runtime.probe(target(silent), options({}));
    assert.equal(r.kind, "ok");
    assert.equal(r.kind === "ok" && r.received.byteLength, 0);
    assert.equal(silent.accepted, accepted + 1);
  });

  test("send, then read until the reply matches (across two packets)", async () => {
    got = "";
    const seen: string[] = [];
    const r = await runtime.probe(
      target(pong),
      options({
        send: bytes("PING\r\n"),
        maxBytes: 1024,
        enough: (b) => (seen.push(text(b)), text(b).includes("PONG")),
      }),
    );
    assert.equal(r.kind, "ok");
    assert.equal(r.kind === "ok" && text(r.received), "+PONG\r\n");
    assert.equal(got, "PING\r\n");
    assert.deepEqual(seen, ["+PO", "+PONG\r\n"]);
  });

  test("the server closes after the wrong bytes: ok with what came, for the checker to judge", async () => {
    const r = await runtime.probe(target(nope), options({ maxBytes: 1024, enough: (b) => text(b).includes("PONG") }));
    assert.equal(r.kind === "ok" && text(r.received), "NOPE\r\n");
  });

  test("no reply: a timeout at the reply stage, on time", async () => {
    const started = Date.now();
    const r = await runtime.probe(target(silent), options({ timeoutMs: 300, maxBytes: 1024 }));
    const took = Date.now() - started;
    assert.deepEqual(r, { kind: "timeout", stage: "reply" });
    assert.ok(took >= 250 && took < 1500, `took ${took} ms`);
  });

  test("at most maxBytes are read", async () => {
    const r = await runtime.probe(target(chatty), options({ maxBytes: 10 }));
    assert.equal(r.kind === "ok" && r.received.byteLength, 10);
  });

  test("send only: ok once sent", async () => {
    got = "";
    const r = await runtime.probe(target(pong), options({ send: bytes("PING\r\n") }));
    assert.equal(r.kind, "ok");
    for (let i = 0; i < 50 && got === ""; i++) await new Promise((res) => setTimeout(res, 10));
    assert.equal(got, "PING\r\n");
  });

  test("an abort ends a probe at once", async () => {
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(), 50);
    const r = await runtime.probe(target(silent), options({ timeoutMs: 5000, maxBytes: 10, signal: ac.signal }));
    assert.deepEqual(r, { kind: "aborted" });
    assert.ok(Date.now() - started < 1000);
  });
});
