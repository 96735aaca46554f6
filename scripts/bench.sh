#!/usr/bin/env bash
# End-to-end benchmark: real Prometheus with N synthetic series, the release adapter against the
# fake Kubernetes API, wrk as the load tool. Prints one Markdown table (also target/bench/results.md).
#   BENCH_SIZES=10000,100000,1000000 BENCH_RUNS=3 BENCH_W2_SECONDS=10 BENCH_IDLE_SECONDS=60
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
if ! command -v wrk >/dev/null 2>&1; then
  SUDO=""; if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  echo "==> installing Debian's wrk package"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
cargo build --release --quiet --bin prometheus-adapter --example bench
ADAPTER_BIN="$PWD/target/release/prometheus-adapter" exec target/release/examples/bench "$@"
