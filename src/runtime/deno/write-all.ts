// A synchronous write that does not return before all of it is written (stderr, stdout, pipes).
const encoder = new TextEncoder();

export function writeAllSync(out: { writeSync(p: Uint8Array): number }, text: string): void {
  const data = encoder.encode(text);
  let off = 0;
  while (off < data.byteLength) off += out.writeSync(data.subarray(off));
}
