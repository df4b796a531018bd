#!/usr/bin/env bash
# Measures the regression gate on this machine: the false-alarm rate over A/A runs (same code)
# and the detection rate of injected 5 %, 10 % and 25 % slowdowns, in both comparison modes.
#
# The subject is tests/fixtures/gate: a busy loop whose cost GATE_SLOWDOWN scales (in a paired
# run only the new build's processes see it; the reference build's see CARGO_PERF_ROLE=base).
#
#   scripts/gate-quality.sh                 # RUNS=20 per setting, ROUNDS=20 per paired run
#   RUNS=5 MODES=paired scripts/gate-quality.sh
#   EXAMPLES=1 scripts/gate-quality.sh      # also A/A runs of the mediashelf examples
#
# Output: one line per mode and slowdown: regressions flagged / verdicts, and the rate.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-20}
ROUNDS=${ROUNDS:-20}
MODES=${MODES-"baseline paired"}
FACTORS=${FACTORS:-"1.00 1.05 1.10 1.25"}
MANIFEST=tests/fixtures/Cargo.toml
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

cargo build --quiet --release -p cargo-perf --bin cargo-perf
BIN=target/release/cargo-perf
perf() { env -u CI -u GITHUB_ACTIONS "$BIN" perf --manifest-path "$MANIFEST" -p fixture-gate "$@"; }
regressions() { grep -c '"change_verdict": "regression"' "$1" || true; }
compared() { grep -c '"change_verdict": "\(regression\|improvement\|unchanged\|inconclusive\)"' "$1" || true; }

report() { # mode factor hits total
    local rate
    rate=$(awk -v h="$2" -v t="$4" 'BEGIN { printf "%.0f", (t ? 100 * h / t : 0) }')
    printf '%-8s slowdown %-5s regressions %3d / %3d verdicts (%s %%)\n' "$1" "$3" "$2" "$4" "$rate"
}

for mode in $MODES; do
    if [ "$mode" = baseline ]; then
        perf --no-compare --fail-on none --save-baseline gate-quality --report-dir "$OUT/save" >/dev/null 2>&1
    fi
    for f in $FACTORS; do
        hits=0
        total=0
        for _ in $(seq "$RUNS"); do
            if [ "$mode" = baseline ]; then
                GATE_SLOWDOWN=$f perf --baseline gate-quality --confirm 0 --fail-on none \
                    --format json --report-dir "$OUT/run" >"$OUT/s.json" 2>/dev/null
            else
                GATE_SLOWDOWN=$f perf --against HEAD --rounds "$ROUNDS" --confirm 0 --fail-on none \
                    --format json --report-dir "$OUT/run" >"$OUT/s.json" 2>/dev/null
            fi
            hits=$((hits + $(regressions "$OUT/s.json")))
            total=$((total + $(compared "$OUT/s.json")))
        done
        report "$mode" "$hits" "$f" "$total"
    done
done

if [ "${EXAMPLES:-0}" = 1 ]; then
    # A/A on the real example suite: same code, saved baseline, then RUNS comparisons.
    ex() { env -u CI -u GITHUB_ACTIONS "$BIN" perf -p mediashelf --quick "$@"; }
    ex --no-compare --fail-on none --save-baseline gate-quality-examples --report-dir "$OUT/save" >/dev/null 2>&1
    hits=0
    total=0
    for _ in $(seq "$RUNS"); do
        ex --baseline gate-quality-examples --confirm 0 --fail-on none --format json \
            --report-dir "$OUT/run" >"$OUT/s.json" 2>/dev/null
        hits=$((hits + $(regressions "$OUT/s.json")))
        total=$((total + $(compared "$OUT/s.json")))
    done
    report "examples" "$hits" "1.00" "$total"
fi
