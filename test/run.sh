#!/usr/bin/env bash
# The whole suite (README's test command runs it after `npm ci`): type checks, the builds,
# unit and library tests under Node (24 and the machine's own), Bun and Deno, then end-to-end
# tests that start streamlb under Node 24, Deno, Bun and as the compiled binary
# (test/support/streamlb.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=node_modules/.bin
# Each step says when it starts (seconds into the run): the suite has a 15-minute budget.
step() { printf '\n=== %s (at %ds)\n' "$*" "$SECONDS"; }

step "lint and format (deno lint, deno fmt --check: one linter and formatter for all three runtimes' code)"
"$bin/deno" lint
"$bin/deno" fmt --check

step "type check (tsc for Node and Bun, deno check for Deno)"
"$bin/tsc" -p tsconfig.json
"$bin/deno" check src/main.deno.ts

step "build: JavaScript for Node, and the standalone binary dist/streamlb"
"$bin/tsc" -p tsconfig.build.json
"$bin/bun" build/compile.ts

# nginx's own stream tests against the binary (about 100 s in two lanes; some files skip for modules
# streamlb lacks); fails when fewer files pass than test/nginx-tests.floor.
step "nginx's stream tests (nginx-tests) against dist/streamlb"
if [ -d "${NGINX_TESTS_DIR:-../shared/nginx-tests}/lib/Test" ]; then
  bash test/nginx-tests.sh binary
else
  echo "skipped: no nginx-tests checkout at ${NGINX_TESTS_DIR:-../shared/nginx-tests} (set NGINX_TESTS_DIR)"
fi

# The property tests (fuzz-*.test.ts, *.fuzz.test.ts: 10^4 cases or more each) and the
# 100k-entry load tests (*-large.test.ts) drive the runtime-agnostic core only and take tens of
# seconds, so they run once, on Node 24; every other unit and library test runs on each runtime.
units() { for f in "$@"; do case "$f" in *fuzz* | *-large.test.*) ;; *) printf '%s\n' "$f" ;; esac; done; }
mapfile -t ts_units < <(units ./test/unit/*.test.ts ./test/lib/*.test.ts)
mapfile -t js_units < <(units dist/js/test/unit/*.test.js dist/js/test/lib/*.test.js)

step "unit and library tests on Bun"
"$bin/bun" test "${ts_units[@]}"

step "unit and library tests on Deno"
"$bin/deno" test -A "${ts_units[@]}"

# Node: the LTS that npm ci installs (the node devDependency), and the machine's own Node
# while the image still has an older one. Files are listed by the shell: Node 22 and later
# take --test arguments as files or globs, not directories.
node24="$bin/node"
system_node=$(type -ap node | grep -v '/node_modules/' | head -n 1 || true)
step "unit and library tests, and the property tests, on Node $("$node24" --version)"
# Two files at a time: many wait on sockets and timers, and the machine has two cores.
"$node24" --test --test-concurrency=2 dist/js/test/unit/*.test.js dist/js/test/lib/*.test.js
if [ -n "$system_node" ] && [ "$("$system_node" --version)" != "$("$node24" --version)" ]; then
  step "unit and library tests on the machine's Node $("$system_node" --version)"
  "$system_node" --test --test-concurrency=2 "${js_units[@]}"
fi

# Last, so the closing summary is the end-to-end one. One file at a time: several tests
# measure timing and memory, and this machine has two cores. The timeout is per file (the
# longest takes well under a minute): a test that hangs fails the run instead of stalling it.
# The runner's Node is the `node` target's (test/support/streamlb.ts): e2e runs once, on Node 24.
step "end-to-end tests against node ($("$node24" --version)), deno, bun and the binary"
"$node24" --test --test-concurrency=1 --test-timeout=300000 dist/js/test/e2e/*.test.js
step "done"
