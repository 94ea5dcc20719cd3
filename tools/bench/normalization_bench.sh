#!/usr/bin/env bash
# Cost of request normalization end to end: one Remora process (one worker) with two HTTP
# listeners in front of the same nginx backend, one with path_normalization NONE and one with
# BASE (the default), driven by wrk (keep-alive, 50 connections) on a typical clean path and on
# one that needs rewriting. Rounds alternate between the two so machine noise hits both; prints
# the median req/s of each and the BASE/NONE ratio.
#
# Usage: tools/bench/normalization_bench.sh [seconds_per_round=5] [rounds=3]
# Needs: bazel-bin/source/exe/remora (tools/dev build), nginx, wrk, python3.
# The per-call cost is measured apart by
#   bazel run -c opt //test/common/http/normalize:normalizer_benchmark
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
p_none=$(free_port)
p_base=$(free_port)
admin=$(free_port)
mkdir -p "$work/www/api/v1/users"
head -c 1024 /dev/zero | tr '\0' 'r' >"$work/www/api/v1/users/12345"
cat >"$work/backend.conf" <<NGINX
daemon off; worker_processes 1; error_log $work/backend-error.log;
pid $work/backend.pid;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000; merge_slashes off;
  client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work;
  uwsgi_temp_path $work; scgi_temp_path $work;
  server { listen 127.0.0.1:$backend; root $work/www; } }
NGINX
listener() {
  cat <<YAML
  - name: $1
    address: {socket_address: {address: 127.0.0.1, port_value: $2}}
    filter_chains:
    - filters:
      - name: remora.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/remora.extensions.filters.network.http_connection_manager.v1.HttpConnectionManager
          stat_prefix: $1
          path_normalization: $3
          route_config:
            virtual_hosts:
            - {name: all, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: backend}}]}
          http_filters: [{name: remora.filters.http.router}]
YAML
}
{
  echo "admin: {address: {socket_address: {address: 127.0.0.1, port_value: $admin}}}"
  echo "static_resources:"
  echo "  listeners:"
  listener none "$p_none" NONE
  listener base "$p_base" BASE
  cat <<YAML
  clusters:
  - name: backend
    load_assignment:
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: $backend}}}
YAML
} >"$work/remora.yaml"

nginx -c "$work/backend.conf" -p "$work" & pids+=($!)
"$remora" -c "$work/remora.yaml" --concurrency 1 -l warn & pids+=($!)
for p in $backend $p_none $p_base; do wait_port "$p"; done

clean="/api/v1/users/12345?fields=name,email&page=2"
# Resolves to the same file under BASE; NONE forwards it as it is (nginx resolves it too).
dirty="/api/./v1/%75sers/x/../12345?fields=name,email&page=2"
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-6s %-6s %12s\n' path mode req_per_s
for kind in clean dirty; do
  path="${!kind}"
  declare -A rps=([none]="" [base]="")
  for mode in none base; do
    port_var="p_$mode"
    wrk -t1 -c10 -d1s "http://127.0.0.1:${!port_var}$path" >/dev/null
  done
  for round in $(seq 1 "$rounds"); do
    for mode in none base; do
      port_var="p_$mode"
      out=$(wrk -t1 -c50 -d"${duration}s" "http://127.0.0.1:${!port_var}$path")
      if ! grep -q "Non-2xx" <<<"$out"; then rps[$mode]+="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out") "; fi
    done
  done
  for mode in none base; do printf '%-6s %-6s %12s\n' "$kind" "$mode" "$(median <<<"${rps[$mode]}")"; done
  n=$(median <<<"${rps[none]}"); b=$(median <<<"${rps[base]}")
  echo "$kind: BASE/NONE req/s: $(awk -v a="$b" -v b="$n" 'BEGIN {printf "%.3f", a/b}')"
done
