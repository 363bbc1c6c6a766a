import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_BATCH, SendBatch } from "../../src/runtime/bun/udp-batch.ts";

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

test("one turn's datagrams go out in one sendMany, in order, whole", async () => {
  const calls: unknown[][] = [];
  const batch = new SendBatch((p) => (calls.push([...p]), p.length / 3), 3, () => assert.fail("nothing refused"));
  const a = new Uint8Array([1]), b = new Uint8Array([2, 2]);
  assert.equal(batch.add(a, 1000, "127.0.0.1"), true);
  assert.equal(batch.add(b, 1001, "127.0.0.2"), true);
  assert.equal(calls.length, 0);
  await turn();
  assert.deepEqual(calls, [[a, 1000, "127.0.0.1", b, 1001, "127.0.0.2"]]);
  batch.add(a);
  await turn();
  assert.equal(calls.length, 2);
});

test("what the kernel refuses of a batch is counted, and a full batch drops", async () => {
  let refused = 0;
  const batch = new SendBatch((p) => p.length - 2, 1, (n) => (refused += n));
  for (let i = 0; i < MAX_BATCH; i++) assert.equal(batch.add(new Uint8Array(1)), true);
  assert.equal(batch.add(new Uint8Array(1)), false);
  await turn();
  assert.equal(refused, 2);
  const closed = new SendBatch(
    () => {
      throw new Error("closed");
    },
    1,
    (n) => (refused += n),
  );
  closed.add(new Uint8Array(1));
  await turn();
  assert.equal(refused, 3);
});
