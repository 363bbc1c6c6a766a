// The command line read the way nginx reads its own (ngx_get_options): flags may be grouped
// (`-tq`), an option's value may be attached (`-cFILE`, `-squit`) or be the next argument
// whatever it looks like, the last -c/-p/-e/-g/-s given wins, and a mistake is reported in
// nginx's words. node:util's parseArgs reads a different grammar (it refuses `-c -t`, names
// options `--c`), so it is not used here. streamlb adds its commands (`demo`, `convert`)
// and the long `--help`/`--version`.

export const SIGNAL_NAMES = ["stop", "quit", "reopen", "reload"] as const;
export type SignalRequest = (typeof SIGNAL_NAMES)[number];

export interface CliOptions {
  /** -h, -?, --help: help (nginx shows the version line first). */
  readonly help: boolean;
  /** -v: the version; -V (configure: true) adds the runtime and configure arguments. */
  readonly version: boolean;
  readonly configure: boolean;
  /** -t, and -T (dump: true) which also prints every config file read. */
  readonly test: boolean;
  readonly dump: boolean;
  /** -q: no non-error messages during -t. */
  readonly quiet: boolean;
  readonly prefix: string | null;
  readonly config: string | null;
  readonly errorLog: string | null;
  readonly globals: string | null;
  readonly signal: SignalRequest | null;
  readonly command: "demo" | "convert" | null;
  /** `convert`'s own arguments (FILE, --to FORMAT), read by convert.ts. */
  readonly commandArgs: readonly string[];
}

export type ParsedArgs = { readonly ok: true; readonly options: CliOptions } | { readonly ok: false; readonly error: string };

/** Options taking a value, and what nginx says when it is missing. */
const NEEDS: Readonly<Record<string, string>> = {
  p: "directory name",
  c: "file name",
  e: "file name",
  g: "parameter",
  s: "parameter",
};

export function parseCliArgs(argv: readonly string[]): ParsedArgs {
  const o = {
    help: false,
    version: false,
    configure: false,
    test: false,
    dump: false,
    quiet: false,
    prefix: null as string | null,
    config: null as string | null,
    errorLog: null as string | null,
    globals: null as string | null,
    signal: null as SignalRequest | null,
    command: null as CliOptions["command"],
    commandArgs: [] as string[],
  };
  const fail = (error: string): ParsedArgs => ({ ok: false, error });

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (o.command === null && (arg === "demo" || arg === "convert")) {
      o.command = arg;
      // convert's arguments are its own (a file, --to); demo takes nginx's options after it.
      if (arg === "convert") {
        o.commandArgs = argv.slice(i + 1);
        break;
      }
      continue;
    }
    if (arg === "--help") {
      o.help = o.version = true;
      continue;
    }
    if (arg === "--version") {
      o.version = true;
      continue;
    }
    if (!arg.startsWith("-") || arg.startsWith("--")) return fail(`invalid option: "${arg}"`);

    for (let p = 1; p < arg.length; p++) {
      const ch = arg[p]!;
      const need = NEEDS[ch];
      if (need !== undefined) {
        let value: string | undefined = arg.slice(p + 1);
        if (value === "") value = argv[++i];
        if (value === undefined) return fail(`option "-${ch}" requires ${need}`);
        if (ch === "p") o.prefix = value;
        else if (ch === "c") o.config = value;
        else if (ch === "e") o.errorLog = value;
        else if (ch === "g") o.globals = value;
        else {
          if (!(SIGNAL_NAMES as readonly string[]).includes(value)) return fail(`invalid option: "-s ${value}"`);
          o.signal = value as SignalRequest;
        }
        break;
      }
      switch (ch) {
        case "?":
        case "h":
          o.help = o.version = true;
          break;
        case "v":
          o.version = true;
          break;
        case "V":
          o.version = o.configure = true;
          break;
        case "t":
          o.test = true;
          break;
        case "T":
          o.test = o.dump = true;
          break;
        case "q":
          o.quiet = true;
          break;
        default:
          return fail(`invalid option: "${ch}"`);
      }
    }
  }
  return { ok: true, options: o };
}
