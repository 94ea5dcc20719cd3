#!/usr/bin/env bash
# TCP proxy benchmark: Remora against HAProxy, measured in the same run on loopback.
#
# Both proxy the same nginx backend in TCP mode with 2 worker threads. Prints, for each:
# idle resident memory, requests/s and latency (wrk, HTTP/1.1 keep-alive through the TCP
# proxy), and resident memory under load; then Remora's ratios against HAProxy.
#
# Usage: tools/bench/tcp_proxy_bench.sh [duration_seconds=10] [connections=64]
# Needs: bazel-bin/source/exe/remora (tools/dev build), nginx, haproxy, wrk.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

duration="${1:-10}"
connections="${2:-64}"
remora=bazel-bin/source/exe/remora
[[ -x "$remora" ]] || { echo "bench: build first: tools/dev build" >&2; exit 1; }
for tool in nginx haproxy wrk; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (tools/dev setup)" >&2; exit 1; }
done

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

source tools/bench/lib.sh
# Sum over a process and its children (haproxy -W runs a master and a worker).
tree_rss_kb() {
  local total=0 pid
  for pid in "$1" $(pgrep -P "$1" || true); do total=$((total + $(rss_kb "$pid"))); done
  echo "$total"
}

backend_port="$(free_port)"
remora_port="$(free_port)"
haproxy_port="$(free_port)"
admin_port="$(free_port)"
mkdir -p "$work/nginx"
head -c 1024 /dev/zero | tr '\0' 'r' >"$work/nginx/index.html"
cat >"$work/nginx.conf" <<NGINX
daemon off;
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx;
  proxy_temp_path $work/nginx;
  fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx;
  scgi_temp_path $work/nginx;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$backend_port; root $work/nginx; }
}
NGINX
nginx -c "$work/nginx.conf" -p "$work" &
pids+=($!)

cat >"$work/remora.yaml" <<YAML
admin: {address: {socket_address: {address: 127.0.0.1, port_value: $admin_port}}}
static_resources:
  listeners:
  - name: bench
    address: {socket_address: {address: 127.0.0.1, port_value: $remora_port}}
    filter_chains:
    - filters:
      - name: remora.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/remora.extensions.filters.network.tcp_proxy.v1.TcpProxy
          cluster: backend
  clusters:
  - name: backend
    load_assignment:
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: $backend_port}}}
YAML
"$remora" -c "$work/remora.yaml" --concurrency 2 -l warn &
remora_pid=$!
pids+=("$remora_pid")

cat >"$work/haproxy.cfg" <<HAPROXY
global
  nbthread 2
  maxconn 4000
defaults
  mode tcp
  timeout connect 5s
  timeout client 1h
  timeout server 1h
listen bench
  bind 127.0.0.1:$haproxy_port
  server backend 127.0.0.1:$backend_port
HAPROXY
haproxy -f "$work/haproxy.cfg" -db &
haproxy_pid=$!
pids+=("$haproxy_pid")

wait_port "$backend_port"
wait_port "$remora_port"
wait_port "$haproxy_port"
sleep 1  # let both settle before the idle reading

remora_idle=$(tree_rss_kb "$remora_pid")
haproxy_idle=$(tree_rss_kb "$haproxy_pid")

run_wrk() {
  local port="$1" pid="$2" out="$3"
  wrk -t 2 -c "$connections" -d "${duration}s" --latency "http://127.0.0.1:$port/" >"$out" &
  local wrk_pid=$!
  sleep $((duration / 2))
  tree_rss_kb "$pid" >"$out.rss"
  wait "$wrk_pid"
}
# Warm-up, then the measured runs.
wrk -t 1 -c 8 -d 1s "http://127.0.0.1:$remora_port/" >/dev/null
wrk -t 1 -c 8 -d 1s "http://127.0.0.1:$haproxy_port/" >/dev/null
run_wrk "$remora_port" "$remora_pid" "$work/remora.wrk"
run_wrk "$haproxy_port" "$haproxy_pid" "$work/haproxy.wrk"

rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
p99() { awk '$1 == "99%" {print $2}' "$1"; }
p50() { awk '$1 == "50%" {print $2}' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f\n", a / b }'; }

printf '%-8s %14s %14s %12s %10s %10s\n' proxy idle_rss_kb load_rss_kb req_per_s p50 p99
printf '%-8s %14s %14s %12s %10s %10s\n' remora "$remora_idle" "$(cat "$work/remora.wrk.rss")" \
  "$(rps "$work/remora.wrk")" "$(p50 "$work/remora.wrk")" "$(p99 "$work/remora.wrk")"
printf '%-8s %14s %14s %12s %10s %10s\n' haproxy "$haproxy_idle" "$(cat "$work/haproxy.wrk.rss")" \
  "$(rps "$work/haproxy.wrk")" "$(p50 "$work/haproxy.wrk")" "$(p99 "$work/haproxy.wrk")"
echo "remora/haproxy: idle memory $(ratio "$remora_idle" "$haproxy_idle"), throughput $(ratio "$(rps "$work/remora.wrk")" "$(rps "$work/haproxy.wrk")")"
