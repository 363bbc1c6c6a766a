#!/usr/bin/env bash
# nginx's own stream tests (Test::Nginx, run with prove) against streamlb: the compiled
# binary by default, or node/deno/bun through test/nginx-launcher.sh, which plays the binary.
#
#   bash test/nginx-tests.sh [binary|node|deno|bun] [FILE.t ...]
#
# NGINX_TESTS_DIR: the nginx-tests checkout (default ../shared/nginx-tests from the repo root).
# NGINX_TESTS_TARGET: the target when no argument names one.
# NGINX_TESTS_TIMEOUT: seconds one file may take (default 120) before it counts as failed.
# Prints PASS/FAIL/SKIP per file and `N passed, N failed, N skipped`; exits 1 when fewer files
# pass than test/nginx-tests.floor says (a regression).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${NGINX_TESTS_DIR:-$root/../shared/nginx-tests}
target=${NGINX_TESTS_TARGET:-binary}
case "${1:-}" in binary|node|deno|bun) target=$1; shift ;; esac
limit=${NGINX_TESTS_TIMEOUT:-120}
floor_file=$root/test/nginx-tests.floor

if [ ! -d "$dir/lib/Test" ]; then
  echo "nginx-tests: no Test::Nginx under $dir (set NGINX_TESTS_DIR)" >&2
  exit 2
fi
dir=$(cd "$dir" && pwd)

# prove's own modules, from Debian's packages when missing.
missing=()
perl -MTest::Harness -e1 2>/dev/null || missing+=(libtest-harness-perl)
perl -MIO::Socket::SSL -e1 2>/dev/null || missing+=(libio-socket-ssl-perl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "nginx-tests: installing ${missing[*]}" >&2
  sudo=; [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null || exit 2
fi

case "$target" in
  binary)
    binary=$root/dist/streamlb
    [ -x "$binary" ] || { echo "nginx-tests: $binary missing (npm run build)" >&2; exit 2; } ;;
  node|deno|bun)
    binary=$root/test/nginx-launcher.sh
    export STREAMLB_RUNTIME=$target ;;
  *) echo "nginx-tests: unknown target $target (binary, node, deno or bun)" >&2; exit 2 ;;
esac

if [ $# -gt 0 ]; then files=("$@"); else files=(); for f in "$dir"/stream_*.t; do files+=("$(basename "$f")"); done; fi

# One file's verdict, as one line: PASS, SKIP or FAIL with the first reason found.
verdict() {
  local f=$1 name=${1%.t} out rc why
  out=$(TEST_NGINX_BINARY=$binary timeout -k 5 "$limit" prove "$f" 2>&1)
  rc=$?
  if [ $rc -eq 0 ] && grep -q "skipped:" <<<"$out"; then
    echo "SKIP $name: $(sed -n 's/.*skipped: //p' <<<"$out" | head -1)"
  elif [ $rc -eq 0 ]; then
    echo "PASS $name"
  else
    # The first reason found: a hang, streamlb refusing the config, a failed check, prove's verdict.
    if [ $rc -ge 124 ]; then why="timed out after ${limit}s"
    else why=$( (grep -m1 -o "\[emerg\].*" <<<"$out" || grep -m1 -o "Failed test .*" <<<"$out" ||
      grep -m1 -E "Dubious|Bailout|died" <<<"$out") | sed "s#/tmp/nginx-test-[^/]*/##g"); fi
    echo "FAIL $name: $why"
  fi
}

# Two lanes by default (NGINX_TESTS_JOBS): a file spends most of its time waiting on its own
# timers, and Test::Nginx picks free ports under a lock, so two files share the machine well;
# within a lane files run one at a time (several use fixed timings).
jobs=${NGINX_TESTS_JOBS:-2}
start=$(date +%s)
cd "$dir"
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for ((lane = 0; lane < jobs; lane++)); do
  (for ((i = lane; i < ${#files[@]}; i += jobs)); do verdict "${files[$i]}"; done) >"$results.$lane" &
done
wait
for ((lane = 0; lane < jobs; lane++)); do cat "$results.$lane"; rm -f "$results.$lane"; done | sort -k2 >"$results"
cat "$results"
passed=$(grep -c '^PASS ' "$results" || true)
failed=$(grep -c '^FAIL ' "$results" || true)
skipped=$(grep -c '^SKIP ' "$results" || true)
echo "($(( $(date +%s) - start ))s, target $target)"

# The floor counts a full run only: a chosen file list proves nothing about the rest.
status=0
if [ $# -eq 0 ] && [ -f "$floor_file" ]; then
  floor=$(tr -dc 0-9 <"$floor_file")
  if [ "$passed" -lt "$floor" ]; then
    echo "nginx-tests: $passed files pass, fewer than the floor of $floor in test/nginx-tests.floor: a regression"
    status=1
  elif [ "$passed" -gt "$floor" ]; then
    echo "nginx-tests: $passed files pass, more than the floor of $floor: raise test/nginx-tests.floor to $passed"
  fi
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
