#!/usr/bin/env bash
# One command on a fresh machine: installs what is missing (Debian/Ubuntu, as root), builds
# streamlb, raises the fd limit and runs the benchmark driver. Options go to the driver
# (bash test/bench/run.sh --help). BENCH_NO_INSTALL=1 / BENCH_NO_BUILD=1 skip those steps.
set -euo pipefail
cd "$(dirname "$0")/../.."

need_pkgs=()
command -v nginx >/dev/null || need_pkgs+=(nginx)
# Debian builds stream as a dynamic module in its own package.
if ! nginx -V 2>&1 | grep -q -- '--with-stream\b[^=]' && [ ! -e /usr/lib/nginx/modules/ngx_stream_module.so ]; then
  need_pkgs+=(libnginx-mod-stream)
fi
command -v haproxy >/dev/null || need_pkgs+=(haproxy)
command -v wrk >/dev/null || need_pkgs+=(wrk)
# iperf 2, not iperf3: iperf3's control and data connections would split across the balancer.
command -v iperf >/dev/null || need_pkgs+=(iperf)
command -v gcc >/dev/null || need_pkgs+=(gcc libc6-dev)
command -v taskset >/dev/null || need_pkgs+=(util-linux)
# The TLS rows: openssl makes the certificate, libssl-dev builds the TLS load client.
command -v openssl >/dev/null || need_pkgs+=(openssl)
[ -e /usr/include/openssl/ssl.h ] || need_pkgs+=(libssl-dev)

if [ "${#need_pkgs[@]}" -gt 0 ] && [ "${BENCH_NO_INSTALL:-0}" != 1 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "bench: missing ${need_pkgs[*]}: install them (apt-get as root does it here)" >&2
    exit 2
  fi
  echo "bench: installing ${need_pkgs[*]}" >&2
  apt-get update -qq
  # The packages' own services are not wanted: the bench starts its own processes.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >&2
fi

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
  [ -d node_modules ] || npm ci >&2
  npm run --silent build >&2
fi

# 9,000 idle proxied connections (or UDP sessions) are 18,000 sockets in the balancer.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# The driver itself sits on the load CPU, leaving CPU 0 to the balancer under test. It runs on
# the machine's own Node (the `node` target); `node24` is the devDependency's (npm run puts
# node_modules/.bin first on PATH, so the machine's is looked up past it).
system_node=$(type -ap node | grep -v '/node_modules/' | head -n 1 || true)
exec taskset -c 1 "${system_node:-node}" dist/js/test/bench/bench.js "$@"
