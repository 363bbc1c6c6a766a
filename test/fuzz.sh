#!/usr/bin/env bash
# `npm run fuzz`: the property tests (test/unit/fuzz-*.test.ts, and the protocol parsers'
# test/unit/*.fuzz.test.ts) for longer than `npm test`
# runs them, under Node, with a new seed each time (printed first: a failure comes back with
# the same FUZZ_SEED, and fast-check prints the shrunk input and its path). Override with
# FUZZ_RUNS (cases per property, default 10^6) and FUZZ_SEED.
set -euo pipefail
cd "$(dirname "$0")/.."
export FUZZ_RUNS="${FUZZ_RUNS:-1000000}"
export FUZZ_SEED="${FUZZ_SEED:-$(node -e 'process.stdout.write(String(Math.floor(Math.random() * 2 ** 31)))')}"
echo "fuzz: FUZZ_SEED=$FUZZ_SEED FUZZ_RUNS=$FUZZ_RUNS"
node_modules/.bin/tsc -p tsconfig.build.json
node --test dist/js/test/unit/fuzz-*.test.js dist/js/test/unit/*.fuzz.test.js
