// Node entry: Node 20 cannot import text, so the default config is read beside the build.
import { readFileSync } from "node:fs";
import process from "node:process";
import { runCli } from "./cli.ts";
import { nodeRuntime } from "./runtime/node/index.ts";

const defaultConfig = readFileSync(new URL("../../../src/default.yaml", import.meta.url), "utf8");
const code = await runCli({ runtime: nodeRuntime, argv: process.argv.slice(2), defaultConfig, cwd: process.cwd() });
process.exit(code);
