// What the nginx reader needs from the outside world (the core cannot touch files itself),
// and how it words what it hands back: warnings, and the errno text of a failed open().
import { formatLoc } from "../errors.ts";
import type { SourceLoc } from "../model.ts";

/**
 * How the reader gets at `include`d files. The core cannot touch the file system itself, so
 * the caller passes this in (src/runtime/files.ts does it with node:fs).
 */
export interface ConfigFiles {
  /** The file's text; throws (with a `code` such as ENOENT, as node:fs does) when it cannot. */
  readFile(path: string): string;
  /** The paths matching a glob pattern (`*`, `?`, `[…]`), sorted; [] when nothing matches. */
  glob(pattern: string): string[];
}

/** Something accepted that has no effect, for the operator to know: `[warn] … in FILE:LINE`. */
export interface ConfigWarning {
  readonly message: string;
  readonly loc: SourceLoc | null;
}

export function formatWarning(w: ConfigWarning): string {
  return w.loc ? `${w.message} in ${formatLoc(w.loc)}` : w.message;
}

/** The errno text nginx prints after a failed open(): `2: No such file or directory`. */
export function describeFileError(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  const known: Record<string, string> = {
    ENOENT: "2: No such file or directory",
    EACCES: "13: Permission denied",
    ENOTDIR: "20: Not a directory",
    EISDIR: "21: Is a directory",
    EMFILE: "24: Too many open files",
    ELOOP: "40: Too many levels of symbolic links",
  };
  if (typeof code === "string" && known[code]) return known[code];
  return e instanceof Error ? e.message : String(e);
}
