#!/usr/bin/env bash
# Measures the regression gate the way users get it: on real commits. It copies the crate in
# tests/fixtures/commits (a latency test, a p95 latency test, a micro-benchmark and a load test
# against an in-process HTTP server, all doing WORK units of work) into a scratch git repository,
# commits it as A, then one commit per factor F with `WORK = 100 × F` in the code (F = 1.00 is a
# README edit: the same code). Each mode then judges every factor commit against A, RUNS times:
#   paired:   cargo perf --against A            (what .github/workflows/perf.yml runs)
#   baseline: cargo perf --baseline <saved on A> (the developer loop), after HISTORY plain runs
#             on A (each compared with the previous one), so each test has the run-to-run
#             history a developer's loop builds up; without it the floor stays at its priors
# A/A (F = 1.00) counts false alarms (a regression or an improvement); the other factors count
# detections (a regression verdict).
#
#   scripts/gate-quality.sh                      # RUNS=25 (100 A/A verdicts per mode)
#   RUNS=5 MODES=paired FACTORS="1.00 1.10" scripts/gate-quality.sh
#   ARGS="--rounds 20 --quick" CONFIRM=1 ...     # the paired settings (default: perf.yml's)
#   DETAIL=verdicts.txt ...                      # also every verdict, one line each
#
# Prints a Markdown table (one row per mode and factor) with the machine's load average before
# and after and the wall time per run; copy it into docs/measurements/gate-quality.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RUNS=${RUNS:-25}
MODES=${MODES-"paired baseline"}
FACTORS=${FACTORS:-"1.00 1.05 1.10 1.25"}
# perf.yml's settings, with cargo perf's default of one confirmation of a suspected regression.
ARGS=${ARGS:-"--rounds 12 --quick"}
CONFIRM=${CONFIRM:-1}
KEEP=${KEEP:-0}
HISTORY=${HISTORY:-10}
# DETAIL=file appends one line per verdict (mode, factor, test, verdict, change) for reading misses.
DETAIL=${DETAIL:-/dev/null}

cargo build --quiet --release -p cargo-perf --bin cargo-perf
BIN=$ROOT/target/release/cargo-perf
WORK=$(mktemp -d)
if [ "$KEEP" != 1 ]; then trap 'rm -rf "$WORK"' EXIT; fi
REPO=$WORK/repo
OUT=$WORK/out
mkdir -p "$REPO" "$OUT"

# The scratch repository: the template with this repository's perf-harness, no database test
# (statement counts are exact, not a matter of noise).
cp -r tests/fixtures/commits/. "$REPO/"
sed -e "s|@PERF_HARNESS@|$ROOT/perf-harness|" -e 's|name = "gate-commits"|name = "gate-quality"|' \
    "$REPO/Cargo.toml.template" >"$REPO/Cargo.toml"
printf '\n[lib]\nname = "gate_commits"\n' >>"$REPO/Cargo.toml"
rm "$REPO/Cargo.toml.template" "$REPO/tests/db.rs"
cp tests/fixtures/Cargo.lock "$REPO/"
echo "target/" >"$REPO/.gitignore"
g() { git -C "$REPO" -c user.name=gate -c user.email=gate@example.com "$@"; }
g init -q
g add -A
g commit -qm "A: WORK = 100"
BASE=$(g rev-parse HEAD)
declare -A COMMIT
for f in $FACTORS; do
    g checkout -q "$BASE"
    work=$(awk -v f="$f" 'BEGIN { printf "%d", 100 * f + 0.5 }')
    if [ "$work" = 100 ]; then
        echo "A/A: the same code, $(date -u +%FT%TZ)" >>"$REPO/README.md"
        msg="README edit"
    else
        sed -i "s/WORK: u64 = 100;/WORK: u64 = $work;/" "$REPO/src/lib.rs"
        msg="WORK = $work"
    fi
    g commit -qam "F = $f: $msg"
    COMMIT[$f]=$(g rev-parse HEAD)
done

perf() { (cd "$REPO" && env -u CI -u GITHUB_ACTIONS "$BIN" perf "$@"); }
count() { grep -c "\"change_verdict\": \"$2\"" "$1" || true; }
verdicts() { grep -c '"change_verdict": "\(regression\|improvement\|unchanged\|inconclusive\)"' "$1" || true; }
load() { cut -d' ' -f1 /proc/loadavg; }

echo "| mode | factor | regressions | improvements | inconclusive | verdicts | rate | s per run | load before → after |"
echo "|---|---|--:|--:|--:|--:|--:|--:|---|"
for mode in $MODES; do
    if [ "$mode" = baseline ]; then
        g checkout -q "$BASE"
        for _ in $(seq "$HISTORY"); do
            perf --quick --fail-on none --report-dir "$OUT/history" >/dev/null 2>&1 || true
        done
        perf --quick --no-compare --fail-on none --save-baseline gate-quality \
            --report-dir "$OUT/save" >/dev/null 2>&1
    fi
    for f in $FACTORS; do
        g checkout -q "${COMMIT[$f]}"
        reg=0 imp=0 inc=0 total=0 before=$(load) started=$(date +%s)
        for _ in $(seq "$RUNS"); do
            if [ "$mode" = baseline ]; then
                # shellcheck disable=SC2086
                perf --quick --baseline gate-quality --confirm "$CONFIRM" --fail-on none \
                    --format json --report-dir "$OUT/run" >"$OUT/s.json" 2>"$OUT/err" || true
            else
                # shellcheck disable=SC2086
                perf --against "$BASE" $ARGS --confirm "$CONFIRM" --fail-on none \
                    --format json --report-dir "$OUT/run" >"$OUT/s.json" 2>"$OUT/err" || true
            fi
            if [ "$(verdicts "$OUT/s.json")" = 0 ]; then
                echo "a run gave no verdict; its stderr:" >&2
                tail -20 "$OUT/err" >&2
                exit 2
            fi
            python3 - "$OUT/s.json" "$mode" "$f" >>"$DETAIL" <<'PY' || true
import json, sys
s = json.load(open(sys.argv[1]))
for r in s.get("results", []):
    c = r.get("comparison") or {}
    if c.get("change_verdict"):
        print(sys.argv[2], sys.argv[3], r["record"]["test"]["name"], c["change_verdict"], round(c.get("change") or 0, 4))
PY
            reg=$((reg + $(count "$OUT/s.json" regression)))
            imp=$((imp + $(count "$OUT/s.json" improvement)))
            inc=$((inc + $(count "$OUT/s.json" inconclusive)))
            total=$((total + $(verdicts "$OUT/s.json")))
        done
        wall=$(($(date +%s) - started))
        if [ "$f" = 1.00 ]; then hits=$((reg + imp)); else hits=$reg; fi
        rate=$(awk -v h="$hits" -v t="$total" 'BEGIN { printf "%.1f %%", (t ? 100 * h / t : 0) }')
        per=$(awk -v w="$wall" -v r="$RUNS" 'BEGIN { printf "%.0f", w / r }')
        echo "| $mode | $f | $reg | $imp | $inc | $total | $rate | $per | $before → $(load) |"
    done
done
