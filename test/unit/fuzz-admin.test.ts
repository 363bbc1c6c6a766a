// Property tests of the admin API's JSON bodies, driven in-process with fetch-style Requests
// on a scripted runtime: any body to POST (add a server) or PATCH (change one), and any path,
// gets a 2xx or the 4xx that names what is wrong, never a 500; and after every change the
// state file the API wrote reads back as the servers that run.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { memoryRuntime } from "../support/fake-runtime.ts";
import * as fc from "fast-check";
import { type AdminHandler, createAdminHandler } from "../../src/core/admin.ts";
import type { UpstreamServerConfig } from "../../src/core/config/model.ts";
import { parseUpstreamState } from "../../src/core/config/read-nginx/reader.ts";
import { loadYamlConfig } from "../../src/core/config/read-yaml/reader.ts";
import { type RunningBalancer, startRunningBalancer } from "../../src/core/running-balancer.ts";
import type { Logger } from "../../src/core/log.ts";
import { boundedAsync, FUZZ_TIMEOUT_MS, params } from "../support/fuzz.ts";

const STATE = "/state/dyn.state";

const CONFIG = `
stream:
  upstreams:
    dyn:
      state: ${STATE}
      servers: ["127.0.0.1:7000", { address: "127.0.0.1:7001", weight: 2 }]
    hashed:
      hash: $remote_addr
      state: /state/hashed.state
      servers: ["127.0.0.1:7100"]
  servers:
    - { listen: "127.0.0.1:8001", proxy_pass: dyn }
    - { listen: "127.0.0.1:8002", proxy_pass: hashed }
`;

interface Api {
  readonly instance: RunningBalancer;
  readonly files: Map<string, string>;
  readonly errors: string[];
  /** Back to the config's servers and no state files: each case starts alike, so a shrunk one stands alone. */
  reset(): void;
  send(method: string, path: string, body?: string, type?: string): Promise<Response>;
}

async function api(): Promise<Api> {
  const files = new Map<string, string>();
  const runtime = memoryRuntime(files);
  const errors: string[] = [];
  const logger: Logger = { enabled: () => true, log: (level, m) => void (level === "error" && errors.push(m)) };
  const instance = startRunningBalancer(runtime, loadYamlConfig(CONFIG, "t.yaml"), logger);
  await instance.ready;
  const handler: AdminHandler = createAdminHandler({
    runtime,
    version: "0",
    startedMs: 0,
    instance: () => instance,
    token: () => null,
    accepting: () => true,
    logger,
  });
  const send = (method: string, path: string, body?: string, type = "application/json") =>
    boundedAsync(`${method} ${path}`, () =>
      handler(
        new Request(`http://127.0.0.1:9000${path}`, {
          method,
          headers: { host: "127.0.0.1:9000", ...(body !== undefined && { "content-type": type }) },
          body,
        }),
      ));
  const initial = ["dyn", "hashed"].map((name) => instance.balancer.upstream(name)!).map((u) => ({ u, config: u.config }));
  const reset = () => {
    for (const { u, config } of initial) u.update(config);
    files.clear();
    errors.length = 0;
  };
  return { instance, files, errors, reset, send };
}

/** A status the API answers with, and the JSON error it carries when it is not a 2xx. */
async function expectAnswer(r: Response, allowed: readonly number[], errors: readonly string[]): Promise<void> {
  assert.deepEqual(errors, [], "the handler logged an internal error");
  assert.ok(allowed.includes(r.status), `status ${r.status}: ${await r.clone().text()}`);
  const body = (await r.json()) as { error?: unknown };
  if (r.status >= 400) assert.ok(typeof body.error === "string" && body.error.length > 0, "a 4xx names the problem");
}

const withoutLoc = (list: readonly UpstreamServerConfig[]) => list.map(({ loc: _loc, ...rest }) => rest);

/** The state file the API wrote reads back as the servers the upstream runs. */
function stateMatches(a: Api, upstream: string, path: string): void {
  const text = a.files.get(path);
  assert.ok(text !== undefined, "the change wrote the state file");
  const running = a.instance.balancer.upstream(upstream)!.config.servers;
  assert.deepEqual(withoutLoc(parseUpstreamState(text, path)), withoutLoc(running), text);
}

// --- bodies: the known fields with values of every JSON type, and unknown fields ---

const interestingValue = fc.oneof(
  fc.integer({ min: -2, max: 3 }),
  fc.constantFrom(0.5, 1e21, -0, 1_000_001, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, true, false, null, "", "10s", "1h30m", "x"),
  fc.constantFrom("127.0.0.1:7002", "[::1]:7003", "h:0", "h:65536", "a b:1", "[zz]:1", "127.0.0.1:7000"),
  fc.string({ maxLength: 8 }),
  fc.jsonValue({ maxDepth: 2 }),
);

const FIELDS = ["server", "address", "weight", "max_fails", "fail_timeout", "max_conns", "backup", "down", "drain"];
const field = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...FIELDS) }, {
  weight: 1,
  arbitrary: fc.string({ maxLength: 6 }),
});
const bodyObject = fc.dictionary(field, interestingValue, { maxKeys: 5 });

/** A body as sent: a JSON object mostly, else other JSON or bytes that are not JSON. */
const rawBody = fc.oneof(
  { weight: 6, arbitrary: bodyObject.map((o) => JSON.stringify(o)) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
);

describe("admin API bodies (property)", () => {
  test("POST a server: 201 with the state file matching, or a 4xx naming the problem", { timeout: FUZZ_TIMEOUT_MS }, async () => {
    const a = await api();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("dyn", "hashed"), rawBody, async (upstream, body) => {
        a.reset();
        const r = await a.send("POST", `/api/upstreams/${upstream}/servers`, body);
        await expectAnswer(r, [201, 400, 409], a.errors);
        if (r.status === 201) stateMatches(a, upstream, `/state/${upstream}.state`);
      }),
      params(),
    );
  });

  test(
    "PATCH a server: 200 with the state file matching, or a 4xx naming the problem",
    { timeout: FUZZ_TIMEOUT_MS },
    async () => {
      const a = await api();
      await fc.assert(
        fc.asyncProperty(fc.constantFrom("127.0.0.1:7000", "127.0.0.1:7001"), rawBody, async (address, body) => {
          a.reset();
          const r = await a.send("PATCH", `/api/upstreams/dyn/servers/${address}`, body);
          await expectAnswer(r, [200, 400], a.errors);
          if (r.status === 200) stateMatches(a, "dyn", STATE);
        }),
        params(),
      );
    },
  );

  test("any method, path and content type: an answer, never a 500", { timeout: FUZZ_TIMEOUT_MS }, async () => {
    const a = await api();
    const segment = fc.oneof(
      fc.constantFrom("dyn", "hashed", "servers", "127.0.0.1%3A7000", "%", "%zz", "..", ""),
      fc.webSegment(),
    );
    const path = fc.array(segment, { maxLength: 5 }).map((s) => `/api/upstreams/${s.join("/")}`);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("GET", "HEAD", "POST", "PATCH", "DELETE", "PUT"),
        fc.oneof(path, fc.webPath()),
        fc.option(rawBody, { nil: undefined }),
        fc.constantFrom("application/json", "application/JSON; charset=utf-8", "text/plain"),
        async (method, p, body, type) => {
          a.reset();
          const sendBody = method === "GET" || method === "HEAD" ? undefined : body;
          const r = await a.send(method, p || "/", sendBody, type);
          assert.deepEqual(a.errors, [], "the handler logged an internal error");
          assert.ok(r.status < 500, `${method} ${p}: ${r.status} ${await r.text()}`);
        },
      ),
      // The bodies have their own properties above; a fifth of the count for the routes keeps
      // the file within seconds on Node, where each Request costs most.
      params(0.2),
    );
  });
});
