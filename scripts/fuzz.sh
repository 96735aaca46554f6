#!/usr/bin/env bash
# Runs every cargo-fuzz target for N seconds each (default 600), from the committed seeds in
# fuzz/corpus/<target>; new inputs go to fuzz/work/<target> (not committed), crashes to
# fuzz/artifacts/<target>. `.ci/run` runs it with a few seconds as a smoke test.
#   scripts/fuzz.sh [SECONDS] [TARGET…]     (SECONDS=0: build only)
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
SECONDS_EACH="${1:-600}"; shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  TARGETS=(rules_file template label_selector request_path prometheus_answers quantity)
fi
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked --quiet
# cargo fuzz needs nightly flags (-Zsanitizer); the stable toolchain allows them this way.
export RUSTC_BOOTSTRAP=1
# Always fuzz/target, whatever the caller's CARGO_TARGET_DIR: instrumented builds share nothing
# with the project's, and CI builds them while the tests build theirs.
export CARGO_TARGET_DIR="$PWD/target"
cargo fuzz build -O
[ "$SECONDS_EACH" = 0 ] && exit 0
for target in "${TARGETS[@]}"; do
  mkdir -p "work/$target"
  echo "==> $target for ${SECONDS_EACH}s"
  cargo fuzz run -O "$target" "work/$target" "corpus/$target" -- \
    -max_total_time="$SECONDS_EACH" -max_len=65536 -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 2>&1 \
    | grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|==|SUMMARY|Done)|panicked|ERROR" || true
  if ls "artifacts/$target"/crash-* >/dev/null 2>&1 || ls "artifacts/$target"/timeout-* >/dev/null 2>&1; then
    echo "FINDING in $target: see fuzz/artifacts/$target" >&2
    exit 1
  fi
done
