// A Runtime for in-process tests of the admin API: listeners that accept nothing and files
// kept in a Map (the state file), optionally failing writes as a full disk would.
import type { Runtime } from "../../src/core/runtime.ts";

export function memoryRuntime(files: Map<string, string>, options: { pid?: number; failWrites?: { on: boolean } } = {}): Runtime {
  return {
    name: "node",
    version: "test",
    pid: options.pid ?? 1,
    async listen(listen: { host: string | null; port: number }) {
      return { host: listen.host ?? "0.0.0.0", port: listen.port, close: async () => undefined };
    },
    async readTextFile(path: string) {
      const text = files.get(path);
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
      return text;
    },
    async readFile(path: string) {
      const text = files.get(path);
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
      return new TextEncoder().encode(text);
    },
    async writeTextFile(path: string, text: string) {
      if (options.failWrites?.on) throw new Error("28: No space left on device");
      files.set(path, text);
    },
  } as unknown as Runtime;
}
