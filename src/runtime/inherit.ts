// The listening sockets a binary upgrade hands over, named as nginx names them: NGINX holds
// the inherited descriptors ("3;4;"); STREAMLB_INHERITED holds their listen keys ("*:8000")
// in the same order, so each socket goes to the listen line it was opened for. Both are read
// once and removed from the environment; a master's workers get their own pair, naming the
// master's sockets as they see them.
export const NGINX_ENV = "NGINX";
export const KEYS_ENV = "STREAMLB_INHERITED";
/** The new binary gets them as descriptors 3, 4, ... (after stdin, stdout and stderr). */
export const FIRST_FD = 3;

/** `first`: where they start in the child (a Node worker has its IPC channel at 3). */
export function upgradeEnv(keys: readonly string[], first = FIRST_FD): Record<string, string> {
  return {
    [NGINX_ENV]: keys.map((_, i) => `${first + i};`).join(""),
    [KEYS_ENV]: keys.join(";"),
  };
}

export class Inherited {
  /** By listen key; a master with N workers passes N sockets a key, one for each. */
  private readonly fds = new Map<string, number[]>();

  constructor(nginx: string | undefined, keys: string | undefined) {
    if (!nginx || !keys) return;
    const fds = nginx.split(/[;:]/).filter((s) => s !== "").map(Number);
    const names = keys.split(";");
    names.forEach((key, i) => {
      const fd = fds[i];
      if (fd === undefined || !Number.isInteger(fd) || fd < FIRST_FD) return;
      const list = this.fds.get(key);
      if (list) list.push(fd);
      else this.fds.set(key, [fd]);
    });
  }

  /** A socket for this listen key, each once; undefined when none (more) was handed over. */
  take(key: string): number | undefined {
    const list = this.fds.get(key);
    const fd = list?.shift();
    if (list?.length === 0) this.fds.delete(key);
    return fd;
  }

  /** Those not taken: the new config has no such listen, or fewer workers. */
  untaken(): number[] {
    return [...this.fds.values()].flat();
  }
}

/**
 * The executable's path as it is on disk now. Linux names a replaced executable
 * "PATH (deleted)" in /proc/self/exe, where runtimes read their own path from; an upgrade
 * (and a worker started after one) runs what is at PATH now: the new binary.
 */
export function onDisk(execPath: string): string {
  return execPath.replace(/ \(deleted\)$/, "");
}
