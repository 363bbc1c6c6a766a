#!/bin/sh
# Plays dist/streamlb for nginx's test harness on one runtime: STREAMLB_RUNTIME=node|deno|bun
# (test/nginx-tests.sh sets it). exec keeps the pid the harness signals and waits for.
root=$(cd "$(dirname "$0")/.." && pwd)
case "${STREAMLB_RUNTIME:-node}" in
  node) exec node "$root/dist/js/src/main.node.js" "$@" ;;
  deno) exec "$root/node_modules/.bin/deno" run -A --quiet --config "$root/deno.json" "$root/src/main.deno.ts" "$@" ;;
  bun) exec "$root/node_modules/.bin/bun" "$root/src/main.bun.ts" "$@" ;;
  *) echo "nginx-launcher: STREAMLB_RUNTIME must be node, deno or bun" >&2; exit 2 ;;
esac
