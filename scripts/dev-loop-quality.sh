#!/usr/bin/env bash
# Does the developer loop cry wolf? Runs the bundled examples the way a developer does —
# `cargo perf -p mediashelf --quick`, each run compared with the previous one (baseline `base`,
# default `--confirm 1`) — in three series, and prints per series: runs, runs exiting 1, verdicts
# flagged (regressions + improvements) / verdicts compared, confirmed regressions, what other
# processes took while tests ran, the load average before and after, and the wall time.
#
#   1. quiet     RUNS A/A runs (same code) on a quiet machine, starting from an empty history
#                (one uncounted run first saves `base`).
#                Target: no run exits 1, at most 2 % of verdicts flagged either way.
#   2. busy      RUNS/2 A/A runs while this script keeps every core busy with a build loop
#                (`cargo clean -p $BUSY_CLEAN` then `cargo build --release` of this workspace, in
#                a separate target directory, started and stopped here).
#                Target: no confirmed regression.
#   3. slowdown  RUNS/2 trials of a real 25 % slowdown: a scratch copy of this tree in which one
#                test's code is changed and committed (`generate_fixture_items` builds 1 250
#                fixture items instead of 1 000). Each trial restores the history and `base` left
#                by the quiet series, runs the unchanged tree once (it becomes `base`), then the
#                changed copy (its own build, the same history and baseline).
#                Target: the run exits 1 with the slowed test a regression.
#
# The history (target/criterion/cargo-perf/history.json) and `base` of this checkout are moved
# aside and put back at the end; reports go to a temporary directory.
#
#   scripts/dev-loop-quality.sh                              # RUNS=20: 20 quiet, 10 busy, 10 slowdown
#   RUNS=1 FILTER="parse_query generate_fixture" scripts/dev-loop-quality.sh   # a smoke run
#   SERIES="busy" RUNS=10 scripts/dev-loop-quality.sh       # one series
#
# Knobs: RUNS (20), RUNS_QUIET (RUNS), RUNS_BUSY (RUNS/2), RUNS_SLOW (RUNS/2), SERIES
# ("quiet busy slowdown"), FILTER (test name filters; the slowed test is added to them),
# BUSY_CLEAN (the crate the build loop cleans, default syn), SLOW_ITEMS (1250), KEEP (a
# directory that keeps every run's summary.json and the last history).
# Needs python3 (to read summary.json) and git.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${RUNS:-20}
half=$(((RUNS + 1) / 2))
RUNS_QUIET=${RUNS_QUIET:-$RUNS}
RUNS_BUSY=${RUNS_BUSY:-$half}
RUNS_SLOW=${RUNS_SLOW:-$half}
SERIES=${SERIES:-"quiet busy slowdown"}
BUSY_CLEAN=${BUSY_CLEAN:-syn}
SLOW_ITEMS=${SLOW_ITEMS:-1250}
SLOWED=generate_fixture_items
read -r -a FILTERS <<<"${FILTER:-}"

command -v python3 >/dev/null || { echo "dev-loop-quality: needs python3" >&2; exit 2; }
OUT=$(mktemp -d)
STATE=target/criterion/cargo-perf
BUSY_PGID=
cleanup() {
    if [ -z "$BUSY_PGID" ] && [ -s "$OUT/busy.pgid" ]; then BUSY_PGID=$(cat "$OUT/busy.pgid"); fi
    if [ -n "$BUSY_PGID" ]; then kill -- "-$BUSY_PGID" 2>/dev/null || true; fi
    for f in history.json baselines/base.json; do
        rm -f "$STATE/$f"
        if [ -e "$OUT/saved/$f" ]; then mkdir -p "$(dirname "$STATE/$f")"; mv "$OUT/saved/$f" "$STATE/$f"; fi
    done
    rm -rf "$OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$OUT/saved/baselines"
for f in history.json baselines/base.json; do
    if [ -e "$STATE/$f" ]; then mv "$STATE/$f" "$OUT/saved/$f"; fi
done

echo "building cargo-perf and the examples ..."
cargo build --quiet --release -p cargo-perf --bin cargo-perf
BIN=$ROOT/target/release/cargo-perf
"$BIN" perf -p mediashelf --quick --list >/dev/null

loadavg() { cut -d' ' -f1 /proc/loadavg 2>/dev/null || uptime | sed 's/.*average[s]*: *//; s/,.*//'; }

# One run in MANIFEST's tree (built in $TARGET); appends "exit flagged compared regressions
# other_cores_max slowed_verdict slowed_change" to $ROWS.
ROWS=$OUT/runs
TARGET=$ROOT/target
perf_run() {
    local manifest=$1
    shift
    local code=0
    env -u CI -u GITHUB_ACTIONS CARGO_TARGET_DIR="$TARGET" "$BIN" perf \
        --manifest-path "$manifest" -p mediashelf --quick --format json \
        --report-dir "$OUT/report" "$@" ${FILTERS[@]+"${FILTERS[@]}"} \
        >"$OUT/s.json" 2>>"$OUT/stderr.log" || code=$?
    if [ -n "${KEEP:-}" ]; then
        mkdir -p "$KEEP"
        cp "$OUT/s.json" "$KEEP/$(date +%H%M%S)-$(basename "$(dirname "$manifest")").json"
        cp "$STATE/history.json" "$KEEP/history.json" 2>/dev/null || true
    fi
    python3 - "$OUT/s.json" "$code" "$SLOWED" >>"$ROWS" <<'EOF'
import json, sys
path, code, slowed = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    s = json.load(open(path))
except ValueError:
    print(code, 0, 0, 0, "nan", "none", "nan")
    sys.exit()
flagged = compared = regressions = 0
other = []
slowed_verdict, slowed_change = "none", float("nan")
for r in s["results"]:
    c = r.get("comparison") or {}
    verdicts = [c.get("change_verdict")] + [k.get("change_verdict") for k in r.get("counts", [])]
    if c.get("change_verdict") in ("regression", "improvement", "unchanged", "inconclusive"):
        compared += 1
        if any(v in ("regression", "improvement") for v in verdicts):
            flagged += 1
        if "regression" in verdicts:
            regressions += 1
    o = (r["record"].get("machine_state") or {}).get("other_cpu_cores")
    if o is not None:
        other.append(o)
    if r["record"]["test"]["name"] == slowed:
        slowed_verdict = c.get("change_verdict", "none")
        slowed_change = c.get("change", float("nan"))
print(code, flagged, compared, regressions, max(other) if other else "nan", slowed_verdict, slowed_change)
EOF
}

# Prints one series' line from the runs recorded since it started.
report() { # name started_at load_before
    python3 - "$OUT/runs" "$1" "$(($(date +%s) - $2))" "$3" "$(loadavg)" "$SLOWED" <<'EOF'
import math, sys
path, name, wall, load0, load1, slowed = sys.argv[1:]
rows = [l.split() for l in open(path) if l.strip()]
runs = len(rows)
exit1 = sum(r[0] == "1" for r in rows)
other_errors = sum(r[0] not in ("0", "1") for r in rows)
flagged = sum(int(r[1]) for r in rows)
compared = sum(int(r[2]) for r in rows)
regressions = sum(int(r[3]) for r in rows)
cores = [float(r[4]) for r in rows if r[4] != "nan"]
pct = 100.0 * flagged / compared if compared else 0.0
line = (f"{name:<9} runs {runs:3d}  exit 1: {exit1:3d}  flagged {flagged:3d} / {compared:4d} verdicts "
        f"({pct:.1f} %)  confirmed regressions {regressions:3d}")
if other_errors:
    line += f"  exit 2: {other_errors}"
if cores:
    line += f"  other processes at the busiest test of a run {min(cores):.1f}–{max(cores):.1f} cores"
line += f"  load average {load0} → {load1}  wall {int(wall) // 60} min {int(wall) % 60} s"
print(line)
if name == "slowdown":
    caught = sum(r[5] == "regression" for r in rows)
    changes = sorted(float(r[6]) for r in rows if r[6] != "nan")
    mid = changes[len(changes) // 2] * 100 if changes else math.nan
    print(f"{'':<9} {slowed}: regression in {caught} / {runs} runs, measured change "
          f"{', '.join(f'{c * 100:+.1f} %' for c in changes)} (median {mid:+.1f} %); the default "
          f"gate exits 1 on a major regression, i.e. a change measured at 25 % or more")
EOF
}

series_quiet() {
    local load0 t0
    load0=$(loadavg)
    t0=$(date +%s)
    if awk -v l="$load0" 'BEGIN { exit !(l >= 1) }'; then
        echo "warning: load average $load0: the quiet series wants a quiet machine" >&2
    fi
    rm -f "$STATE/history.json" "$STATE/baselines/base.json" "$OUT/runs"
    ROWS=$OUT/before perf_run "$ROOT/Cargo.toml" --fail-on none # saves `base`; not counted
    for i in $(seq "$RUNS_QUIET"); do
        perf_run "$ROOT/Cargo.toml"
        echo "  quiet run $i/$RUNS_QUIET: $(tail -1 "$OUT/runs")" >&2
    done
    report quiet "$t0" "$load0"
    cp "$STATE/history.json" "$OUT/quiet-history.json"
    cp "$STATE/baselines/base.json" "$OUT/quiet-base.json"
}

series_busy() {
    local load0 t0
    mkdir -p "$OUT/busy-target"
    # The build loop runs in its own process group (its id in busy.pgid), stopped as a whole.
    setsid bash -c '
        echo $$ >"$4"
        cd "$1"
        while :; do
            CARGO_TARGET_DIR="$2" cargo clean --quiet --release -p "$3" 2>/dev/null || true
            CARGO_TARGET_DIR="$2" cargo build --quiet --release --workspace 2>/dev/null || true
        done' busy-loop "$ROOT" "$OUT/busy-target" "$BUSY_CLEAN" "$OUT/busy.pgid" \
        </dev/null >/dev/null 2>&1 &
    sleep 15 # let the build reach full speed
    BUSY_PGID=$(cat "$OUT/busy.pgid")
    load0=$(loadavg)
    t0=$(date +%s)
    rm -f "$OUT/runs"
    for i in $(seq "$RUNS_BUSY"); do
        perf_run "$ROOT/Cargo.toml"
        echo "  busy run $i/$RUNS_BUSY: $(tail -1 "$OUT/runs")" >&2
    done
    report busy "$t0" "$load0"
    kill -- "-$BUSY_PGID" 2>/dev/null || true
    wait 2>/dev/null || true
    BUSY_PGID=
    rm -f "$OUT/busy.pgid"
    rm -rf "$OUT/busy-target"
}

series_slowdown() {
    local load0 t0 scratch=$OUT/scratch
    # A copy of this working tree (uncommitted changes included), committed, then the change.
    mkdir -p "$scratch"
    tar --exclude=./target --exclude=./.git --exclude='./tests/fixtures/target' -cf - . |
        tar -xf - -C "$scratch"
    local file=$scratch/examples/tests/perf_main.rs
    grep -q 'fixtures::media(std::hint::black_box(1_000), 3)' "$file" ||
        { echo "dev-loop-quality: $SLOWED no longer builds 1_000 items; update the script" >&2; exit 2; }
    (
        cd "$scratch"
        git init --quiet
        git add -A
        git -c user.name=dev-loop-quality -c user.email=none commit --quiet -m "unchanged copy"
        sed -i "s/fixtures::media(std::hint::black_box(1_000), 3)/fixtures::media(std::hint::black_box($SLOW_ITEMS), 3)/" \
            examples/tests/perf_main.rs
        git -c user.name=dev-loop-quality -c user.email=none commit --quiet -am \
            "$SLOWED: $SLOW_ITEMS fixture items instead of 1 000"
    )
    # Its own target directory (cargo would take one tree's build for the other's: the paths
    # inside a workspace are hashed relative to its root), seeded with this one's optimized
    # build so that only the changed test compiles, and sharing this one's criterion directory:
    # the same history and `base`, as when the change is made in place.
    echo "building the slowed copy ..." >&2
    mkdir -p "$OUT/scratch-target"
    cp -a --reflink=auto "$ROOT/target/release" "$OUT/scratch-target/release"
    ln -s "$ROOT/target/criterion" "$OUT/scratch-target/criterion"
    CARGO_TARGET_DIR="$OUT/scratch-target" "$BIN" perf --manifest-path "$scratch/Cargo.toml" \
        -p mediashelf --quick --list >/dev/null
    if [ -e "$OUT/quiet-history.json" ]; then
        echo "  each trial starts from the history and base the quiet series left" >&2
    else
        echo "  no quiet series ran: each trial starts from the history as it is now" >&2
        cp "$STATE/history.json" "$OUT/quiet-history.json" 2>/dev/null || true
        cp "$STATE/baselines/base.json" "$OUT/quiet-base.json" 2>/dev/null || true
    fi
    local slow_filters=()
    if [ ${#FILTERS[@]} -gt 0 ]; then slow_filters=("$SLOWED"); fi
    load0=$(loadavg)
    t0=$(date +%s)
    rm -f "$OUT/runs" "$OUT/before"
    for i in $(seq "$RUNS_SLOW"); do
        [ -e "$OUT/quiet-history.json" ] && cp "$OUT/quiet-history.json" "$STATE/history.json"
        [ -e "$OUT/quiet-base.json" ] && cp "$OUT/quiet-base.json" "$STATE/baselines/base.json"
        # The unchanged code once, so that `base` is a run minutes old, as in the loop.
        ROWS=$OUT/before perf_run "$ROOT/Cargo.toml" --fail-on none \
            ${slow_filters[@]+"${slow_filters[@]}"}
        TARGET=$OUT/scratch-target perf_run "$scratch/Cargo.toml" \
            ${slow_filters[@]+"${slow_filters[@]}"}
        echo "  slowdown trial $i/$RUNS_SLOW: $(tail -1 "$OUT/runs")" >&2
    done
    report slowdown "$t0" "$load0"
}

echo "series: $SERIES (quiet $RUNS_QUIET, busy $RUNS_BUSY, slowdown $RUNS_SLOW runs); $(nproc 2>/dev/null || echo '?') cores"
echo "per-run lines on stderr: exit flagged compared regressions max-other-cores $SLOWED-verdict $SLOWED-change"
for s in $SERIES; do
    case $s in
        quiet) series_quiet ;;
        busy) series_busy ;;
        slowdown) series_slowdown ;;
        *) echo "dev-loop-quality: unknown series '$s' (quiet, busy, slowdown)" >&2; exit 2 ;;
    esac
done
