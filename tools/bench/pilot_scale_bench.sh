#!/usr/bin/env bash
# Pilot at scale: the real remora-pilot reads a scripted Kubernetes API server (--kubeconfig)
# holding N services (one EndpointSlice each) and M pods over 20 namespaces, and P simulated
# proxies hold real delta discovery streams to it (CDS and LDS by wildcard, then EDS and RDS
# for what those name; every response ACKed). Prints start-to-/ready, the time until every
# proxy has ACKed its first full config, pilot's VmRSS/VmHWM and CPU seconds, the time from
# an EndpointSlice change and from a VirtualService change to the last proxy's ACK (p50/p99),
# the bytes and resources sent per proxy for each, and pilot_xds_pushes_total around them and
# around a burst of changes (debouncing). Figures only: nothing is asserted.
#
# Usage: tools/bench/pilot_scale_bench.sh [--services 10000] [--pods 50000] [--proxies 1000]
#                                         [--changes 7] [--namespaces 20]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bazel build -c opt //test/integration:pilot_scale_bench >/dev/null
cd bazel-bin/test/integration/pilot_scale_bench.runfiles/remora
exec ./test/integration/pilot_scale_bench "$@"
