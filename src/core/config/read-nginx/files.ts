// What the nginx reader needs from the outside world (the core cannot touch files itself),
// and how it words what it hands back: warnings, and the errno text of a failed open().
import { formatLoc } from "../errors.ts";
import type { SourceLoc } from "../model.ts";
import { directiveSpecs } from "../schema/table.ts";
import { type NginxDirective, type NginxNode, tokenizeNginx } from "./tokenizer.ts";
import type { ReaderContext } from "./context.ts";
import { checkShape } from "./values.ts";

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

/** A guard against a file that includes itself (nginx would run out of file descriptors). */
const MAX_INCLUDE_DEPTH = 64;

/** `include`: a block's directives with the included files' ones in their place. */
export class Includes {
  /** nginx's conf prefix: relative includes resolve against the main file's directory. */
  private readonly prefix: string;
  private includeDepth = 0;

  constructor(
    file: string,
    private readonly files: ConfigFiles | null,
    private readonly cx: ReaderContext,
  ) {
    const slash = file.lastIndexOf("/");
    this.prefix = slash < 0 ? "" : file.slice(0, slash + 1);
  }

  /** A block's directives with `include`s replaced by the files' directives (any context). */
  *expand(nodes: readonly NginxNode[]): Generator<NginxDirective> {
    for (const node of nodes) {
      if (node.kind === "error") throw node.error;
      if (node.name !== "include") {
        yield node;
        continue;
      }
      checkShape(this.cx, node, directiveSpecs("include")[0]!);
      const files = this.files;
      if (!files) this.cx.fail(node, `"include" needs file access, which the caller of the config reader did not give`);
      if (this.includeDepth >= MAX_INCLUDE_DEPTH) this.cx.fail(node, `too many nested includes (does a file include itself?)`);
      const target = this.resolve(node.args[0]!);
      const paths = /[*?[]/.test(target) ? this.glob(node, files, target) : [target];
      for (const path of paths) {
        let text: string;
        try {
          text = files.readFile(path);
        } catch (e) {
          this.cx.fail(node, `open() "${path}" failed (${describeFileError(e)})`);
        }
        this.includeDepth++;
        try {
          yield* this.expand(tokenizeNginx(text, path));
        } finally {
          this.includeDepth--;
        }
      }
    }
  }

  private glob(d: NginxDirective, files: ConfigFiles, pattern: string): string[] {
    try {
      return files.glob(pattern);
    } catch (e) {
      this.cx.fail(d, `glob() "${pattern}" failed (${describeFileError(e)})`);
    }
  }

  private resolve(path: string): string {
    return path.startsWith("/") ? path : this.prefix + path;
  }
}
