#!/usr/bin/env bash
# Bounded resources (issue 14 item 4), measured the way a user runs cargo perf: on a crate outside
# this repository.
# 1. 10 000 users (1 s think, 2 s timeout, 20 s) against the load bench's HTTP server (pinned
#    to CPU 0, generator on CPU 1), once healthy and once a server that stops answering 5 s in:
#    peak RSS of each, their ratio, and how long each load phase took.
# 2. A load test of 10 million iterations and a latency test of 10 million samples: sizes of
#    the summary and the saved baseline, and the wall time of the run.
# Usage: bash scripts/bounded-resources.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'kill ${servers:-} 2>/dev/null || true; rm -rf "$work"' EXIT

# shellcheck source=scripts/outside-crate.sh
source "$repo/scripts/outside-crate.sh"
build_tools

crate="$work/bounded-check"
new_crate "$crate"
cat > "$crate/tests/users.rs" <<'EOF'
//! Ten thousand users against the service given by --base-url.
use perf_harness::{perf_test, User};

#[perf_test(users = 10000, duration = "20s", think = "1s", timeout = "2s", max_error_rate = 0.01)]
async fn ten_thousand_users(user: &mut User) {
    let _ = user.get("/").send().await;
}
EOF
cat > "$crate/tests/many.rs" <<'EOF'
//! Ten million iterations of a load test and ten million samples of a latency test.
use std::cell::Cell;

use perf_harness::{perf_test, User};

fn counter() -> Cell<u64> {
    Cell::new(0)
}

#[perf_test(users = 2, iterations = 10000000, setup = counter)]
async fn ten_million_iterations(user: &mut User<Cell<u64>>) {
    let c = user.state();
    c.set(c.get() + 1);
}

#[perf_test(samples = 10000000, warmup = 0)]
fn ten_million_samples() {
    std::hint::black_box(1u64 + std::hint::black_box(1));
}
EOF
cargo build --release --quiet --tests --manifest-path "$crate/Cargo.toml"

echo "== 10 000 users: healthy, then a server that stops answering 5 s in ($(date -u +%Y-%m-%dT%H:%MZ); load average $(cut -d' ' -f1-3 /proc/loadavg))"
run_users() { # PORT SERVER-ARGS...
  local port="$1"
  shift
  taskset -c 0 "$bin" server "$port" "$@" 2>/dev/null &
  servers="${servers:-} $!"
  sleep 1
  (cd "$crate" && taskset -c 1 "$cargo_perf" perf ten_thousand_users --no-compare \
    --base-url "http://127.0.0.1:$port" --format json --report-dir "$work/report-$port" \
    > "$work/users-$port.json") || true
}
run_users 18101
run_users 18102 --stop-after 5
python3 - "$work/users-18101.json" "$work/users-18102.json" <<'EOF'
import json, sys
rss = {}
for path, label in zip(sys.argv[1:], ["healthy", "stops answering at 5 s"]):
    r = json.load(open(path))["results"][0]
    load = r["record"]["load"]
    rss[label] = load["peak_rss_bytes"]
    print(f"{label:24} outcome {r['outcome']:5} peak RSS {load['peak_rss_bytes'] / 2**20:6.1f} MiB  "
          f"load phase {load['duration_s']:5.2f} s (20 s + timeout 2 s + 0.1 s)  iterations "
          f"{load['iterations']}, failed {load['failed_iterations']} {load['errors']}")
print(f"RSS ratio hung / healthy: {rss['stops answering at 5 s'] / rss['healthy']:.2f} (must be < 2)")
EOF

echo "== 10 million iterations and 10 million samples"
start=$(date +%s)
(cd "$crate" && "$cargo_perf" perf ten_million --save-baseline ten-million --format json \
  --report-dir "$work/report-many" > "$work/many.json")
took=$(( $(date +%s) - start ))
baseline="$(find "$crate/target" -name ten-million.json | head -1)"
python3 - "$work/many.json" "$work/report-many/summary.json" "$baseline" "$took" <<'EOF'
import json, os, sys
out, summary, baseline, took = sys.argv[1:]
for r in json.load(open(out))["results"]:
    rec = r["record"]
    n = rec["load"]["iterations"] if rec.get("load") else rec["stats"]["samples"]
    peak = rec["load"]["peak_rss_bytes"] / 2**20 if rec.get("load") else float("nan")
    print(f"{rec['test']['name']:24} {r['outcome']:5} {n} measured, {len(rec['samples_ns'])} raw samples kept"
          + (f", peak RSS {peak:.1f} MiB" if rec.get("load") else ""))
kib = lambda p: os.path.getsize(p) / 1024
print(f"summary.json {kib(summary):.0f} KiB, baseline {kib(baseline):.0f} KiB (each must be < 2048 KiB); "
      f"cargo perf took {took} s")
EOF
