#!/usr/bin/env bash
# HTTP/1.1 proxy benchmark: Remora, HAProxy and nginx as reverse proxies (one worker/thread
# each) in front of the same nginx backend, driven by wrk (keep-alive, 50 connections).
# Rounds are interleaved so machine noise hits every proxy alike; prints the median req/s,
# p50 and p99 of each, and Remora's ratio to HAProxy.
#
# Usage: tools/bench/http_proxy_bench.sh [seconds_per_round=5] [rounds=3]
# Then the same with HTTP/2 (h2c prior knowledge) from h2load: 10 connections x 10 streams;
# the proxies still talk HTTP/1.1 to the backend.
# Needs: bazel-bin/source/exe/remora (tools/dev build), nginx, haproxy, wrk, h2load, python3.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

duration="${1:-5}"
rounds="${2:-3}"
remora=bazel-bin/source/exe/remora
[[ -x "$remora" ]] || { echo "bench: build first: tools/dev build" >&2; exit 1; }

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

source tools/bench/lib.sh

backend=$(free_port)
p_remora=$(free_port)
p_haproxy=$(free_port)
p_nginx=$(free_port)
h2_haproxy=$(free_port)
h2_nginx=$(free_port)
admin=$(free_port)
mkdir -p "$work/www"
head -c 1024 /dev/zero | tr '\0' 'r' >"$work/www/index.html"

nginx_common="daemon off; worker_processes 1; error_log $work/%s-error.log;
events { worker_connections 4096; }"
cat >"$work/backend.conf" <<NGINX
$(printf "$nginx_common" backend)
pid $work/backend.pid;
http { access_log off; keepalive_requests 1000000;
  client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work;
  uwsgi_temp_path $work; scgi_temp_path $work;
  server { listen 127.0.0.1:$backend; root $work/www; } }
NGINX
cat >"$work/proxy.conf" <<NGINX
$(printf "$nginx_common" proxy)
pid $work/proxy.pid;
http { access_log off; keepalive_requests 1000000;
  client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work;
  uwsgi_temp_path $work; scgi_temp_path $work;
  upstream backend { server 127.0.0.1:$backend; keepalive 64; }
  server { listen 127.0.0.1:$p_nginx;
    location / { proxy_pass http://backend; proxy_http_version 1.1;
                 proxy_set_header Connection ""; } }
  server { listen 127.0.0.1:$h2_nginx http2;
    location / { proxy_pass http://backend; proxy_http_version 1.1;
                 proxy_set_header Connection ""; } } }
NGINX
cat >"$work/haproxy.cfg" <<HAPROXY
global
  nbthread 1
  maxconn 4000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
listen bench
  bind 127.0.0.1:$p_haproxy
  bind 127.0.0.1:$h2_haproxy proto h2
  http-reuse always
  server backend 127.0.0.1:$backend
HAPROXY
cat >"$work/remora.yaml" <<YAML
admin: {address: {socket_address: {address: 127.0.0.1, port_value: $admin}}}
static_resources:
  listeners:
  - name: bench
    address: {socket_address: {address: 127.0.0.1, port_value: $p_remora}}
    filter_chains:
    - filters:
      - name: remora.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/remora.extensions.filters.network.http_connection_manager.v1.HttpConnectionManager
          stat_prefix: bench
          route_config:
            virtual_hosts:
            - {name: all, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: backend}}]}
          http_filters: [{name: remora.filters.http.router}]
  clusters:
  - name: backend
    load_assignment:
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: $backend}}}
YAML

nginx -c "$work/backend.conf" -p "$work" & pids+=($!)
nginx -c "$work/proxy.conf" -p "$work" & pids+=($!)
haproxy -f "$work/haproxy.cfg" -db 2>/dev/null & pids+=($!)
"$remora" -c "$work/remora.yaml" --concurrency 1 -l warn & pids+=($!)
for p in $backend $p_remora $p_haproxy $p_nginx $h2_haproxy $h2_nginx; do wait_port "$p"; done

declare -A rps p50 p99
for name in remora haproxy nginx; do rps[$name]=""; p50[$name]=""; p99[$name]=""; done
port_of() { case "$1" in remora) echo "$p_remora" ;; haproxy) echo "$p_haproxy" ;; nginx) echo "$p_nginx" ;; esac; }
for name in remora haproxy nginx; do wrk -t1 -c10 -d1s "http://127.0.0.1:$(port_of $name)/" >/dev/null; done
for round in $(seq 1 "$rounds"); do
  for name in remora haproxy nginx; do
    out=$(wrk -t1 -c50 -d"${duration}s" --latency "http://127.0.0.1:$(port_of $name)/")
    rps[$name]+="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out") "
    p50[$name]+="$(awk '$1 == "50%" {print $2}' <<<"$out") "
    p99[$name]+="$(awk '$1 == "99%" {print $2}' <<<"$out") "
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# wrk prints latencies with units (us/ms/s); normalise to ms for the medians.
to_ms() { tr ' ' '\n' | grep -v '^$' | awk '/us$/ {sub("us",""); print $1/1000; next} /ms$/ {sub("ms",""); print $1; next} /s$/ {sub("s",""); print $1*1000}'; }
printf '%-8s %12s %10s %10s\n' proxy req_per_s p50_ms p99_ms
for name in remora haproxy nginx; do
  printf '%-8s %12s %10s %10s\n' "$name" "$(median <<<"${rps[$name]}")" \
    "$(to_ms <<<"${p50[$name]}" | median)" "$(to_ms <<<"${p99[$name]}" | median)"
done
r=$(median <<<"${rps[remora]}"); h=$(median <<<"${rps[haproxy]}")
echo "remora/haproxy req/s: $(awk -v a="$r" -v b="$h" 'BEGIN {printf "%.2f", a/b}')"

# HTTP/2 rounds (h2load): requests per second, mean request time.
h2port_of() { case "$1" in remora) echo "$p_remora" ;; haproxy) echo "$h2_haproxy" ;; nginx) echo "$h2_nginx" ;; esac; }
declare -A h2rps h2mean
for name in remora haproxy nginx; do h2rps[$name]=""; h2mean[$name]=""; done
for round in $(seq 1 "$rounds"); do
  for name in remora haproxy nginx; do
    out=$(h2load -c 10 -m 10 -D "$duration" "http://127.0.0.1:$(h2port_of $name)/" 2>&1)
    h2rps[$name]+="$(awk '/^finished in/ {print $4}' <<<"$out") "
    h2mean[$name]+="$(awk '/^time for request:/ {print $6}' <<<"$out") "
  done
done
echo
printf '%-8s %12s %14s\n' h2 req_per_s mean_req_ms
for name in remora haproxy nginx; do
  printf '%-8s %12s %14s\n' "$name" "$(median <<<"${h2rps[$name]}")" "$(to_ms <<<"${h2mean[$name]}" | median)"
done
r=$(median <<<"${h2rps[remora]}"); h=$(median <<<"${h2rps[haproxy]}")
echo "remora/haproxy h2 req/s: $(awk -v a="$r" -v b="$h" 'BEGIN {printf "%.2f", a/b}')"
