// `streamlb convert FILE [--to yaml|nginx]`: prints FILE's config in the other spelling (an
// nginx.conf as streamlb YAML by default, a YAML config as nginx.conf), through the one model,
// so what is printed runs exactly as FILE does.
import { ConfigError } from "./core/config/errors.ts";
import { configFormat, parseConfig } from "./core/config/load.ts";
import { formatWarning } from "./core/config/read-nginx/files.ts";
import { writeNginxConfig } from "./core/config/write/nginx.ts";
import { writeYamlConfig } from "./core/config/write/yaml.ts";
import type { Runtime } from "./core/runtime.ts";
import { configFiles } from "./runtime/files.ts";
import { readConfigFile } from "./runtime/config-file.ts";

export async function runConvert(runtime: Runtime, argv: readonly string[]): Promise<number> {
  const err = (s: string) => runtime.writeStderr(s);
  const args: string[] = [];
  let to: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--to") to = argv[++i] ?? "";
    else if (a.startsWith("--to=")) to = a.slice("--to=".length);
    else args.push(a);
  }
  const file = args[0];
  if (file === undefined || args.length > 1) {
    err(`streamlb: usage: streamlb convert FILE [--to yaml|nginx]\n`);
    return 1;
  }
  if (to !== undefined && to !== "yaml" && to !== "nginx") {
    err(`streamlb: invalid "--to ${to}" (expected yaml or nginx)\n`);
    return 1;
  }
  let text: string;
  try {
    text = readConfigFile(file);
  } catch (e) {
    err(`streamlb: [emerg] ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  try {
    const target = to ?? (configFormat(text, file) === "nginx" ? "yaml" : "nginx");
    const config = parseConfig(text, file, {
      files: configFiles,
      onWarning: (w) => err(`streamlb: [warn] ${formatWarning(w)}\n`),
    });
    runtime.writeStdout(target === "yaml" ? writeYamlConfig(config, file) : writeNginxConfig(config, file));
    return 0;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    err(`streamlb: [emerg] ${e.message}\n`);
    return 1;
  }
}
