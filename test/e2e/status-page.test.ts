// The live status page in a real browser: Debian's headless Chromium (installed with apt-get
// when missing), driven by playwright-core. It must list every server of the config, follow a
// backend going down without a reload of the page, and leave a screenshot in test/artifacts/.
// One target (node) is enough: the page and the handler are the same code on every runtime.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { type BrowserContext, chromium } from "playwright-core";
import { type Backend, firstLine, freePorts, startNamedEcho } from "../support/backends.ts";
import { startStreamlb, type Streamlb, TARGETS, writeConfig } from "../support/streamlb.ts";

const CHROMIUM = "/usr/bin/chromium";
const TOKEN = "page-t0ken";

function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  const run = (cmd: string) => {
    const r = spawnSync("sh", ["-c", cmd], { stdio: "inherit", timeout: 15 * 60_000 });
    assert.equal(r.status, 0, `${cmd} failed`);
  };
  run("apt-get update");
  run("DEBIAN_FRONTEND=noninteractive apt-get install -y chromium");
}

if (TARGETS.includes("node")) {
  describe("status page in headless Chromium", () => {
    const backends: Backend[] = [];
    let lb: Streamlb;
    let browser: BrowserContext;
    let port: number, chatPort: number, adminPort: number;

    before(
      async () => {
        ensureChromium();
        backends.push(...(await Promise.all(["a", "b", "c"].map((n) => startNamedEcho(n)))));
        const [a, b, c] = backends as [Backend, Backend, Backend];
        [port, chatPort, adminPort] = (await freePorts(3)) as [number, number, number];
        const file = writeConfig(`
error_log: { path: stderr, level: notice }
admin: { listen: "127.0.0.1:${adminPort}", token: ${TOKEN} }
stream:
  upstreams:
    web: { servers: ["${a.address}", { address: "${b.address}", weight: 2 }] }
    chat: { servers: ["${c.address}"] }
  servers:
    - { listen: "127.0.0.1:${port}", proxy_pass: web }
    - { listen: "127.0.0.1:${chatPort}", proxy_pass: chat }
`);
        lb = await startStreamlb("node", file);
        browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "streamlb-chromium-")), {
          executablePath: CHROMIUM,
          headless: true,
          args: [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
          ],
          viewport: { width: 1280, height: 720 },
        });
      },
      { timeout: 16 * 60_000 },
    );

    after(async () => {
      await browser?.close();
      await lb?.stop();
      await Promise.all(backends.map((x) => x.close()));
    });

    test("shows every server, follows a backend going down, and keeps a screenshot", async () => {
      const [a, b, c] = backends as [Backend, Backend, Backend];
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`http://127.0.0.1:${adminPort}/?token=${TOKEN}&interval=250`);
      await page.waitForSelector("tr[data-server]", { timeout: 10_000 });

      const rows = await page.$$eval(
        "tr[data-server]",
        (trs) =>
          trs.map((
            tr,
          ) => [
            tr.closest("section")!.getAttribute("data-upstream"),
            tr.getAttribute("data-server"),
            tr.getAttribute("data-state"),
          ]),
      );
      assert.deepEqual(rows, [
        ["web", a.address, "up"],
        ["web", b.address, "up"],
        ["chat", c.address, "up"],
      ]);
      assert.equal(await page.textContent(`tr[data-server="${b.address}"] td.weight`), "2");
      assert.equal(await page.$$eval("tr[data-server] td.spark svg", (s) => s.length), 3, "a sparkline per server");

      // Traffic shows up without touching the page.
      for (let i = 0; i < 3; i++) await firstLine(port);
      await page.waitForFunction(
        (addr: string) => {
          // Runs in the page (whose CSP forbids eval, so no string predicates); tsc has no DOM types here.
          const doc = (globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } })
            .document;
          return Number(doc.querySelector(`tr[data-server="${addr}"] td.total`)?.textContent) >= 1;
        },
        a.address,
        { timeout: 10_000 },
      );

      // b goes away: the next session that picks it fails over to a, and b is out (max_fails=1).
      await b.close();
      for (let i = 0; i < 3; i++) assert.equal(await firstLine(port), "a");
      await page.waitForSelector(`tr[data-server="${b.address}"][data-state="unavail"]`, { timeout: 10_000 });
      assert.equal((await page.textContent(`tr[data-server="${b.address}"] .badge`))?.trim(), "unavail");
      assert.equal(await page.textContent(`tr[data-server="${a.address}"] .badge`), "up");
      assert.match((await page.textContent(`section[data-upstream="web"] h2`)) ?? "", /1\/2 up/);

      const artifacts = resolve(process.cwd(), "test/artifacts");
      mkdirSync(artifacts, { recursive: true });
      const shot = join(artifacts, "status-page.png");
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok(existsSync(shot));
      assert.deepEqual(errors, [], "no script errors on the page");
    });

    test("without the token the page itself is refused", async () => {
      const page = await browser.newPage();
      const response = await page.goto(`http://127.0.0.1:${adminPort}/`);
      assert.equal(response?.status(), 401);
    });
  });
}
