#!/usr/bin/env bash
# Records split_clients picks from Debian's nginx (1.22, stream module) as fixtures for
# test/unit/variables-split-clients.test.ts: nginx runs in the foreground on loopback in a
# temporary directory, answers N connections with "key a b", and is stopped by its PID.
# Usage: test/support/record-split-clients.sh [N]   (prints one "key a b" line per session)
set -euo pipefail
n=${1:-60}
port=${PORT:-32771}
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
cat > "$dir/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
daemon off;
master_process off;
error_log $dir/error.log;
pid $dir/nginx.pid;
events { worker_connections 64; }
stream {
  split_clients "\$k" \$a { 10% a; 20.5% b; 0.01% tiny; * c; }
  split_clients "x\${k}y" \$b { 50% x; 25% y; 12.34% z; }
  server {
    listen 127.0.0.1:$port;
    set \$k "key-\$connection-\$remote_port";
    return "\$k \$a \$b\n";
  }
}
CONF
/usr/sbin/nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" &
pid=$!
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
for _ in $(seq "$n"); do
  exec 3<>/dev/tcp/127.0.0.1/$port
  timeout 5 cat <&3
  exec 3<&-
done
