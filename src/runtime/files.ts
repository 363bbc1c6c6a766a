// File access for the nginx config reader's `include`, on node:fs, which Node, Deno and Bun
// all provide. Synchronous on purpose: a config is read once, before anything listens, and a
// synchronous reader keeps parseConfig usable where a Config is needed at once (mod.ts).
import { lstatSync, readdirSync } from "node:fs";
import type { ConfigFiles } from "../core/config/read-nginx/files.ts";
import { ConfigFileError, readConfigFile } from "./config-file.ts";

export const configFiles: ConfigFiles = {
  readFile: readInclude,
  glob: globPaths,
};

/**
 * The same guards as the main file (an include of /dev/zero or a fifo must not hang either);
 * the nginx reader writes the `open() "PATH" failed (...)` line itself, so it gets the reason.
 */
function readInclude(path: string): string {
  try {
    return readConfigFile(path);
  } catch (e) {
    if (!(e instanceof ConfigFileError)) throw e;
    throw Object.assign(new Error(e.reason), e.code ? { code: e.code } : {});
  }
}

/**
 * The paths matching `pattern` the way glob(3), which nginx uses, finds them: `*`, `?` and
 * `[…]` (`[!…]` negates) within one path segment; a leading dot is matched only by a
 * pattern that starts with one; the result is sorted; no match is an empty list.
 */
export function globPaths(pattern: string): string[] {
  const absolute = pattern.startsWith("/");
  const segments = pattern.split("/").filter((s) => s !== "");
  let paths = [absolute ? "/" : ""];
  for (const segment of segments) {
    const next: string[] = [];
    const matcher = hasMagic(segment) ? segmentMatcher(segment) : null;
    for (const base of paths) {
      if (!matcher) {
        next.push(join(base, segment));
        continue;
      }
      let names: string[];
      try {
        names = readdirSync(base === "" ? "." : base);
      } catch {
        continue; // not a directory, or unreadable: glob(3) skips it too
      }
      for (const name of names) {
        if (name.startsWith(".") && !segment.startsWith(".")) continue;
        if (matcher.test(name)) next.push(join(base, name));
      }
    }
    paths = next;
  }
  // glob(3) sorts with strcoll; nginx runs in the C locale, where that is byte order.
  return paths.filter(exists).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function hasMagic(segment: string): boolean {
  return /[*?[]/.test(segment);
}

function join(base: string, name: string): string {
  if (base === "") return name;
  return base.endsWith("/") ? base + name : `${base}/${name}`;
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** One glob segment as an anchored RegExp. */
function segmentMatcher(segment: string): RegExp {
  let re = "";
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i]!;
    if (ch === "*") re += ".*";
    else if (ch === "?") re += ".";
    else if (ch === "\\" && i + 1 < segment.length) re += escapeRegExp(segment[++i]!);
    else if (ch === "[") {
      const close = segment.indexOf("]", i + 2);
      if (close < 0) {
        re += "\\[";
        continue;
      }
      let body = segment.slice(i + 1, close);
      const negate = body.startsWith("!");
      if (negate) body = body.slice(1);
      re += `[${negate ? "^" : ""}${body.replace(/[\\\]^]/g, "\\$&")}]`;
      i = close;
    } else re += escapeRegExp(ch);
  }
  return new RegExp(`^${re}$`, "s");
}

function escapeRegExp(ch: string): string {
  return ch.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}
