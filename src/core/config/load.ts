import type { Config } from "./model.ts";
import { loadYamlConfig } from "./yaml.ts";

/** Reads a config in whichever spelling it is written. */
export function parseConfig(text: string, file: string): Config {
  return loadYamlConfig(text, file);
}
