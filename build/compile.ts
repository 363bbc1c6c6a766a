// Makes dist/streamlb: one standalone executable (Bun's --compile) with src/default.yaml
// embedded through its text import. Run with Bun: `bun build/compile.ts`.
import { mkdirSync } from "node:fs";

mkdirSync("dist", { recursive: true });
const result = await Bun.build({
  entrypoints: ["src/main.bun.ts"],
  compile: { outfile: "dist/streamlb" },
  minify: true,
  sourcemap: "linked",
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
console.log(`built dist/streamlb`);
