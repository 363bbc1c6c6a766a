// PROXY protocol (accept and send), realip and ssl_preread over real sockets, on every target,
// side by side with Debian's nginx where it is installed: the same config file, read by both,
// must give the same picks and the same variables for the same clients.
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { type Backend, freePorts, startBackend, startNamedEcho } from "../support/backends.ts";
import { ensureNginx, type Nginx, startNginx, STREAM_MODULE } from "../support/nginx.ts";
import { startStreamlb, type Streamlb, TARGETS, tempDir, writeConfig } from "../support/streamlb.ts";
import { alpnExtension, clientHelloMessage, records, sniExtension } from "../support/client-hello-bytes.ts";

/** Sends `data` (as soon as connected), then reads until `done` says the reply is whole or the peer closes. */
function exchange(port: number, data: Uint8Array | string, done: (got: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no whole reply from ${port}: got ${JSON.stringify(got.toString("latin1"))}`));
    }, 5000);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(got);
    };
    socket.on("connect", () => socket.write(data));
    socket.on("data", (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (done(got)) finish();
    });
    socket.on("error", (e) => (clearTimeout(timer), reject(e)));
    socket.on("close", finish);
  });
}
const line = (b: Buffer) => b.includes(0x0a);
const firstLineOf = (b: Buffer) => b.toString("latin1").split("\n")[0]!;

/** 48 client addresses, spread over three /16s (geo) and many hash buckets. */
const CLIENTS = Array.from({ length: 48 }, (_, i) => `10.${1 + (i % 3)}.${(i * 37) % 256}.${(i * 11) % 250 + 1}`);

interface Ports {
  readonly ppHash: number;
  readonly realip: number;
  readonly send: number;
  readonly sni: number;
  readonly untrusted: number;
}

function streamBody(p: Ports, b: Record<string, string>): string {
  return `
    upstream uh { hash $proxy_protocol_addr; server ${b.a}; server ${b.b}; server ${b.c}; server ${b.d}; }
    upstream ua { server ${b.a}; }
    upstream ub { server ${b.b}; }
    upstream uc { server ${b.c}; }
    upstream cap { server ${b.capture}; }
    geo $net { default none; 10.1.0.0/16 one; 10.2.0.0/16 two; }
    map $ssl_preread_server_name $sni_up { a.test ua; B.test ub; default uc; }
    server { listen 127.0.0.1:${p.ppHash} proxy_protocol; proxy_pass uh; }
    server {
        listen 127.0.0.1:${p.realip} proxy_protocol;
        set_real_ip_from 127.0.0.1;
        return "$remote_addr $remote_port $realip_remote_addr $net $proxy_protocol_addr $proxy_protocol_server_port\\n";
    }
    server {
        listen 127.0.0.1:${p.untrusted} proxy_protocol;
        set_real_ip_from 10.0.0.0/8;
        return "$remote_addr $realip_remote_addr $net\\n";
    }
    server { listen 127.0.0.1:${p.send}; proxy_protocol on; proxy_pass cap; }
    server { listen 127.0.0.1:${p.sni}; ssl_preread on; proxy_pass $sni_up; }
`;
}

interface Side {
  readonly ports: Ports;
}

const nginx = ensureNginx();

describe("PROXY protocol, realip and ssl_preread over real sockets", () => {
  const backends: Backend[] = [];
  const names: Record<string, string> = {};
  const dir = tempDir();

  before(async () => {
    for (const n of ["a", "b", "c", "d"]) {
      const b = await startNamedEcho(n);
      backends.push(b);
      names[n] = b.address;
    }
    // Replies with the first line it gets: the PROXY header the balancer sent.
    const capture = await startBackend("capture", 0, (s) => {
      let got = "";
      s.setEncoding("latin1");
      s.on("data", (d: string) => {
        got += d;
        if (got.includes("\n")) s.end(got.slice(0, got.indexOf("\n") + 1));
      });
    });
    backends.push(capture);
    names.capture = capture.address;
  });
  after(async () => {
    await Promise.all(backends.map((b) => b.close()));
  });

  async function portsFor(): Promise<Ports> {
    const [ppHash, realip, send, sni, untrusted] = await freePorts(5);
    return { ppHash: ppHash!, realip: realip!, send: send!, sni: sni!, untrusted: untrusted! };
  }

  /** What one balancer answers for every check, normalized where its own port shows. */
  async function observe(side: Side): Promise<Record<string, unknown>> {
    const p = side.ports;
    const picks: string[] = [];
    for (const ip of CLIENTS) {
      picks.push(firstLineOf(await exchange(p.ppHash, `PROXY TCP4 ${ip} 192.0.2.1 5555 80\r\n`, line)));
    }
    const realip: string[] = [];
    for (const ip of CLIENTS.slice(0, 12)) {
      realip.push(firstLineOf(await exchange(p.realip, `PROXY TCP4 ${ip} 192.0.2.1 ${1000 + realip.length} 443\r\n`, line)));
    }
    const v2 = Buffer.concat([
      Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x21, 0x11, 0, 12]),
      Buffer.from([10, 2, 3, 4, 192, 0, 2, 1, 0x04, 0xd2, 0x01, 0xbb]),
    ]);
    realip.push(firstLineOf(await exchange(p.realip, v2, line)));
    const untrusted = firstLineOf(await exchange(p.untrusted, `PROXY TCP4 10.1.2.3 192.0.2.1 1 2\r\n`, line));
    // The PROXY header sent upstream: the listen port is each balancer's own, so it is checked, then named.
    const sent = firstLineOf(await exchange(p.send, "", line)).replace(/ (\d+) (\d+)\r$/, (_m, src, dst) => {
      assert.equal(Number(dst), p.send);
      assert.ok(Number(src) > 0);
      return " SRC LISTEN\r";
    });
    const sni: string[] = [];
    for (const host of ["a.test", "B.test", "b.test", "other.test", null]) {
      const hello = records(
        clientHelloMessage({ extensions: [...(host === null ? [] : [sniExtension(host)]), alpnExtension("h2")] }),
      );
      const reply = await exchange(p.sni, hello, (got) => got.length >= 2 + hello.length);
      // The backend greets, then echoes: the hello must come back byte for byte.
      const name = firstLineOf(reply);
      assert.deepEqual([...reply.subarray(name.length + 1)], [...hello], `hello for ${host} reached ${name} whole`);
      sni.push(name);
    }
    const plain = firstLineOf(await exchange(p.sni, "not tls\n", (got) => got.toString().includes("not tls")));
    return { picks, realip, untrusted, sent, sni, plain };
  }

  async function streamlbSide(target: (typeof TARGETS)[number]): Promise<{ side: Side; lb: Streamlb }> {
    const ports = await portsFor();
    const file = writeConfig(`error_log stderr notice;\nevents {}\nstream {${streamBody(ports, names)}}\n`, "pp.conf");
    const lb = await startStreamlb(target, file);
    return { side: { ports }, lb };
  }

  let expected: Record<string, unknown> | null = null;

  test("nginx, for reference", { skip: "skip" in nginx ? nginx.skip : false }, async () => {
    if (!("bin" in nginx)) return;
    const ports = await portsFor();
    const [probe] = await freePorts(1);
    const conf = [
      `load_module ${STREAM_MODULE};`,
      `worker_processes 1;`,
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log info;`,
      `events { worker_connections 256; }`,
      `stream {${streamBody(ports, names)}  server { listen 127.0.0.1:${probe}; return "ready\\n"; }\n}`,
      ``,
    ].join("\n");
    let ngx: Nginx | null = null;
    try {
      ngx = await startNginx(nginx.bin, dir, conf, probe!);
      expected = await observe({ ports });
    } finally {
      await ngx?.stop();
    }
  });

  for (const target of TARGETS) {
    test(`${target}: the same picks, variables and bytes as nginx`, async () => {
      const { side, lb } = await streamlbSide(target);
      try {
        const got = await observe(side);
        // What nginx is known to answer, so a run without nginx still checks the meaning.
        assert.equal((got.realip as string[])[0], `${CLIENTS[0]} 1000 127.0.0.1 one ${CLIENTS[0]} 443`);
        assert.equal((got.realip as string[]).at(-1), "10.2.3.4 1234 127.0.0.1 two 10.2.3.4 443");
        assert.equal(got.untrusted, "127.0.0.1 127.0.0.1 none");
        assert.equal(got.sent, "PROXY TCP4 127.0.0.1 127.0.0.1 SRC LISTEN\r");
        // map strings match without regard to case, as nginx lowercases both sides.
        assert.deepEqual(got.sni, ["a", "b", "b", "c", "c"]);
        assert.equal(got.plain, "c");
        assert.equal(new Set(got.picks as string[]).size > 1, true, "the hash spreads the clients");
        if (expected) assert.deepEqual(got, expected);
        // A broken header closes only its own connection, with nginx's line.
        const broken = await exchange(side.ports.ppHash, "HELLO\r\n", () => false);
        assert.equal(broken.length, 0);
        await lb.waitForLog(
          /broken header: "HELLO" while reading PROXY protocol, client: 127\.0\.0\.1, server: 127\.0\.0\.1:\d+/,
        );
        assert.equal(
          firstLineOf(await exchange(side.ports.ppHash, `PROXY TCP4 ${CLIENTS[0]} 1.1.1.1 1 2\r\n`, line)),
          (got.picks as string[])[0],
        );
      } finally {
        await lb.stop();
      }
    });
  }
});
