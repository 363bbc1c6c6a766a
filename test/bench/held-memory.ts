// Memory per held connection or session: RSS of the balancer before and while a holder tool
// keeps N of them open, each proven with one answered message (so a balancer that allocates
// buffers on first data has done so). For a master and its workers, the sum over all of them.
import { rssBytes, sleep, start, stop, treeRssBytes } from "./procs.ts";
import { LOAD_CPU, type Measurement, type RunContext } from "./scenario-types.ts";

/** `args` starts the holder; it prints "ready N errors E" and holds until its stdin closes. */
export function heldMemory(name: string, args: (ctx: RunContext) => string[]): (ctx: RunContext) => Promise<Measurement> {
  return async (ctx) => {
    const pid = ctx.balancerPid!;
    const rss = () => (ctx.balancerTree ? treeRssBytes(pid) : rssBytes(pid));
    const before = rss();
    const holder = start(name, LOAD_CPU, args(ctx), { stdin: true });
    try {
      const deadline = Date.now() + 60_000;
      let m: RegExpExecArray | null = null;
      while (!(m = /ready (\d+) errors (\d+)/.exec(holder.output()))) {
        if (holder.child.exitCode !== null) throw new Error(`${name} exited: ${holder.output()}`);
        if (Date.now() > deadline) throw new Error(`${name}: not ready after 60 s: ${holder.output()}`);
        await sleep(50);
      }
      await sleep(1000); // let the balancer finish whatever it does after the last answer
      const during = rss();
      const ready = Number(m[1]);
      return {
        value: (during - before) / Math.max(1, ready) / 1024,
        extras: { before: before / 1048576, during: during / 1048576 },
        errors: Number(m[2]),
      };
    } finally {
      holder.child.stdin!.end();
      const timer = setTimeout(() => void stop(holder), 10_000);
      await holder.exited;
      clearTimeout(timer);
      await sleep(500); // the balancer closes its side of every connection
    }
  };
}
