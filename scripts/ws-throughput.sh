#!/usr/bin/env bash
# WebSocket exchanges per second per core: a `#[perf_test]` under `cargo perf` (fixture-ws's
# `echo_throughput`) against a plain tokio-tungstenite client loop doing the same exchanges,
# same echo server, same run, pinned: server on CPU 0, client on CPU 1.
# Usage: bash scripts/ws-throughput.sh [SECONDS] [CONNECTIONS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-5}" connections="${2:-32}" rounds="${3:-2}"
fixtures=tests/fixtures
cargo build -q --release --manifest-path "$fixtures/Cargo.toml" -p fixture-ws --examples
cargo build -q --release -p cargo-perf
cargo_perf="$PWD/target/release/cargo-perf"
server="$fixtures/target/release/examples/ws_echo_server"
raw="$fixtures/target/release/examples/ws_raw_client"
port=19001
taskset -c 0 "$server" "127.0.0.1:$port" > /dev/null & pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
sleep 1
# Build the perf test before the pinned runs, so they time exchanges, not rustc.
(cd "$fixtures" && "$cargo_perf" perf -p fixture-ws --list > /dev/null)

echo "== echo exchanges/s, $connections connections, ${secs}s, client pinned to CPU 1 ($(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg))"
for round in $(seq "$rounds"); do
  raw_rate="$(taskset -c 1 "$raw" "ws://127.0.0.1:$port/echo" "$connections" "$secs")"
  # The same loop with the harness's 8 KiB read buffer (tungstenite's default is 128 KiB).
  raw_8k="$(taskset -c 1 "$raw" "ws://127.0.0.1:$port/echo" "$connections" "$secs" 8)"
  json="$(cd "$fixtures" && taskset -c 1 "$cargo_perf" perf -p fixture-ws --exact echo_throughput \
    --base-url "http://127.0.0.1:$port" --users "$connections" --no-compare --format json \
    --report-dir "/tmp/ws-throughput-$round" 2> /dev/null)"
  ours="$(echo "$json" | python3 -c '
import json, sys
s = json.load(sys.stdin)
load = s["results"][0]["record"]["load"]
print(round(load["websocket"]["ws_msgs_sent_per_s"]))')"
  awk -v a="$ours" -v b="$raw_rate" -v c="$raw_8k" -v r="$round" \
    'BEGIN { printf "round %s: cargo perf %.0f/s; raw tokio-tungstenite loop %.0f/s (%.2fx), with an 8 KiB read buffer %.0f/s (%.2fx)\n", r, a, b, a / b, c, a / c }'
done
