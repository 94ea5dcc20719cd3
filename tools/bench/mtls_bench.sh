#!/usr/bin/env bash
# Mutual TLS cost, measured against plaintext (and HAProxy) in the same run:
#  1. Requests per second through two sidecars (client sidecar -> server sidecar -> nginx;
#     one worker each; wrk, keep-alive, 50 connections), the hop between the sidecars in
#     plaintext and in mutual TLS (TLS 1.3, ECDSA P-256 certificates with SPIFFE IDs, the
#     server requiring and verifying the client's). Rounds interleaved; medians; ratio.
#  2. Full mutual-TLS handshakes per second per worker: `openssl s_time -new` clients (each
#     connection a full handshake with a client certificate, no resumption) against a one-
#     worker Remora listener and a one-thread HAProxy bind with the same certificates;
#     handshakes counted by the clients and divided by the server's own CPU seconds, so the
#     figure is per busy worker even though client and server share the machine. Both servers
#     issue TLS 1.3 session tickets (HAProxy's default, Remora sends one per handshake), so a
#     reconnecting peer can resume.
#  3. Resident memory of the server sidecar after the load, plaintext and mTLS.
#
# Usage: tools/bench/mtls_bench.sh [seconds_per_round=5] [rounds=3]
# Needs: bazel-bin/source/exe/remora (tools/dev build), nginx, haproxy, wrk, openssl, python3.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

duration="${1:-5}"
rounds="${2:-3}"
remora="${REMORA:-bazel-bin/source/exe/remora}"
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

# Certificates: one root, a server and a client identity (as the mesh CA would issue).
(
  cd "$work"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key \
    -out root.crt -days 2 -subj /O=bench/CN=root -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign 2>/dev/null
  for who in server client; do
    printf 'subjectAltName=URI:spiffe://cluster.local/ns/default/sa/%s\nextendedKeyUsage=serverAuth,clientAuth\n' \
      "$who" >"$who.ext"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$who.key" \
      -out "$who.csr" -subj "/CN=$who" 2>/dev/null
    openssl x509 -req -in "$who.csr" -CA root.crt -CAkey root.key -CAcreateserial -days 2 \
      -out "$who.crt" -extfile "$who.ext" 2>/dev/null
  done
  cat server.crt server.key >server.pem
)

backend=$(free_port)
mkdir -p "$work/www"
head -c 1024 /dev/zero | tr '\0' 'r' >"$work/www/index.html"
cat >"$work/backend.conf" <<NGINX
daemon off; worker_processes 1; error_log $work/backend-error.log; pid $work/backend.pid;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work;
  uwsgi_temp_path $work; scgi_temp_path $work;
  server { listen 127.0.0.1:$backend; root $work/www; } }
NGINX

hcm() { # $1 stat prefix, $2 cluster
  cat <<YAML
      - name: remora.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/remora.extensions.filters.network.http_connection_manager.v1.HttpConnectionManager
          stat_prefix: $1
          route_config:
            virtual_hosts:
            - {name: all, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: $2}}]}
          http_filters: [{name: remora.filters.http.router}]
YAML
}
downstream_tls() {
  cat <<YAML
      transport_socket:
        name: remora.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/remora.extensions.transport_sockets.tls.v1.DownstreamTlsContext
          require_client_certificate: true
          common_tls_context:
            tls_certificates: [{certificate_chain: {filename: $work/server.crt}, private_key: {filename: $work/server.key}}]
            validation_context:
              trusted_ca: {filename: $work/root.crt}
              match_typed_subject_alt_names: [{san_type: URI, prefix: "spiffe://cluster.local/"}]
            alpn_protocols: [http/1.1]
YAML
}
upstream_tls() {
  cat <<YAML
    transport_socket:
      name: remora.transport_sockets.tls
      typed_config:
        "@type": type.googleapis.com/remora.extensions.transport_sockets.tls.v1.UpstreamTlsContext
        common_tls_context:
          tls_certificates: [{certificate_chain: {filename: $work/client.crt}, private_key: {filename: $work/client.key}}]
          validation_context:
            trusted_ca: {filename: $work/root.crt}
            match_typed_subject_alt_names: [{san_type: URI, exact: "spiffe://cluster.local/ns/default/sa/server"}]
          alpn_protocols: [http/1.1]
YAML
}
cluster() { # $1 name, $2 port, $3 "tls" or ""
  echo "  - name: $1"
  echo "    load_assignment: {endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: $2}}}}]}]}"
  [[ "$3" == tls ]] && upstream_tls
  return 0
}

# Two chains: plaintext and mTLS between the sidecars.
declare -A client_port server_port server_pid
for mode in plain mtls; do
  client_port[$mode]=$(free_port)
  server_port[$mode]=$(free_port)
  tls=""; [[ $mode == mtls ]] && tls=tls
  {
    echo "admin: {address: {socket_address: {address: 127.0.0.1, port_value: $(free_port)}}}"
    echo "static_resources:"
    echo "  listeners:"
    echo "  - name: inbound"
    echo "    address: {socket_address: {address: 127.0.0.1, port_value: ${server_port[$mode]}}}"
    echo "    filter_chains:"
    echo "    - filters:"
    hcm inbound app
    [[ $mode == mtls ]] && downstream_tls
    echo "  clusters:"
    cluster app "$backend" ""
  } >"$work/server-$mode.yaml"
  {
    echo "admin: {address: {socket_address: {address: 127.0.0.1, port_value: $(free_port)}}}"
    echo "static_resources:"
    echo "  listeners:"
    echo "  - name: outbound"
    echo "    address: {socket_address: {address: 127.0.0.1, port_value: ${client_port[$mode]}}}"
    echo "    filter_chains:"
    echo "    - filters:"
    hcm outbound peer
    echo "  clusters:"
    cluster peer "${server_port[$mode]}" "$tls"
  } >"$work/client-$mode.yaml"
done

nginx -c "$work/backend.conf" -p "$work" & pids+=($!)
for mode in plain mtls; do
  "$remora" -c "$work/server-$mode.yaml" --concurrency 1 -l warn & pids+=($!)
  server_pid[$mode]=$!
  "$remora" -c "$work/client-$mode.yaml" --concurrency 1 -l warn & pids+=($!)
done
for p in $backend ${client_port[plain]} ${client_port[mtls]} ${server_port[plain]} ${server_port[mtls]}; do
  wait_port "$p"
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -A rps
rps[plain]=""; rps[mtls]=""
for mode in plain mtls; do wrk -t1 -c10 -d1s "http://127.0.0.1:${client_port[$mode]}/" >/dev/null; done
for round in $(seq 1 "$rounds"); do
  for mode in plain mtls; do
    out=$(wrk -t1 -c50 -d"${duration}s" "http://127.0.0.1:${client_port[$mode]}/")
    rps[$mode]+="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out") "
  done
done
echo "1. Requests through two sidecars (wrk, 50 keep-alive connections, ${rounds} rounds of ${duration}s, medians)"
printf '%-8s %12s %12s\n' hop req_per_s server_rss_kb
for mode in plain mtls; do
  printf '%-8s %12s %12s\n' "$mode" "$(median <<<"${rps[$mode]}")" "$(rss_kb "${server_pid[$mode]}")"
done
p=$(median <<<"${rps[plain]}"); m=$(median <<<"${rps[mtls]}")
echo "mtls/plaintext req/s: $(awk -v a="$m" -v b="$p" 'BEGIN {printf "%.2f", a/b}') (goal >= 0.80)"

# 2. Full handshakes: a direct-response TLS listener (Remora) and an HAProxy bind.
hs_port=$(free_port); hs_admin=$(free_port); ha_port=$(free_port)
cat >"$work/handshakes.yaml" <<YAML
admin: {address: {socket_address: {address: 127.0.0.1, port_value: $hs_admin}}}
static_resources:
  listeners:
  - name: handshakes
    address: {socket_address: {address: 127.0.0.1, port_value: $hs_port}}
    filter_chains:
    - filters:
      - name: remora.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/remora.extensions.filters.network.http_connection_manager.v1.HttpConnectionManager
          stat_prefix: hs
          route_config:
            virtual_hosts:
            - {name: all, domains: ["*"], routes: [{match: {prefix: /}, direct_response: {status: 200, body: "ok"}}]}
          http_filters: [{name: remora.filters.http.router}]
$(downstream_tls)
YAML
cat >"$work/haproxy.cfg" <<HAPROXY
global
  nbthread 1
  maxconn 4000
  tune.ssl.cachesize 0
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend handshakes
  bind 127.0.0.1:$ha_port ssl crt $work/server.pem ca-file $work/root.crt verify required
  http-request return status 200 content-type text/plain string ok
HAPROXY
"$remora" -c "$work/handshakes.yaml" --concurrency 1 -l warn & pids+=($!)
hs_pid=$!
haproxy -f "$work/haproxy.cfg" -db 2>/dev/null & pids+=($!)
ha_pid=$!
wait_port "$hs_port"; wait_port "$ha_port"

cpu_seconds() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; }
# Two s_time clients in parallel, each doing full handshakes for `duration` seconds.
handshakes_of() { # total connections reported by the s_time clients
  cat "$work"/s_time.* | awk '/connections in [0-9.]+s/ {n += $1} END {print n + 0}'
}
echo
echo "2. Full mutual-TLS handshakes (2 openssl s_time -new clients, ${duration}s, server: 1 worker)"
printf '%-8s %12s %14s %18s\n' server handshakes server_cpu_s per_cpu_second
declare -A per_cpu
for name in remora haproxy; do
  port=$hs_port; pid=$hs_pid
  [[ $name == haproxy ]] && { port=$ha_port; pid=$ha_pid; }
  before=$(cpu_seconds "$pid")
  rm -f "$work"/s_time.*
  for i in 1 2; do
    openssl s_time -connect "127.0.0.1:$port" -new -time "$duration" -cert "$work/client.crt" \
      -key "$work/client.key" -CAfile "$work/root.crt" >"$work/s_time.$i" 2>&1 &
    clients[$i]=$!
  done
  wait "${clients[1]}" "${clients[2]}" || true
  after=$(cpu_seconds "$pid")
  n=$(handshakes_of)
  cpu=$(awk -v a="$after" -v b="$before" 'BEGIN {printf "%.2f", a - b}')
  per_cpu[$name]=$(awk -v n="$n" -v c="$cpu" 'BEGIN {printf "%.0f", (c > 0 ? n / c : 0)}')
  printf '%-8s %12s %14s %18s\n' "$name" "$n" "$cpu" "${per_cpu[$name]}"
done
echo "remora/haproxy handshakes per CPU second: $(awk -v a="${per_cpu[remora]}" -v b="${per_cpu[haproxy]}" 'BEGIN {printf "%.2f", a/b}')"
failures=$(curl -s "http://127.0.0.1:$hs_admin/stats/prometheus" | awk '/^remora_tls_handshake_failures_total/ {n += $2} END {print n + 0}')
echo "remora handshake failures during the run: $failures"
