#!/usr/bin/env bash
# The whole suite (README's test command runs it after `npm ci`): type checks, the builds,
# unit and library tests under Node, Bun and Deno, then end-to-end tests that start
# streamlb under Node, Deno, Bun and as the compiled binary (test/support/streamlb.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=node_modules/.bin
step() { printf '\n=== %s\n' "$*"; }

step "type check (tsc for Node and Bun, deno check for Deno)"
"$bin/tsc" -p tsconfig.json
"$bin/deno" check src/main.deno.ts

step "build: JavaScript for Node, and the standalone binary dist/streamlb"
"$bin/tsc" -p tsconfig.build.json
"$bin/bun" build/compile.ts

# nginx's own stream tests against the binary (about 90 s; most files skip for modules
# streamlb lacks); fails when fewer files pass than test/nginx-tests.floor.
step "nginx's stream tests (nginx-tests) against dist/streamlb"
if [ -d "${NGINX_TESTS_DIR:-../shared/nginx-tests}/lib/Test" ]; then
  bash test/nginx-tests.sh binary
else
  echo "skipped: no nginx-tests checkout at ${NGINX_TESTS_DIR:-../shared/nginx-tests} (set NGINX_TESTS_DIR)"
fi

step "unit and library tests on Bun"
"$bin/bun" test ./test/unit/ ./test/lib/

step "unit and library tests on Deno"
"$bin/deno" test -A test/unit/ test/lib/

step "unit and library tests on Node"
node --test dist/js/test/unit/ dist/js/test/lib/

# Last, so the closing summary is the end-to-end one. One file at a time: several tests
# measure timing and memory, and this machine has two cores. The timeout is per file (the
# longest takes well under a minute): a test that hangs fails the run instead of stalling it.
step "end-to-end tests against node, deno, bun and the binary"
node --test --test-concurrency=1 --test-timeout=300000 dist/js/test/e2e/
