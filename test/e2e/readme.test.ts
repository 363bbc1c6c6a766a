// Every example config in README.md passes `streamlb -t`, so the docs cannot drift from
// what the parser accepts. -t opens the logs as nginx's does, so the examples' absolute
// directories (/var/log/streamlb/) are moved under a temporary one.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { describe, test } from "node:test";
import { runStreamlb, TARGETS, tempDir, writeConfig } from "../support/streamlb.ts";
import { type Certs, makeCerts } from "../support/certs.ts";

const README = readFileSync("README.md", "utf8");
const examples = [...README.matchAll(/```(yaml|nginx)\n([\s\S]*?)```/g)].map((m, i) => ({
  kind: m[1] as "yaml" | "nginx",
  text: m[2]!,
  n: i + 1,
}));

let certs: Certs | null = null;

/**
 * The files the TLS examples name, made beside the config (-t loads every certificate): an RSA
 * pair and an ECDSA pair for the two certificate lines, and the test CA for the trust lists.
 */
function tlsFiles(dir: string, text: string): void {
  if (!text.includes(".pem")) return;
  certs ??= makeCerts();
  copyFileSync(certs.cert("localhost"), join(dir, "ecdsa.pem"));
  copyFileSync(certs.key("localhost"), join(dir, "ecdsa.key"));
  for (const ca of ["ca.pem", "backend-ca.pem"]) copyFileSync(certs.cert("ca"), join(dir, ca));
  const rsa = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "rsa.key", "-out", "rsa.pem"];
  const made = spawnSync("openssl", [...rsa, "-days", "2", "-subj", "/CN=example.com"], { cwd: dir });
  assert.equal(made.status, 0, String(made.stderr));
}

describe("README examples", () => {
  test("README has example configs in both spellings", () => {
    assert.ok(examples.some((e) => e.kind === "yaml"));
    assert.ok(examples.some((e) => e.kind === "nginx"));
  });

  for (const e of examples) {
    test(`example ${e.n} (${e.kind}) passes -t`, async () => {
      const root = tempDir();
      mkdirSync(join(root, "var/log/streamlb"), { recursive: true });
      const text = e.text.replaceAll("/var/log/streamlb/", `${root}/var/log/streamlb/`);
      const file = writeConfig(text, e.kind === "yaml" ? "example.yaml" : "nginx.conf");
      tlsFiles(dirname(file), text);
      const r = await runStreamlb(TARGETS[0] ?? "node", ["-t", "-c", file]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /test is successful/);
    });
  }
});

/**
 * The "Running it" commands, as a user types them after `npm ci`: from the repository, with a
 * PATH that does not have node_modules/.bin (npm scripts add it; a shell does not), each with
 * `-t` on a config of its own.
 */
describe("README commands", () => {
  const commands = [...README.matchAll(/`((?:npm|npx|node|\.\/streamlb)[^`]*-c lb\.yaml)`/g)].map((m) => m[1]!);
  const PATH = (process.env["PATH"] ?? "")
    .split(delimiter)
    .filter((d) => !d.includes("node_modules"))
    .join(delimiter);

  test("the README names a command for each runtime and the binary", () => {
    for (const word of ["npm start", "start:bun", "npx bun", "start:deno", "npx deno", "./streamlb"]) {
      assert.ok(commands.some((c) => c.includes(word)), `${word} in ${commands.join(" | ")}`);
    }
  });

  for (const command of commands) {
    test(`\`${command}\` works as written`, () => {
      const file = writeConfig(`stream:\n  servers:\n    - { listen: 1, proxy_pass: "127.0.0.1:9" }\n`, "lb.yaml");
      const line = `${command.replace("./streamlb", resolve("dist/streamlb")).replace("lb.yaml", file)} -t`;
      const r = spawnSync("sh", ["-c", line], { encoding: "utf8", timeout: 60_000, env: { ...process.env, PATH } });
      assert.equal(r.status, 0, `${line}\n${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /test is successful/);
    });
  }
});
