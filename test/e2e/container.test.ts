// build/container/Containerfile, checked by running it. Its steps are applied to a scratch root
// (the binary's shared libraries and a passwd, standing in for distroless), which then runs as
// a container would: chrooted, as the image's USER, with /proc and /dev, the config mounted
// over the image's, a main directive passed with -g as the Kubernetes manifests pass it, and
// stopped with the image's STOPSIGNAL, which must drain. Where podman is there (or installable),
// the real build must agree with the scratch root on user, signal and command.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Backend, freePorts, startNamedEcho } from "../support/backends.ts";
import {
  applyContainerfile,
  ensurePodman,
  type ImageConfig,
  inspectImage,
  makeBase,
  mountRuntimeFs,
  podman,
} from "../support/container.ts";
import { Stream } from "../support/streams.ts";
import { tempDir, wrap } from "../support/streamlb.ts";

const CONTAINERFILE = "build/container/Containerfile";
const BINARY = "dist/streamlb";
const TOKEN = "c0ntainer";

function whyNot(): string | null {
  if (process.platform !== "linux") return "the scratch-root check needs Linux (chroot, mount)";
  if (process.getuid?.() !== 0) return "the scratch-root check needs root (chroot, mount)";
  if (!existsSync(BINARY)) return `${BINARY} is not built (npm run build)`;
  return null;
}

const refusesConnections = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => (s.destroy(), resolve(false)));
    s.once("error", () => resolve(true));
  });

const skip = whyNot();

describe("the container image, built in a scratch root", { skip: skip ?? false }, () => {
  let root: string;
  let image: ImageConfig;
  let unmount = () => {};
  let backend: Backend;

  before(() => {
    root = join(tempDir(), "root");
    makeBase(root, BINARY);
    image = applyContainerfile(readFileSync(CONTAINERFILE, "utf8"), ".", root);
    unmount = mountRuntimeFs(root);
  });

  after(async () => {
    unmount();
    await backend?.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** The image's command in the scratch root, as its user: ENTRYPOINT, then CMD or `args`. */
  const runImage = (args: string[] = image.cmd) =>
    spawn("chroot", [`--userspec=${image.user}`, root, ...image.entrypoint, ...args], { stdio: ["ignore", "pipe", "pipe"] });

  test("non-root, drains on stop, and runs its own default config", async () => {
    assert.match(image.user, /^[1-9][0-9]*:[1-9][0-9]*$/, "USER must be a non-root uid:gid");
    assert.equal(image.stopSignal, "SIGQUIT");
    assert.deepEqual(image.cmd, ["-c", "/etc/streamlb/streamlb.conf"]);
    const check = wrap(runImage([...image.cmd, "-t"]));
    assert.equal(await check.exited(20_000), 0, check.log());
    assert.match(check.log(), /test is successful/);
  });

  test("a mounted config and -g, probes answer, the stop signal drains a live session", async () => {
    backend = await startNamedEcho("a");
    const [port, adminPort] = (await freePorts(2)) as [number, number];
    // What `-v ./streamlb.conf:/etc/streamlb/streamlb.conf` (or the ConfigMap) puts there.
    writeFileSync(
      join(root, "etc/streamlb/streamlb.conf"),
      `pid /tmp/streamlb.pid;
error_log stderr notice;
worker_shutdown_timeout 20s;
admin 127.0.0.1:${adminPort} token=${TOKEN};
events {}
stream {
    upstream u { hash $remote_addr consistent bounded=1.25; server ${backend.address}; }
    server { listen 127.0.0.1:${port}; proxy_pass u; }
}
`,
    );
    const lb = wrap(runImage([...image.cmd, "-g", "worker_processes 1;"]));
    try {
      await lb.waitForLog(/listening on /, 20_000);
      assert.match(readFileSync(`/proc/${lb.pid}/status`, "utf8"), new RegExp(`^Uid:\\s+${image.user.split(":")[0]}\\s`, "m"));

      const get = (path: string, token?: string) =>
        fetch(`http://127.0.0.1:${adminPort}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      assert.equal((await get("/healthz")).status, 200);
      assert.equal((await get("/readyz", TOKEN)).status, 200);

      const live = await new Stream(port).start(256, 10);
      assert.equal(live.backend, "a");
      lb.signal(image.stopSignal as NodeJS.Signals);
      await lb.waitForLog(/shutting down gracefully/, 10_000);
      let refused = false;
      for (let i = 0; i < 100 && !refused; i++) refused = await refusesConnections(port);
      assert.ok(refused, "still accepting after the stop signal");
      assert.equal(live.closed, false, "the stop signal cut a live session");
      await live.finish();
      assert.ok(live.intact(), "bytes lost while draining");
      assert.equal(await lb.exited(20_000), 0, lb.log());
    } finally {
      await lb.stop();
    }
  });

  test("podman builds the same image (user, stop signal, command)", async (t) => {
    const found = ensurePodman();
    if ("skip" in found) return t.skip(found.skip);
    const dir = tempDir();
    makeBase(join(dir, "base"), BINARY);
    writeFileSync(join(dir, "Containerfile"), "FROM scratch\nCOPY base/ /\n");
    let r = podman(found.bin, ["build", "-q", "-t", "localhost/streamlb-test-base", dir]);
    assert.ok(r.ok, r.err);
    r = podman(found.bin, [
      "build",
      "-q",
      "--build-arg",
      "BASE=localhost/streamlb-test-base",
      "--ignorefile",
      "build/container/Containerfile.dockerignore",
      "-f",
      CONTAINERFILE,
      "-t",
      "localhost/streamlb-test",
      ".",
    ]);
    assert.ok(r.ok, r.err);
    const built = inspectImage(found.bin, "localhost/streamlb-test");
    assert.deepEqual(built, { ...image, exposed: [...image.exposed].sort() });
    const run = podman(found.bin, ["run", "--rm", "--network", "host", "localhost/streamlb-test", ...image.cmd, "-t"]);
    if (run.ok || /test is successful/.test(run.err)) assert.match(run.err, /test is successful/);
    else t.diagnostic(`podman builds here but cannot run containers (the scratch root above ran it): ${run.err.trim()}`);
    podman(found.bin, ["rmi", "-f", "localhost/streamlb-test", "localhost/streamlb-test-base"]);
    rmSync(dir, { recursive: true, force: true });
  });
});
