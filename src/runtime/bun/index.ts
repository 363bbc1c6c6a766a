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
import { BunConnection } from "./connection.ts";
import { asStreamConnection } from "./native-duplex.ts";
import { bunTlsSupport } from "./tls.ts";
import { bindDatagram, connectDatagram } from "./udp.ts";

/** A side for the stream relay: a node:tls one as it is, a native one through a stream. */
function streamSide(c: unknown): SocketConnection {
  return c instanceof BunConnection ? asStreamConnection(c) : (c as SocketConnection);
}

export const bunRuntime: Runtime = {
  name: "bun",
  version: Bun.version,
  pid: process.pid,
  hostname: hostname(),

  // Every listener is native: a TLS client's socket is upgraded in place (tls-accept.ts).
  listen,
  // A client on node:tls (a TLS setup only node:tls takes) gets a node:net upstream.
  connect: connectSameKind(connect),
  // Native on both sides is the common case; a node:tls side (proxy_ssl, or a TLS setup only
  // node:tls takes) puts the session on the stream relay, its native side seen as a stream.
  relay: (client, upstream, options, sink) =>
    client instanceof BunConnection && upstream instanceof BunConnection
      ? relay(client, upstream, options, sink)
      : relaySockets(streamSide(client), streamSide(upstream), options, sink),
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
  tls: bunTlsSupport,
  dnsExchange,
  onSignal: (signal, handler) => void process.on(signal, handler),
  exit: (code) => process.exit(code),
};
