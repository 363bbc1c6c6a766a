// Runtime on Bun: native sockets (Bun.listen / Bun.connect, tcp.ts) with a relay written for
// Bun's unbuffered write() (relay.ts), Bun.serve for the admin endpoint, workers over pipes.
import { hostname } from "node:os";
import { readFile, rm, writeFile } from "node:fs/promises";
import type { Runtime } from "../../core/runtime.ts";
import { dnsExchange } from "../dns-exchange.ts";
import { procFdUsage } from "../fd-usage.ts";
import { openAppendFile } from "../log-file.ts";
import { serveBunHttp } from "./http.ts";
import { probeBun } from "./probe.ts";
import { bunProcesses } from "./processes.ts";
import { relay } from "./relay.ts";
import { connect, listen } from "./tcp.ts";
import { relaySockets, SocketConnection } from "../node/socket.ts";
import { connectSameKind } from "../node/same-kind.ts";
import { nodeTlsSupport } from "../tls/index.ts";
import { BUN_LIMITS } from "../tls/limits.ts";
import { listenForTls } from "../tls/listen.ts";
import { bindDatagram, connectDatagram } from "./udp.ts";

export const bunRuntime: Runtime = {
  name: "bun",
  version: Bun.version,
  pid: process.pid,
  hostname: hostname(),

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
  datagramUnreachable: true,
  probe: probeBun,

  readTextFile: (path) => Bun.file(path).text(),
  readFile: (path) => readFile(path),
  // Not Bun.write: it creates missing directories, and a pid path in one that does not exist
  // must fail as nginx's open() does.
  writeTextFile: (path, text) => writeFile(path, text),
  removeFile: (path) => rm(path, { force: true }),
  sendSignal: (pid, signal) => void process.kill(pid, signal),

  openLogFile: async (path) => openAppendFile(path),
  serveHttp: serveBunHttp,

  writeStderr: (text) => void process.stderr.write(text),
  writeStdout: (text) => void process.stdout.write(text),
  processes: bunProcesses,
  fds: procFdUsage,
  tls: nodeTlsSupport(BUN_LIMITS),
  dnsExchange,
  onSignal: (signal, handler) => void process.on(signal, handler),
  exit: (code) => process.exit(code),
};
