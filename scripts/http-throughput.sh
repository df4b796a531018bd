#!/usr/bin/env bash
# HTTP requests per second per core through a real `#[perf_test]` under `cargo perf`
# (fixture-load's `throughput_at_base_url`, 32 users, one GET per iteration) against `wrk -t1
# -c32` (and oha when installed), same server, same run, pinned: the load bench's HTTP/1.1
# server on CPU 0, every client on CPU 1.
# Usage: bash scripts/http-throughput.sh [SECONDS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-5}" rounds="${2:-3}"
fixtures=tests/fixtures
cargo build -q --release -p cargo-perf
cargo_perf="$PWD/target/release/cargo-perf"
if [ -n "${CARGO_TARGET_DIR:-}" ]; then cargo_perf="$CARGO_TARGET_DIR/release/cargo-perf"; fi
bin="$(cargo bench -p perf-harness --bench load --no-run --message-format=json 2>/dev/null \
  | grep -o '"executable":"[^"]*load-[^"]*"' | tail -1 | cut -d'"' -f4)"
port=18095
taskset -c 0 "$bin" server "$port" > /dev/null & server=$!
trap 'kill $server 2>/dev/null || true' EXIT
sleep 1
url="http://127.0.0.1:$port"
# Build the perf test before the pinned runs, so they time requests, not rustc.
(cd "$fixtures" && "$cargo_perf" perf -p fixture-load --list > /dev/null)
oha="${OHA:-$(command -v oha || true)}"

echo "== requests/s, 32 connections, ${secs}s, clients pinned to CPU 1 ($(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg))"
for round in $(seq "$rounds"); do
  wrk_rps="$(taskset -c 1 wrk -t1 -c32 -d"${secs}s" "$url/" | awk '/Requests\/sec/ {print $2}')"
  oha_rps=""
  if [ -n "$oha" ] && [ -x "$oha" ]; then
    oha_rps="$(taskset -c 1 "$oha" -c 32 -z "${secs}s" --no-tui "$url/" | awk '/Requests\/sec/ {print $2}')"
  fi
  json="$(cd "$fixtures" && taskset -c 1 "$cargo_perf" perf -p fixture-load --exact throughput_at_base_url \
    --base-url "$url" --no-compare --format json --report-dir "/tmp/http-throughput-$round" 2> /dev/null)"
  ours="$(echo "$json" | python3 -c '
import json, sys
load = json.load(sys.stdin)["results"][0]["record"]["load"]
print(round(load["requests_per_s"]), round(load.get("cpu_percent") or 0))')"
  set -- $ours
  awk -v a="$1" -v cpu="$2" -v w="$wrk_rps" -v o="$oha_rps" -v r="$round" 'BEGIN {
    printf "round %s: cargo perf %.0f/s (test process at %s%% of a core); wrk -t1 %.0f/s: %.2fx", r, a, cpu, w, a / w
    if (o != "") printf "; oha %.0f/s: %.2fx", o, a / o
    printf "\n" }'
done
