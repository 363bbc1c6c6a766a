// The container image without a registry: build/container/Containerfile's steps applied to a
// scratch root (the same files, user and signal an image gets), and podman when the machine has
// it (installed from Debian's packages when the tests run as root, as test/support/nginx.ts does).
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** What an image's config says, as `podman image inspect` reports it. */
export interface ImageConfig {
  user: string;
  workingDir: string;
  stopSignal: string;
  entrypoint: string[];
  cmd: string[];
  exposed: string[];
}

/**
 * A scratch base with what the Containerfile's default base (distroless) gives the binary:
 * the shared libraries it links (ldd), passwd and group entries for 65532, /tmp, and the
 * mount points a container runtime fills (/proc, /dev).
 */
export function makeBase(root: string, binary: string): void {
  const ldd = spawnSync("ldd", [binary], { encoding: "utf8" });
  if (ldd.status !== 0) throw new Error(`ldd ${binary}: ${ldd.stderr}`);
  for (const m of ldd.stdout.matchAll(/(\/\S+) \(0x/g)) {
    const lib = m[1]!;
    mkdirSync(join(root, dirname(lib)), { recursive: true });
    copyFileSync(lib, join(root, lib));
  }
  mkdirSync(join(root, "etc"), { recursive: true });
  writeFileSync(
    join(root, "etc/passwd"),
    "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
  );
  writeFileSync(join(root, "etc/group"), "root:x:0:\nnonroot:x:65532:\n");
  for (const d of ["proc", "dev", "home/nonroot", "tmp"]) mkdirSync(join(root, d), { recursive: true });
  chmodSync(join(root, "tmp"), 0o1777);
}

/**
 * Applies a Containerfile to `root` (which holds the base already): COPY, and the metadata
 * steps. A step this does not model fails, so a new RUN or ADD is not silently skipped.
 */
export function applyContainerfile(text: string, context: string, root: string): ImageConfig {
  const image: ImageConfig = { user: "", workingDir: "", stopSignal: "", entrypoint: [], cmd: [], exposed: [] };
  const lines = text.replace(/\\\n/g, " ").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  for (const line of lines) {
    const [, step, rest] = /^(\S+)\s*(.*)$/.exec(line)!;
    switch (step!.toUpperCase()) {
      case "ARG":
      case "FROM":
        break;
      case "COPY": {
        const words = rest!.split(/\s+/);
        let mode: number | null = null;
        while (words[0]!.startsWith("--")) {
          const flag = words.shift()!;
          const chmod = /^--chmod=([0-7]+)$/.exec(flag);
          if (!chmod) throw new Error(`COPY flag not modelled: ${flag}`);
          mode = parseInt(chmod[1]!, 8);
        }
        if (words.length !== 2) throw new Error(`COPY with other than one source: ${line}`);
        const to = join(root, words[1]!);
        mkdirSync(dirname(to), { recursive: true });
        copyFileSync(join(context, words[0]!), to);
        if (mode !== null) chmodSync(to, mode);
        break;
      }
      case "USER":
        image.user = rest!;
        break;
      case "WORKDIR":
        image.workingDir = rest!;
        break;
      case "EXPOSE":
        image.exposed = rest!.split(/\s+/).map((p) => (p.includes("/") ? p : `${p}/tcp`));
        break;
      case "STOPSIGNAL":
        image.stopSignal = rest!;
        break;
      case "ENTRYPOINT":
        image.entrypoint = JSON.parse(rest!);
        break;
      case "CMD":
        image.cmd = JSON.parse(rest!);
        break;
      default:
        throw new Error(`Containerfile step not modelled in the scratch-root check: ${line}`);
    }
  }
  return image;
}

const run = (cmd: string, args: string[], timeout = 600_000) => spawnSync(cmd, args, { encoding: "utf8", timeout });

/** Mounts what a container runtime provides: /proc, and the usual /dev nodes. Returns the undo. */
export function mountRuntimeFs(root: string): () => void {
  const mounted: string[] = [];
  const mount = (args: string[], at: string) => {
    const r = run("mount", [...args, at]);
    if (r.status !== 0) throw new Error(`mount ${args.join(" ")} ${at}: ${r.stderr}`);
    mounted.push(at);
  };
  mount(["-t", "proc", "proc"], join(root, "proc"));
  for (const dev of ["null", "zero", "random", "urandom"]) {
    writeFileSync(join(root, "dev", dev), "");
    mount(["--bind", `/dev/${dev}`], join(root, "dev", dev));
  }
  return () => {
    for (const at of mounted.reverse()) run("umount", ["-l", at]);
  };
}

/** podman, or why there is none (then the podman part is skipped, with that reason). */
export function ensurePodman(): { bin: string } | { skip: string } {
  const found = () => (existsSync("/usr/bin/podman") ? "/usr/bin/podman" : null);
  if (found()) return { bin: found()! };
  if (process.platform !== "linux" || !existsSync("/usr/bin/apt-get")) {
    return { skip: "podman is not installed and there is no apt-get" };
  }
  if (process.getuid?.() !== 0) return { skip: "podman is not installed and installing it needs root (apt-get)" };
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  spawnSync("apt-get", ["update"], { encoding: "utf8", timeout: 300_000, env });
  const install = spawnSync("apt-get", ["install", "-y", "--no-install-recommends", "podman"], {
    encoding: "utf8",
    timeout: 600_000,
    env,
  });
  return found()
    ? { bin: found()! }
    : { skip: `apt-get install podman failed: ${(install.stderr ?? "").trim().split("\n").pop()}` };
}

export function podman(bin: string, args: string[]): { ok: boolean; out: string; err: string } {
  const r = run(bin, args);
  return { ok: r.status === 0, out: r.stdout ?? "", err: (r.stderr ?? "") + (r.error ? String(r.error) : "") };
}

/** The inspect JSON's config, in ImageConfig's shape. */
export function inspectImage(bin: string, tag: string): ImageConfig {
  const r = podman(bin, ["image", "inspect", tag]);
  if (!r.ok) throw new Error(r.err);
  const c = JSON.parse(r.out)[0].Config;
  return {
    user: c.User ?? "",
    workingDir: c.WorkingDir ?? "",
    stopSignal: c.StopSignal ?? "",
    entrypoint: c.Entrypoint ?? [],
    cmd: c.Cmd ?? [],
    exposed: Object.keys(c.ExposedPorts ?? {}).sort(),
  };
}
