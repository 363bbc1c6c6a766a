// Cost per connection of the PROXY header reader/writer and ssl_preread's ClientHello parser
// (each runs once per connection): a plain timing loop, printed, not asserted.
// bun test/bench/parsers.ts | node dist/js/test/bench/parsers.js | deno run test/bench/parsers.ts
import { readProxyProtocol } from "../../src/core/phases/proxy-protocol.ts";
import { proxyProtocolV1, proxyProtocolV2 } from "../../src/core/phases/proxy-protocol-write.ts";
import { parseClientHello } from "../../src/core/phases/client-hello.ts";
import { OPENSSL_TLS13_SNI_ALPN_HEX } from "../support/openssl-hellos.ts";
import { fromHex } from "../support/client-hello-bytes.ts";

const v1 = new TextEncoder().encode("PROXY TCP4 192.0.2.1 192.0.2.2 51234 443\r\nGET / HTTP/1.1\r\n");
const client = { family: "ipv4", address: "192.0.2.1", port: 51234 } as const;
const local = { family: "ipv4", address: "192.0.2.2", port: 443 } as const;
const v2 = proxyProtocolV2(client, local, {
  transport: "tcp",
  tls: {
    serverName: "example.com",
    alpn: "h2",
    clientCert: false,
    certOnConnection: false,
    verify: 1,
    version: "TLSv1.3",
    cipher: "TLS_AES_128_GCM_SHA256",
  },
})!;
const hello = fromHex(OPENSSL_TLS13_SNI_ALPN_HEX);

function bench(name: string, fn: () => unknown): void {
  let sink = 0;
  for (let i = 0; i < 20_000; i++) sink += fn() ? 1 : 0; // warm up
  const n = 200_000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) sink += fn() ? 1 : 0;
  const ns = ((performance.now() - t0) * 1e6) / n;
  console.log(`${name.padEnd(40)} ${ns.toFixed(0).padStart(6)} ns/op${sink < 0 ? "!" : ""}`);
}

bench("read v1 TCP4 header", () => readProxyProtocol(v1));
bench(`read v2 TCP4 header + TLS TLVs (${v2.length} B)`, () => readProxyProtocol(v2));
bench("write v1 TCP4 header", () => proxyProtocolV1(client, local));
bench("write v2 header + TLS TLVs + CRC32C", () => proxyProtocolV2(client, local, { transport: "tcp" }));
bench(`parse ClientHello (openssl, ${hello.length} B)`, () => parseClientHello(hello));
