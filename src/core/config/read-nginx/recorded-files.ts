// For `-T`: nginx prints every config file it read, the main file first, then the included
// ones in the order read, each once. Wrapping the reader's file access records them without
// the reader knowing.
import type { ConfigFiles } from "./files.ts";

export interface ReadFile {
  readonly path: string;
  readonly text: string;
}

export class RecordedFiles implements ConfigFiles {
  private readonly read: ReadFile[] = [];
  private readonly seen = new Set<string>();

  constructor(private readonly inner: ConfigFiles) {}

  /** The main file, read by the caller rather than through readFile. */
  add(path: string, text: string): void {
    if (this.seen.has(path)) return;
    this.seen.add(path);
    this.read.push({ path, text });
  }

  readFile(path: string): string {
    const text = this.inner.readFile(path);
    this.add(path, text);
    return text;
  }

  glob(pattern: string): string[] {
    return this.inner.glob(pattern);
  }

  files(): readonly ReadFile[] {
    return this.read;
  }
}

/** `-T`'s dump: each file under nginx's header, followed by a line feed as nginx writes it. */
export function dumpFiles(files: readonly ReadFile[]): string {
  return files.map((f) => `# configuration file ${f.path}:\n${f.text}\n`).join("");
}
