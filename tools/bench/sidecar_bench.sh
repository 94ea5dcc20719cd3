#!/usr/bin/env bash
# Sidecar cost in the mini-cluster (network namespaces; root): p50/p99 of one HTTP/1.1
# request through two sidecars against the same request pod to pod without sidecars, at a
# fixed rate (h2load --rps, 4 connections), interleaved rounds; and each sidecar's resident
# memory under that load.
#
# Usage: tools/bench/sidecar_bench.sh [req/s per connection=250] [seconds=10] [rounds=3]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bazel build -c opt //test/e2e/mini_cluster:sidecar_latency_bench >/dev/null
cd bazel-bin/test/e2e/mini_cluster/sidecar_latency_bench.runfiles/remora
exec ./test/e2e/mini_cluster/sidecar_latency_bench "${1:-250}" "${2:-10}" "${3:-3}"
