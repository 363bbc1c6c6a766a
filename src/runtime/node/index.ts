// Runtime on Node: net.Server listens (workers share ports as processes.ts says), but
// sessions run on the TCP handles under it (tcp-handles.ts), and the relay is a hand-written pipe
// on them. Where Node refuses the handles (the permission model), sessions run on net.Socket
// streams instead (socket.ts), and the runtime says so in a notice.
import { hostname } from "node:os";
import { readFile, rm, writeFile } from "node:fs/promises";
import process from "node:process";
import type { Runtime } from "../../core/runtime.ts";
import { dnsExchange } from "../dns-exchange.ts";
import { procFdUsage } from "../fd-usage.ts";
import { openAppendFile } from "../log-file.ts";
import { connect } from "./connect.ts";
import { connectSameKind } from "./same-kind.ts";
import { serveNodeHttp } from "./http.ts";
import { listen } from "./listen.ts";
import { probeNode } from "./probe.ts";
import { nodeProcesses } from "./processes.ts";
import { relay } from "./relay.ts";
import { tcpHandlesUnavailable } from "./tcp-handles.ts";
import { nodeTlsSupport } from "../tls/index.ts";
import { NODE_LIMITS } from "../tls/limits.ts";
import { listenForTls } from "../tls/listen.ts";
import { bindDatagram, connectDatagram } from "./udp.ts";

export const nodeRuntime: Runtime = {
  name: "node",
  version: process.versions.node,
  pid: process.pid,
  hostname: hostname(),

  listen: (options, onConnection) => (options.tls ? listenForTls(options, onConnection) : listen(options, onConnection)),
  connect: connectSameKind(connect),
  relay,
  bindDatagram,
  connectDatagram,
  // Deno's node:dgram never reports ICMP errors, when this adapter runs there.
  datagramUnreachable: !("Deno" in globalThis),
  probe: probeNode,

  readTextFile: (path) => readFile(path, "utf8"),
  readFile: (path) => readFile(path),
  writeTextFile: (path, text) => writeFile(path, text),
  removeFile: (path) => rm(path, { force: true }),
  sendSignal: (pid, signal) => void process.kill(pid, signal),

  openLogFile: async (path) => openAppendFile(path),
  serveHttp: serveNodeHttp,

  writeStderr: (text) => void process.stderr.write(text),
  writeStdout: (text) => void process.stdout.write(text),
  processes: nodeProcesses,
  notices: tcpHandlesUnavailable
    ? [`${tcpHandlesUnavailable.message}; sessions run on net.Socket streams instead, which is slower`]
    : [],
  fds: procFdUsage,
  tls: nodeTlsSupport(NODE_LIMITS(process.versions.openssl)),
  dnsExchange,
  onSignal: (signal, handler) => void process.on(signal, handler),
  exit: (code) => process.exit(code),
};
