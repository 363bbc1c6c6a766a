// The process's descriptor limit and count from Linux's /proc, on node:fs (Node, Deno and Bun
// all have it). Elsewhere the limit reads as unknown and the accept guard stays off.
import { readdirSync, readFileSync } from "node:fs";
import type { FdUsage } from "../core/runtime.ts";

export const procFdUsage: FdUsage = {
  limit() {
    try {
      const m = /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
      return m ? Number(m[1]) : null;
    } catch {
      return null;
    }
  },
  open() {
    try {
      // Less the one this listing itself holds open.
      return readdirSync("/proc/self/fd").length - 1;
    } catch {
      return 0;
    }
  },
};
