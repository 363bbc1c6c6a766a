// Runtime on Deno: native sockets (tcp.ts) with a read/write loop per direction (relay.ts),
// Deno.serve for the admin endpoint, workers over pipes.
import type { Runtime } from "../../core/runtime.ts";
import { dnsExchange } from "../dns-exchange.ts";
import { procFdUsage } from "../fd-usage.ts";
import { serveDenoHttp } from "./http.ts";
import { openLogFile } from "./log-file.ts";
import { probeDeno } from "./probe.ts";
import { denoProcesses } from "./processes.ts";
import { relay } from "./relay.ts";
import { connect, listen } from "./tcp.ts";
import { bindDatagram, connectDatagram } from "./udp.ts";
import { writeAllSync } from "./write-all.ts";

export const denoRuntime: Runtime = {
  name: "deno",
  version: Deno.version.deno,
  pid: Deno.pid,
  hostname: Deno.hostname(),

  listen,
  connect,
  relay,
  bindDatagram,
  connectDatagram,
  probe: probeDeno,

  readTextFile: (path) => Deno.readTextFile(path),
  writeTextFile: (path, text) => Deno.writeTextFile(path, text),
  removeFile: async (path) => {
    try {
      await Deno.remove(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  },
  sendSignal: (pid, signal) => Deno.kill(pid, signal),

  openLogFile,
  serveHttp: serveDenoHttp,

  writeStderr: (text) => writeAllSync(Deno.stderr, text),
  writeStdout: (text) => writeAllSync(Deno.stdout, text),
  processes: denoProcesses,
  fds: procFdUsage,
  dnsExchange,
  onSignal: (signal, handler) => Deno.addSignalListener(signal, handler),
  exit: (code) => Deno.exit(code),
};
