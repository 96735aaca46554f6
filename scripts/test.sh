#!/usr/bin/env bash
# The test command: installs Prometheus and VictoriaMetrics if missing, then runs every test (unit, Go-parity
# tables, and integration tests against a real Prometheus with kubectl as the client).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
cargo test "$@"
