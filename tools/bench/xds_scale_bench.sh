#!/usr/bin/env bash
# Config scale: a remora process gets N services (EDS cluster + endpoints + virtual host each)
# over the delta ADS stream from a scripted control plane, then single-endpoint changes, then
# 1,000 clusters with 20 endpoints each. Prints wall and CPU time of each step, resident
# memory per service and per endpoint, and the latency of steady traffic during the pushes.
#
# Usage: tools/bench/xds_scale_bench.sh [services=10000]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bazel build -c opt //test/integration:xds_scale_bench >/dev/null
cd bazel-bin/test/integration/xds_scale_bench.runfiles/remora
exec ./test/integration/xds_scale_bench "${1:-10000}"
