#!/usr/bin/env bash
# Resident memory of Remora holding 1,000 idle HTTP/1.1 keep-alive client connections, each
# of which has made one request (GET /health, a direct response) and then stays open.
# Prints RSS before and after, and the cost per connection.
#
# Usage: tools/bench/idle_connections_memory.sh [connections=1000]
# Needs: bazel-bin/source/exe/remora (tools/dev build), python3.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
count="${1:-1000}"
remora=bazel-bin/source/exe/remora
[[ -x "$remora" ]] || { echo "bench: build first: tools/dev build" >&2; exit 1; }
source tools/bench/lib.sh
work="$(mktemp -d)"
pid=""
trap 'kill $pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(free_port)
admin=$(free_port)
cat >"$work/remora.yaml" <<YAML
admin: {address: {socket_address: {address: 127.0.0.1, port_value: $admin}}}
static_resources:
  listeners:
  - name: http
    address: {socket_address: {address: 127.0.0.1, port_value: $port}}
    filter_chains:
    - filters:
      - name: remora.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/remora.extensions.filters.network.http_connection_manager.v1.HttpConnectionManager
          stat_prefix: mem
          route_config:
            virtual_hosts:
            - {name: all, domains: ["*"], routes: [{match: {path: /health}, direct_response: {status: 200, body: ok}}]}
          http_filters: [{name: remora.filters.http.router}]
YAML
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true  # 1,000 sockets on each side
"$remora" -c "$work/remora.yaml" --concurrency 2 -l warn & pid=$!
wait_port "$port"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
before=$(rss)
python3 - "$port" "$count" "$pid" "$before" <<'PY'
import socket, sys
port, count, pid, before = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
conns = []
for _ in range(count):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /health HTTP/1.1\r\nHost: a\r\n\r\n")
    conns.append(s)
for s in conns:
    data = b""
    while not data.endswith(b"ok"):
        chunk = s.recv(4096)
        if not chunk:
            sys.exit("connection closed early")
        data += chunk
after = int(next(l.split()[1] for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS")))
print(f"idle RSS {before} kB; with {count} idle keep-alive connections {after} kB; "
      f"{(after - before) * 1024 / count:.0f} bytes per connection")
PY
