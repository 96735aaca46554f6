#!/usr/bin/env bash
# One command, no cluster: real Prometheus + the adapter in standalone mode + kubectl.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
cargo build --quiet --bin prometheus-adapter --example demo
ADAPTER_BIN="$PWD/target/debug/prometheus-adapter" exec target/debug/examples/demo "$@"
