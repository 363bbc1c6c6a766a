#!/usr/bin/env bash
# Memory per idle proxied connection, A/B: the bench's idle row (RSS while `tcptool hold` keeps
# N proxied connections, each proven with one 32 B echo, minus RSS before, over N) for several
# builds, a fresh process each time, rounds visiting every build in turn so drifts spread over
# all of them. Its own ports, so it can run beside the bench. Prints one line per build and round:
#   name round KiB-per-connection
#
#   bash test/bench/idle-memory.sh [--rounds N] [--conns N] NAME=BINARY...
# e.g. before=/tmp/streamlb-old after=dist/streamlb (each is run as `BINARY -c CONFIG`).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
rounds=3 conns=6000
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { sed -n 2,9p "$0"; exit 2; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

tcptool=$root/dist/bench/tcptool
if [ ! -x "$tcptool" ]; then
  mkdir -p "$root/dist/bench"
  gcc -O2 -o "$tcptool" "$root/test/bench/tcptool.c"
fi

dir=$(mktemp -d /tmp/streamlb-idle-memory.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

backend_port=17421 lb_port=17422
cat >"$dir/lb.yaml" <<EOF
pid: $dir/streamlb.pid
error_log: { path: stderr, level: error }
events: { worker_connections: 65536 }
stream:
  proxy_timeout: 10m
  upstreams:
    echo: { servers: ["127.0.0.1:$backend_port"] }
  servers:
    - { listen: "127.0.0.1:$lb_port", proxy_pass: echo }
EOF

taskset -c 1 "$tcptool" echo "$backend_port" >/dev/null 2>&1 &
pids+=($!)

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "idle-memory: nothing listens on $1" >&2
  return 1
}

measure() { # name binary round
  taskset -c 0 "$2" -c "$dir/lb.yaml" 2>"$dir/lb.err" &
  local lb=$!
  wait_port "$lb_port"
  sleep 0.5
  local before
  before=$(rss_kib "$lb")
  local fifo=$dir/hold.in
  rm -f "$fifo"
  mkfifo "$fifo"
  taskset -c 1 "$tcptool" hold "$lb_port" "$conns" <"$fifo" >"$dir/hold.out" 2>&1 &
  local holder=$!
  exec 4>"$fifo"
  for _ in $(seq 1 1200); do
    grep -q "ready" "$dir/hold.out" && break
    sleep 0.05
  done
  sleep 1
  local during ready
  during=$(rss_kib "$lb")
  ready=$(sed -n 's/.*ready \([0-9]*\).*/\1/p' "$dir/hold.out")
  exec 4>&-
  wait "$holder" 2>/dev/null || true
  kill "$lb"
  wait "$lb" 2>/dev/null || true
  awk -v n="$1" -v r="$3" -v b="$before" -v d="$during" -v c="${ready:-0}" \
    'BEGIN { if (c > 0) printf "%s %s %.2f\n", n, r, (d - b) / c; else print n, r, "failed" }'
}

for round in $(seq 1 "$rounds"); do
  for spec in "$@"; do
    measure "${spec%%=*}" "${spec#*=}" "$round"
  done
done
