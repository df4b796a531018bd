#!/usr/bin/env bash
# Requests per second of one load test under `cargo perf --workers W` for W = 1, 2, ... N, so the
# generator's scaling over cores can be measured on the machine it runs on: fixture-load's
# `throughput_at_base_url` (32 users, one GET per iteration, no setup) against the load bench's
# HTTP/1.1 server. The server gets the first half of the cores (one runtime thread each), the
# generator the other half (N = that half); SHARED=1 runs both on every core instead (N = all).
# Usage: bash scripts/worker-scaling.sh [SECONDS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-5}" rounds="${2:-2}"
cores="$(nproc)"
if [ "${SHARED:-0}" = 1 ]; then
  server_cpus="0-$((cores - 1))" client_cpus="$server_cpus" server_threads="$cores" most="$cores"
else
  if [ "$cores" -lt 2 ]; then
    echo "error: one core: nothing to split between server and generator (try SHARED=1)" >&2
    exit 1
  fi
  half=$((cores / 2))
  server_cpus="0-$((half - 1))" client_cpus="$half-$((cores - 1))"
  server_threads="$half" most=$((cores - half))
fi
cargo build -q --release -p cargo-perf
cargo_perf="$PWD/target/release/cargo-perf"
if [ -n "${CARGO_TARGET_DIR:-}" ]; then cargo_perf="$CARGO_TARGET_DIR/release/cargo-perf"; fi
bin="$(cargo bench -p perf-harness --bench load --no-run --message-format=json 2>/dev/null \
  | grep -o '"executable":"[^"]*load-[^"]*"' | tail -1 | cut -d'"' -f4)"
port=18096
taskset -c "$server_cpus" "$bin" server "$port" --threads "$server_threads" > /dev/null & server=$!
trap 'kill $server 2>/dev/null || true' EXIT
sleep 1
url="http://127.0.0.1:$port"
(cd tests/fixtures && "$cargo_perf" perf -p fixture-load --list > /dev/null)

echo "== requests/s by generator threads, 32 users, ${secs}s; server on CPUs $server_cpus" \
  "($server_threads threads), generator on CPUs $client_cpus ($(date -u +%FT%TZ), load average" \
  "$(cut -d' ' -f1-3 /proc/loadavg))"
for round in $(seq "$rounds"); do
  for workers in $(seq "$most"); do
    json="$(cd tests/fixtures && taskset -c "$client_cpus" "$cargo_perf" perf -p fixture-load \
      --exact throughput_at_base_url --base-url "$url" --workers "$workers" --no-compare \
      --format json --report-dir "/tmp/worker-scaling-$round-$workers" 2> /dev/null)"
    echo "$json" | python3 -c '
import json, sys
load = json.load(sys.stdin)["results"][0]["record"]["load"]
print("round %s, workers %s: %.0f requests/s (test process at %.0f%% of a core), p99 %.3f ms"
      % (sys.argv[1], load.get("workers"), load["requests_per_s"], load.get("cpu_percent") or 0,
         load["iteration"]["p99_ns"] / 1e6))' "$round"
  done
done
