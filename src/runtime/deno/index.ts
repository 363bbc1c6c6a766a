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
import { relaySockets, SocketConnection } from "../node/socket.ts";
import { connectSameKind } from "../node/same-kind.ts";
import { nodeTlsSupport } from "../tls/index.ts";
import { DENO_LIMITS } from "../tls/limits.ts";
import { listenForTls } from "../tls/listen.ts";
import { bindDatagram, connectDatagram } from "./udp.ts";
import { writeAllSync } from "./write-all.ts";

export const denoRuntime: Runtime = {
  name: "deno",
  version: Deno.version.deno,
  pid: Deno.pid,
  hostname: Deno.hostname(),

  // Sessions with TLS on either side run on node:net/node:tls sockets (native ones cannot be
  // handed to a TLS layer); plain ones stay on the native path.
  listen: (options, onConnection) => (options.tls ? listenForTls(options, onConnection) : listen(options, onConnection)),
  connect: connectSameKind(connect),
  relay: (client, upstream, options, sink) =>
    client instanceof SocketConnection
      ? relaySockets(client, upstream as unknown as SocketConnection, options, sink)
      : relay(client, upstream, options, sink),
  bindDatagram,
  connectDatagram,
  datagramUnreachable: false,
  probe: probeDeno,

  readTextFile: (path) => Deno.readTextFile(path),
  readFile: (path) => Deno.readFile(path),
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
  tls: nodeTlsSupport(DENO_LIMITS),
  dnsExchange,
  onSignal: (signal, handler) => Deno.addSignalListener(signal, handler),
  exit: (code) => Deno.exit(code),
};
