// Debian's nginx beside streamlb: found, or installed from Debian's packages (the tests run
// as root in CI), and started in the foreground as one process inside a test directory.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";

export const STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function findNginx(): string | null {
  for (const bin of ["/usr/sbin/nginx", "/usr/bin/nginx"]) if (existsSync(bin)) return bin;
  const which = spawnSync("sh", ["-c", "command -v nginx"], { encoding: "utf8" });
  return which.status === 0 && which.stdout.trim() ? which.stdout.trim() : null;
}

/** The nginx binary, or why it cannot be had (then the suite is skipped, with that reason). */
export function ensureNginx(): { bin: string } | { skip: string } {
  let bin = findNginx();
  if (bin && existsSync(STREAM_MODULE)) return { bin };
  if (process.platform !== "linux" || !existsSync("/usr/bin/apt-get")) {
    return { skip: "nginx with the stream module is not installed and this is not a Debian-like system (no apt-get)" };
  }
  if (process.getuid?.() !== 0) return { skip: "nginx is not installed and installing it needs root (apt-get)" };
  const apt = (args: string[]) =>
    spawnSync("apt-get", args, {
      encoding: "utf8",
      timeout: 300_000,
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  const update = apt(["update"]);
  // nginx-light is the smallest build on bookworm; later Debian releases only ship `nginx`.
  for (const pkgs of [["nginx-light", "libnginx-mod-stream"], ["nginx", "libnginx-mod-stream"]]) {
    const install = apt(["install", "-y", "--no-install-recommends", ...pkgs]);
    bin = findNginx();
    if (install.status === 0 && bin && existsSync(STREAM_MODULE)) return { bin };
  }
  return {
    skip: `could not install nginx + libnginx-mod-stream with apt-get (update: ${update.status}): ${
      (update.stderr ?? "").trim().split("\n").pop() ?? ""
    }`,
  };
}

export interface Nginx {
  readonly pid: number;
  log(): string;
  stop(): Promise<void>;
}

/** Runs nginx in the foreground, one process, everything inside `dir`; resolves once it listens. */
export async function startNginx(bin: string, dir: string, conf: string, probePort: number): Promise<Nginx> {
  const file = join(dir, "nginx.conf");
  const errorLog = join(dir, "error.log");
  writeFileSync(file, conf);
  const child: ChildProcess = spawn(
    bin,
    ["-p", `${dir}/`, "-c", file, "-e", errorLog, "-g", "daemon off; master_process off;"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const log = () => stderr + (existsSync(errorLog) ? readFileSync(errorLog, "utf8") : "");
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`nginx exited at start:\n${log()}`);
    if (await canConnect(probePort)) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`nginx did not listen on ${probePort} within 10 s:\n${log()}`);
    }
    await sleep(50);
  }
  return {
    pid: child.pid!,
    log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1", () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}
