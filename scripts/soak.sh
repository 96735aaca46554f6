#!/usr/bin/env bash
# Soak: 500 req/s of mixed HPA-shaped requests for 10 minutes against a real Prometheus (40k
# series) and the release adapter in Kubernetes mode; prints a per-minute table and whether
# RSS stayed flat (±10%) with 0 errors (also target/bench/soak.md).
#   scripts/soak.sh [MINUTES] [RATE]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
cargo build --release --quiet --bin prometheus-adapter --example bench
BENCH_SOAK_MINUTES="${1:-10}" BENCH_SOAK_RATE="${2:-500}" BENCH_SIZES=40000 \
  ADAPTER_BIN="$PWD/target/release/prometheus-adapter" exec target/release/examples/bench
