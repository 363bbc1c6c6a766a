// System errors in nginx's words, mapped from the `code` every runtime puts on its errors.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { errnoReason, errorCode, SystemError, systemReason } from "../../src/core/errno.ts";

describe("errno reasons", () => {
  test("known codes read as Linux's number and strerror text", () => {
    assert.equal(errnoReason("EADDRINUSE"), "98: Address already in use");
    assert.equal(errnoReason("EACCES"), "13: Permission denied");
    assert.equal(errnoReason("ENOENT"), "2: No such file or directory");
    assert.equal(errnoReason("EISDIR"), "21: Is a directory");
    assert.equal(errnoReason("EMFILE"), "24: Too many open files");
    assert.equal(errnoReason("ENFILE"), "23: Too many open files in system");
    assert.equal(errnoReason("EWHATEVER"), null);
  });

  test("each runtime's wording of the same error gives the same reason", () => {
    // What Node, Deno and Bun throw for a port in use (their messages, their code).
    const node = Object.assign(new Error("listen EADDRINUSE: address already in use 127.0.0.1:1"), { code: "EADDRINUSE" });
    const deno = Object.assign(new Error("Address already in use (os error 98)"), { name: "AddrInUse", code: "EADDRINUSE" });
    const bun = Object.assign(new Error("Failed to listen at 127.0.0.1"), { code: "EADDRINUSE", errno: 98 });
    for (const e of [node, deno, bun]) assert.equal(systemReason(e), "98: Address already in use");
  });

  test("an unknown code or none keeps the runtime's message", () => {
    assert.equal(systemReason(Object.assign(new Error("odd"), { code: "EODD" })), "odd");
    assert.equal(systemReason(new Error("plain")), "plain");
    assert.equal(systemReason("text"), "text");
    assert.equal(systemReason(new SystemError("EMFILE", "24: Too many open files")), "24: Too many open files");
  });

  test("only E-codes count as system codes", () => {
    assert.equal(errorCode({ code: "ENOENT" }), "ENOENT");
    assert.equal(errorCode({ code: "ERR_INVALID_ARG_TYPE" }), null);
    assert.equal(errorCode({ code: 2 }), null);
    assert.equal(errorCode(null), null);
  });
});
