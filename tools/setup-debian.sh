#!/usr/bin/env bash
# Installs the Debian packages Remora's build, tests and demo need, if any are missing.
# Idempotent and non-interactive: when everything is installed it only checks and exits;
# otherwise it runs apt-get update once and installs just the missing packages.
# Usage: tools/setup-debian.sh [--list]   (--list prints the package list and exits)
set -euo pipefail

PACKAGES=(
  # build
  bazel-bootstrap g++
  libevent-dev libnghttp2-dev libhttp-parser-dev libssl-dev libre2-dev
  libprotobuf-dev protobuf-compiler libyaml-cpp-dev prometheus-cpp-dev
  libgrpc++-dev protobuf-compiler-grpc libabsl-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  # real peers and tools used by integration and end-to-end tests, and the demo
  curl socat tcpdump procps prometheus nginx-light wrk nghttp2-client openssl
  iproute2 iptables haproxy python3
  # formatting
  clang-format
)

if [[ "${1:-}" == "--list" ]]; then
  printf '%s\n' "${PACKAGES[@]}"
  exit 0
fi

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
  echo "setup: this needs Debian (bookworm) or a derivative with apt; install these yourself:" >&2
  printf '  %s\n' "${PACKAGES[@]}" >&2
  exit 1
fi

missing=()
for package in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)"
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#PACKAGES[@]} Debian packages are installed"
  exit 0
fi

echo "setup: installing ${#missing[@]} missing Debian packages: ${missing[*]}"
as_root=()
if [[ "$(id -u)" != 0 ]]; then
  if ! command -v sudo >/dev/null; then
    echo "setup: not root and sudo is missing; as root run: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  as_root=(sudo)
fi

# Wait for another apt run (unattended-upgrades on a fresh VM) instead of failing at once;
# keep existing config files instead of asking. RUNLEVEL=1 makes invoke-rc.d leave services
# (nginx, haproxy, prometheus) stopped: tests start their own instances on loopback ports.
apt_options=(-q -o DPkg::Lock::Timeout=300)
"${as_root[@]}" apt-get "${apt_options[@]}" update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get "${apt_options[@]}" install -y \
  --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  "${missing[@]}" </dev/null
echo "setup: done"
