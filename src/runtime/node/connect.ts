// Connecting to upstreams: a TCP handle, or a net.Socket where handles are out of reach, with
// errors in the words nginx's error log uses.
import { lookup } from "node:dns/promises";
import net from "node:net";
import { getSystemErrorName } from "node:util";
import { ConnectFailure, type ConnectOptions, type ConnectTarget, type UpstreamConnection } from "../../core/runtime.ts";
import { Deadlines } from "../../core/deadlines.ts";
import { NodeConnection } from "./connection.ts";
import { bindFailure, connectSocket } from "./socket.ts";
import { connectPipe, connectTcp, tcpHandlesUnavailable } from "./tcp-handles.ts";

export function connect(target: ConnectTarget, options: ConnectOptions): Promise<UpstreamConnection> {
  if (target.unixPath !== undefined) return connectUnix(target.unixPath, options);
  return isIpLiteral(target.host)
    ? connectTo(target.host, target.port, options)
    : resolveHost(target.host).then((host) => connectTo(host, target.port, options));
}

/** net.isIP runs a long regular expression; a balancer connects to the same few hosts all day. */
const ipLiterals = new Map<string, boolean>();
function isIpLiteral(host: string): boolean {
  let literal = ipLiterals.get(host);
  if (literal === undefined) ipLiterals.set(host, literal = net.isIP(host) !== 0);
  return literal;
}

/** One timer per proxy_connect_timeout value, not a setTimeout per connect. */
const deadlines = new Deadlines((timer) => timer.unref());

function connectTo(host: string, port: number, options: ConnectOptions): Promise<UpstreamConnection> {
  if (tcpHandlesUnavailable) {
    return connectSocket({ host, port }, options, toConnectFailure) as unknown as Promise<UpstreamConnection>;
  }
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const deadline = deadlines.add(options.timeoutMs, () => {
      timedOut = true;
      handle.close();
      reject(new ConnectFailure("timeout", "ETIMEDOUT", "Connection timed out"));
    });
    const local = options.localAddress;
    const bind = local === undefined ? undefined : {
      address: local,
      failed(status: number) {
        if (timedOut) return;
        deadlines.cancel(options.timeoutMs, deadline);
        handle.close();
        reject(bindFailure(getSystemErrorName(status), local));
      },
    };
    const handle = connectTcp(host, port, (status) => {
      if (timedOut) return;
      deadlines.cancel(options.timeoutMs, deadline);
      if (status !== 0) {
        handle.close();
        return reject(toConnectFailure(getSystemErrorName(status), `${host}:${port}`));
      }
      if (options.noDelay) handle.setNoDelay(true);
      // Like net's keepAlive option: SO_KEEPALIVE with the system's timers.
      if (options.keepAlive) handle.setKeepAlive(true, 0);
      resolve(new NodeConnection(handle) as unknown as UpstreamConnection);
    }, bind);
  });
}

/** `server unix:/path`: a pipe handle, relayed like a TCP one. */
function connectUnix(path: string, options: ConnectOptions): Promise<UpstreamConnection> {
  const names = { local: "unix:", remote: `unix:${path}` };
  if (tcpHandlesUnavailable) {
    return connectSocket({ host: "", port: 0, unixPath: path }, options, toConnectFailure) as unknown as Promise<
      UpstreamConnection
    >;
  }
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const deadline = deadlines.add(options.timeoutMs, () => {
      timedOut = true;
      handle.close();
      reject(new ConnectFailure("timeout", "ETIMEDOUT", "Connection timed out"));
    });
    const handle = connectPipe(path, (status) => {
      if (timedOut) return;
      deadlines.cancel(options.timeoutMs, deadline);
      if (status === 0) return resolve(new NodeConnection(handle, names) as unknown as UpstreamConnection);
      handle.close();
      reject(toConnectFailure(getSystemErrorName(status), names.remote));
    });
  });
}

async function resolveHost(host: string): Promise<string> {
  try {
    return (await lookup(host)).address;
  } catch (err) {
    throw new ConnectFailure("other", (err as NodeJS.ErrnoException).code ?? "ENOTFOUND", `${host} could not be resolved`);
  }
}

/** A connect's error code (ECONNREFUSED...), in the words nginx's error log uses. */
export function toConnectFailure(code: string, where: string): ConnectFailure {
  switch (code) {
    case "ECONNREFUSED":
      return new ConnectFailure("refused", code, "Connection refused");
    case "ETIMEDOUT":
      return new ConnectFailure("timeout", code, "Connection timed out");
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return new ConnectFailure("unreachable", code, `connect ${code} ${where}`);
    default:
      return new ConnectFailure("other", code, `connect ${code} ${where}`);
  }
}
