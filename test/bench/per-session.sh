#!/usr/bin/env bash
# CPU and system calls per proxied connection, for the new-connection row: each target runs
# alone on CPU 0, wrk (-c64, Connection: close) and an nginx http backend on CPU 1, as in the
# bench. Rounds visit every target in turn (A/B interleaved), so drifts in machine load spread
# over all of them. Prints one line per target and round:
#   target round req/s user-µs/req sys-µs/req
# and with --strace, the system calls per request (strace -c -f over one wrk run; strace slows
# the target, so its req/s are not comparable, only the counts per request are).
#
#   bash test/bench/per-session.sh [--rounds N] [--seconds S] [--strace] TARGET...
# TARGET: nginx | binary | bun | node | node24 | deno | NAME=COMMAND (a command line run with
# `-c CONFIG` appended, e.g. binary-old=/tmp/streamlb-old), or NAME:ENV=VALUE,... to run a
# known target with extra environment (binary:STREAMLB_X=1).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
rounds=3 seconds=5 trace=0
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --strace) trace=1; shift ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { sed -n 2,14p "$0"; exit 2; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

dir=$(mktemp -d /tmp/streamlb-per-session.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

backend_port=17411 lb_port=17412
stream_module=""
[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] && stream_module="load_module /usr/lib/nginx/modules/ngx_stream_module.so;"
mkdir -p "$dir/tmp"
cat >"$dir/backend.conf" <<EOF
worker_processes 1; master_process off; daemon off; error_log stderr error; pid $dir/backend.pid;
events { worker_connections 4096; }
http { access_log off; client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp; fastcgi_temp_path $dir/tmp;
  uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
  server { listen 127.0.0.1:$backend_port backlog=4096; default_type text/plain; location / { return 200 "hello, bench\n"; } } }
EOF
cat >"$dir/lb.conf" <<EOF
$stream_module
worker_processes 1; master_process off; daemon off; worker_rlimit_nofile 65536;
error_log stderr error; pid $dir/lb.pid; events { worker_connections 65536; }
stream { proxy_connect_timeout 1s; proxy_timeout 10m; tcp_nodelay on; proxy_buffer_size 16k;
  upstream http { server 127.0.0.1:$backend_port; }
  server { listen 127.0.0.1:$lb_port backlog=511; proxy_pass http; } }
EOF
cat >"$dir/lb.yaml" <<EOF
pid: $dir/streamlb.pid
error_log: { path: stderr, level: error }
events: { worker_connections: 65536 }
stream:
  proxy_connect_timeout: 1s
  proxy_timeout: 10m
  tcp_nodelay: true
  proxy_buffer_size: 16k
  upstreams:
    http: { servers: ["127.0.0.1:$backend_port"] }
  servers:
    - { listen: "127.0.0.1:$lb_port", proxy_pass: http }
EOF

taskset -c 1 nginx -p "$dir" -e stderr -c "$dir/backend.conf" &
pids+=($!)

command_of() {
  case "$1" in
    nginx) echo "nginx -p $dir -e stderr -c $dir/lb.conf" ;;
    binary) echo "$root/dist/streamlb -c $dir/lb.yaml" ;;
    bun) echo "$root/node_modules/.bin/bun $root/src/main.bun.ts -c $dir/lb.yaml" ;;
    node) echo "$(type -ap node | grep -v /node_modules/ | head -n 1) $root/dist/js/src/main.node.js -c $dir/lb.yaml" ;;
    node24) echo "$root/node_modules/.bin/node $root/dist/js/src/main.node.js -c $dir/lb.yaml" ;;
    deno) echo "$root/node_modules/.bin/deno run -A $root/src/main.deno.ts -c $dir/lb.yaml" ;;
    *=*) echo "${1#*=} -c $dir/lb.yaml" ;;
    *) echo "unknown target $1" >&2; exit 2 ;;
  esac
}

cpu_ticks() { awk '{ print $14, $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

wait_port() {
  for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/$lb_port) 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on $lb_port" >&2; return 1
}

# wrk's "Requests/sec:" line.
load() { taskset -c 1 wrk -t1 -c64 -d"${1}s" -H "Connection: close" "http://127.0.0.1:$lb_port/" | awk '/Requests\/sec/ { print $2 }'; }

run_target() {
  local spec=$1 round=$2 name env_list="" cmd
  name=${spec%%[=:]*}
  case "$spec" in *:*=*) env_list=${spec#*:}; spec=${spec%%:*} ;; esac
  cmd=$(command_of "$spec")
  # shellcheck disable=SC2086
  env ${env_list//,/ } taskset -c 0 $cmd 2>"$dir/$name.err" &
  local pid=$!
  pids+=("$pid")
  wait_port
  load 1 >/dev/null # warm-up (the JITs)
  read -r u0 s0 < <(cpu_ticks "$pid")
  local rps
  rps=$(load "$seconds")
  read -r u1 s1 < <(cpu_ticks "$pid")
  awk -v n="$name" -v r="$round" -v rps="$rps" -v s="$seconds" -v du=$((u1 - u0)) -v ds=$((s1 - s0)) -v hz="$hz" \
    'BEGIN { req = rps * s; printf "%-12s %d %9.0f %7.1f %7.1f\n", n, r, rps, du / hz * 1e6 / req, ds / hz * 1e6 / req }'
  if [ "$trace" = 1 ] && [ "$round" = 1 ]; then
    strace -c -f -p "$pid" -o "$dir/$name.strace" &
    local spid=$!
    sleep 0.5
    local trps
    trps=$(load 3)
    kill -INT "$spid"; wait "$spid" 2>/dev/null || true
    echo "  syscalls per request ($name, $trps req/s under strace):"
    awk -v req="$(awk -v r="$trps" 'BEGIN { print r * 3 }')" \
      '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { calls = $4; name = $NF; errs = (NF == 6 ? $5 : 0); if (calls / req >= 0.05) printf "    %-16s %6.2f%s\n", name, calls / req, (errs > 0) ? sprintf("  (%.2f failed)", errs / req) : "" }
       $NF == "total" { printf "    %-16s %6.2f\n", "total", $4 / req }' "$dir/$name.strace"
  fi
  stop "$pid"
}

# TERM, then KILL if it lingers (a process strace has just let go of may not see the TERM).
stop() {
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 30); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

sleep 0.3
for round in $(seq "$rounds"); do
  for t in "$@"; do run_target "$t" "$round"; done
done
