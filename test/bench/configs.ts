// Equivalent configs for the three balancers, and the backends' configs. Equivalent means:
// one process and one thread (for the -w2 targets, a master and 2 single-threaded workers that
// each listen on the ports with SO_REUSEPORT), the same listeners and round-robin upstreams,
// TCP_NODELAY on (nginx's default; HAProxy always sets it), 16 KiB proxy buffers (nginx's
// proxy_buffer_size default, HAProxy's tune.bufsize default, streamlb's default), no access
// log and an error log at level error, and proxy/idle timeouts of 10 minutes so none fires
// during a run.

/** Where each workload's backends listen (udp: UDP echo, the rest TCP). */
export const BACKENDS = {
  bulk: [7001, 7002], // tcptool sink (iperf 2 and tlstool bulk are the clients)
  http: [7011, 7012], // nginx http returning a fixed body
  echo: [7021, 7022], // tcptool echo
  udp: [7031, 7032], // udptool echo
} as const;

export type Workload = keyof typeof BACKENDS;
export const WORKLOADS: readonly Workload[] = ["bulk", "http", "echo", "udp"];

/**
 * A balancer's listeners. The first three are the plain proxy of the original rows; the rest
 * each switch on one feature in front of the same backends: PROXY protocol accept, ssl_preread
 * with a map of $ssl_preread_server_name choosing the upstream, UDP, and TLS termination (to
 * the echo backends for handshakes, to the sinks for bulk).
 */
export type Listener = "bulk" | "http" | "echo" | "pp" | "sni" | "udp" | "tls" | "tlsbulk";
export const LISTENERS: readonly Listener[] = ["bulk", "http", "echo", "pp", "sni", "udp", "tls", "tlsbulk"];
/** The listeners an older streamlb (a binary from before the phases: --binary-b) can serve. */
export const PLAIN_LISTENERS: readonly Listener[] = ["bulk", "http", "echo"];

/** The backends behind each listener. */
export const BACKEND_OF: Record<Listener, Workload> = {
  bulk: "bulk",
  http: "http",
  echo: "echo",
  pp: "echo",
  sni: "echo",
  udp: "udp",
  tls: "echo",
  tlsbulk: "bulk",
};

/** A balancer's listeners: base+1 bulk, +2 http, +3 echo, +4 pp, +5 sni, +6 udp, +7 tls, +8 tlsbulk. */
export function listenPorts(base: number): Record<Listener, number> {
  return Object.fromEntries(LISTENERS.map((l, i) => [l, base + 1 + i])) as Record<Listener, number>;
}

/** The server name in the ClientHello the sni scenario sends (test/support/openssl-hellos.ts). */
export const SNI_NAME = "mixed.example.com";
/** Nothing listens here: a session the map sends to `refused` fails, so a wrong pick shows. */
const REFUSED_PORT = 7039;

const upstreamLines = (w: Workload) => BACKENDS[w].map((p) => `127.0.0.1:${p}`);

export interface StreamConfOptions {
  /** nginx itself (load_module, worker_rlimit_nofile, reuseport with workers) or streamlb. */
  readonly nginx: boolean;
  readonly base: number;
  readonly dir: string;
  /** nginx's dynamic stream module, when it is one. */
  readonly streamModule?: string | null;
  readonly nofile: number;
  /** Names the pid file (targets share a directory). */
  readonly name: string;
  readonly workers?: number;
  readonly listeners: readonly Listener[];
  /** ECDSA P-256 certificate and key for the TLS listeners. */
  readonly cert: string;
  readonly key: string;
}

/**
 * One nginx stream config, read by nginx and by streamlb alike (streamlb reads nginx's syntax),
 * so both run exactly the same listeners, upstreams and settings.
 *
 * With one worker, `master_process off` makes that worker the only process, so its PID is the
 * one we measure (the request path is the same code as under a master). With `workers` > 1, a
 * master and that many workers; nginx gets `reuseport` on each listener so every worker has
 * its own listening socket, as streamlb's workers always do (it warns that the parameter is
 * redundant, so it is left out there).
 */
export function streamConf(o: StreamConfOptions): string {
  const workers = o.workers ?? 1;
  const ports = listenPorts(o.base);
  const reuseport = o.nginx && workers > 1 ? " reuseport" : "";
  const tls = `ssl_certificate ${o.cert}; ssl_certificate_key ${o.key}; ssl_protocols TLSv1.3;`;
  const server: Record<Listener, string> = {
    bulk: `listen 127.0.0.1:${ports.bulk}${reuseport}; proxy_pass bulk;`,
    http: `listen 127.0.0.1:${ports.http}${reuseport}; proxy_pass http;`,
    echo: `listen 127.0.0.1:${ports.echo}${reuseport}; proxy_pass echo;`,
    pp: `listen 127.0.0.1:${ports.pp} proxy_protocol${reuseport}; proxy_pass echo;`,
    sni: `listen 127.0.0.1:${ports.sni}${reuseport}; ssl_preread on; proxy_pass $sni_upstream;`,
    udp: `listen 127.0.0.1:${ports.udp} udp${reuseport}; proxy_pass udp;`,
    tls: `listen 127.0.0.1:${ports.tls} ssl${reuseport}; ${tls} proxy_pass echo;`,
    tlsbulk: `listen 127.0.0.1:${ports.tlsbulk} ssl${reuseport}; ${tls} proxy_pass bulk;`,
  };
  const used = new Set(o.listeners.map((l) => BACKEND_OF[l]));
  const upstreams = WORKLOADS.filter((w) => used.has(w)).map((w) =>
    `  upstream ${w} { ${upstreamLines(w).map((a) => `server ${a};`).join(" ")} }`
  );
  if (o.listeners.includes("sni")) {
    upstreams.push(`  upstream refused { server 127.0.0.1:${REFUSED_PORT}; }`);
    upstreams.push(`  map $ssl_preread_server_name $sni_upstream { ${SNI_NAME} echo; default refused; }`);
  }
  return `# ${o.nginx ? "nginx" : "streamlb"} bench config (generated by test/bench)
${o.nginx && o.streamModule ? `load_module ${o.streamModule};` : ""}
worker_processes ${workers};
${workers > 1 ? "" : "master_process off;"}
daemon off;
${o.nginx ? `worker_rlimit_nofile ${o.nofile};` : ""}
error_log stderr error;
pid ${o.dir}/${o.name}.pid;
events { worker_connections ${o.nofile}; }
stream {
  proxy_connect_timeout 1s;
  proxy_timeout 10m;
  tcp_nodelay on;
  proxy_buffer_size 16k;
${upstreams.join("\n")}
${o.listeners.map((l) => `  server { ${server[l]} }`).join("\n")}
}
`;
}

/** HAProxy does not proxy UDP: every other listener has its equivalent. */
export const HAPROXY_LISTENERS: readonly Listener[] = LISTENERS.filter((l) => l !== "udp");

/**
 * HAProxy, one process (-db: no master-worker) with one thread, mode tcp. `pem` is the
 * certificate and key in one file, as HAProxy's `crt` takes them. The SNI listener waits for
 * the ClientHello (inspect-delay) and picks the backend by req.ssl_sni, as the nginx map does.
 */
export function haproxyCfg(base: number, maxconn: number, pem: string, listeners: readonly Listener[]): string {
  const ports = listenPorts(base);
  const servers = (w: Workload) => upstreamLines(w).map((a, i) => `  server s${i} ${a}`).join("\n");
  const bind: Record<Listener, string> = {
    bulk: `bind 127.0.0.1:${ports.bulk}`,
    http: `bind 127.0.0.1:${ports.http}`,
    echo: `bind 127.0.0.1:${ports.echo}`,
    pp: `bind 127.0.0.1:${ports.pp} accept-proxy`,
    sni: `bind 127.0.0.1:${ports.sni}`,
    udp: "",
    tls: `bind 127.0.0.1:${ports.tls} ssl crt ${pem} ssl-min-ver TLSv1.3`,
    tlsbulk: `bind 127.0.0.1:${ports.tlsbulk} ssl crt ${pem} ssl-min-ver TLSv1.3`,
  };
  const sections = listeners.filter((l) => l !== "sni" && HAPROXY_LISTENERS.includes(l)).map((l) =>
    `listen ${l}\n  ${bind[l]}\n${servers(BACKEND_OF[l])}\n`
  );
  if (listeners.includes("sni")) {
    sections.push(`frontend sni
  ${bind.sni}
  tcp-request inspect-delay 5s
  tcp-request content accept if { req.ssl_hello_type 1 }
  use_backend sni_echo if { req.ssl_sni -i ${SNI_NAME} }
  default_backend sni_refused

backend sni_echo
${servers("echo")}

backend sni_refused
  server r0 127.0.0.1:${REFUSED_PORT}
`);
  }
  return `# HAProxy bench config (generated by test/bench)
global
  nbthread 1
  maxconn ${maxconn}
  tune.bufsize 16384
  ssl-server-verify none

defaults
  mode tcp
  balance roundrobin
  timeout connect 1s
  timeout client 10m
  timeout server 10m

${sections.join("\n")}`;
}

/**
 * The HTTP backends: nginx http, one worker, a fixed 13-byte body from memory. It is far
 * faster than the balancers under test, so it is not what the keep-alive numbers measure.
 * keepalive_requests is raised so keep-alive connections are never recycled mid-run.
 */
export function nginxHttpConf(dir: string): string {
  return `# nginx http backend for the bench (generated by test/bench)
worker_processes 1;
master_process off;
daemon off;
error_log stderr error;
pid ${dir}/nginx-http.pid;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 10m;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${BACKENDS.http[0]} backlog=4096;
    listen 127.0.0.1:${BACKENDS.http[1]} backlog=4096;
    default_type text/plain;
    location / { return 200 "hello, bench\\n"; }
  }
}
`;
}
