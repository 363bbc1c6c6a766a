// A relay's failed system call in nginx's words and at nginx's level (ngx_connection_error).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { bytesTail, relayErrorLine } from "../../src/core/relay-error.ts";
import type { RelayError, RelayResult } from "../../src/core/runtime.ts";

const counts = { bytesFromClient: 1, bytesToClient: 2, bytesFromUpstream: 3, bytesToUpstream: 4 };
const ended = (end: RelayResult["end"], error?: RelayError): RelayResult => ({ end, ...counts, ...(error ? { error } : {}) });

describe("relay error line", () => {
  test("a reset read from the upstream is an error; from the client, info", () => {
    assert.deepEqual(relayErrorLine(ended("upstream_error", { op: "recv", code: "ECONNRESET" })), {
      level: "error",
      text: "recv() failed (104: Connection reset by peer) while proxying and reading from upstream",
    });
    assert.deepEqual(relayErrorLine(ended("client_error", { op: "recv", code: "ECONNRESET" })), {
      level: "info",
      text: "recv() failed (104: Connection reset by peer) while proxying and reading from client",
    });
  });

  test("a failed send names writev() and the side written to", () => {
    assert.deepEqual(relayErrorLine(ended("upstream_error", { op: "send", code: "EPIPE" })), {
      level: "error",
      text: "writev() failed (32: Broken pipe) while proxying and sending to upstream",
    });
  });

  test("an errno outside the peer's doing is an alert, on either side", () => {
    assert.equal(relayErrorLine(ended("client_error", { op: "recv", code: "ENOMEM" }))?.level, "alert");
    assert.equal(relayErrorLine(ended("upstream_error", { op: "send", code: "EBADF" }))?.level, "alert");
  });

  test("no errno from the runtime: the call and action without a reason, at the peer-error level", () => {
    assert.deepEqual(relayErrorLine(ended("upstream_error", { op: "send", code: null })), {
      level: "error",
      text: "writev() failed while proxying and sending to upstream",
    });
  });

  test("a failed shutdown() is logged on the client's connection, as nginx does", () => {
    assert.deepEqual(relayErrorLine(ended("upstream_error", { op: "shutdown", code: "ENOTCONN" })), {
      level: "info",
      text: "shutdown() failed (107: Transport endpoint is not connected) while proxying connection",
    });
  });

  test("a code the errno table lacks is printed as the runtime gave it", () => {
    assert.equal(
      relayErrorLine(ended("upstream_error", { op: "recv", code: "ERR_SSL_DECRYPTION_FAILED" }))?.text,
      "recv() failed (ERR_SSL_DECRYPTION_FAILED) while proxying and reading from upstream",
    );
  });

  test("clean ends, and errors without a cause, log nothing here", () => {
    assert.equal(relayErrorLine(ended("client_closed")), null);
    assert.equal(relayErrorLine(ended("upstream_error")), null);
    assert.equal(relayErrorLine(ended("idle_timeout", { op: "recv", code: "ECONNRESET" })), null);
  });

  test("the byte tail is nginx's", () => {
    assert.equal(bytesTail(ended("client_closed")), ", bytes from/to client:1/2, bytes from/to upstream:3/4");
  });
});
