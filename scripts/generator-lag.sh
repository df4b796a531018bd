#!/usr/bin/env bash
# The open-model generator's own lag (slot -> start) at 200/s, 1 000/s and 10 000/s, measured the
# way a user runs it: `cargo perf` on a crate outside this repository whose open-model tests load
# a minimal HTTP/1.1 keep-alive server (the load bench's, pinned to CPU 0) with the generator
# pinned to CPU 1. Prints lag p50/p99/max and `from schedule` minus `service time` at p50.
# Usage: bash scripts/generator-lag.sh [SECONDS]   (default 10 s per rate)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
secs="${1:-10}"
work="$(mktemp -d)"
trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

# shellcheck source=scripts/outside-crate.sh
source "$repo/scripts/outside-crate.sh"
build_tools

new_crate "$work/lag-check"
cat > "$work/lag-check/tests/lag.rs" <<EOF
//! Open-model tests at three rates against the service given by --base-url.
use perf_harness::{perf_test, User};

#[perf_test(rate = "200/s", max_users = 50, duration = "${secs}s")]
async fn at_200_per_s(user: &mut User) {
    let _ = user.get("/").send().await;
}

#[perf_test(rate = "1000/s", max_users = 100, duration = "${secs}s")]
async fn at_1000_per_s(user: &mut User) {
    let _ = user.get("/").send().await;
}

#[perf_test(rate = "10000/s", max_users = 400, duration = "${secs}s")]
async fn at_10000_per_s(user: &mut User) {
    let _ = user.get("/").send().await;
}
EOF
port=18090
taskset -c 0 "$bin" server "$port" & server=$!
sleep 1

echo "== cargo perf (generator on CPU 1; load average: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%MZ))"
cargo build --release --quiet --tests --manifest-path "$work/lag-check/Cargo.toml"
(cd "$work/lag-check" && taskset -c 1 "$cargo_perf" perf --base-url "http://127.0.0.1:$port" \
  --format json --report-dir "$work/report" > "$work/summary.json") || true
python3 - "$work/summary.json" <<'EOF'
import json, sys
summary = json.load(open(sys.argv[1]))
us = lambda ns: f"{ns / 1000:.1f} µs"
print(f"{'test':16} {'achieved':>10} {'lag p50':>10} {'lag p99':>10} {'lag max':>10} {'sched-svc p50':>14} dropped")
for r in summary["results"]:
    load = r["record"].get("load")
    if not load:
        print(r["record"]["test"]["name"], r.get("outcome"), r["record"].get("error"))
        continue
    lag, it, svc = load.get("schedule_lag"), load["iteration"], load.get("iteration_service")
    diff = it["p50_ns"] - svc["p50_ns"] if svc else float("nan")
    print(f"{r['record']['test']['name']:16} {load['iterations_per_s']:>8.0f}/s {us(lag['p50_ns']):>10} "
          f"{us(lag['p99_ns']):>10} {us(lag['max_ns']):>10} {us(diff):>14} {load['dropped_iterations']}")
EOF
