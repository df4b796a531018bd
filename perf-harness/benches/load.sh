#!/usr/bin/env bash
# The load generator against wrk (and oha when installed), pinned: server on CPU 0, generator on
# CPU 1, all in one run. Usage: bash perf-harness/benches/load.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-10}"
cargo bench -p perf-harness --bench load --no-run --message-format=json 2>/dev/null \
  | grep -o '"executable":"[^"]*load-[^"]*"' | tail -1 | cut -d'"' -f4 > /tmp/perf-load-bench-exe
bin="$(cat /tmp/perf-load-bench-exe)"
port=18080
stall_port=18081
taskset -c 0 "$bin" server "$port" & server=$!
taskset -c 0 "$bin" server "$stall_port" --stall & stall=$!
trap 'kill $server $stall 2>/dev/null || true' EXIT
sleep 1
url="http://127.0.0.1:$port"

echo "== throughput, one request per iteration, 32 connections, ${secs}s each"
if command -v wrk >/dev/null; then
  taskset -c 1 wrk -t1 -c32 -d"${secs}s" "$url/" | grep -E "Requests/sec|Latency"
else
  echo "wrk not installed (apt-get install wrk)"
fi
if command -v oha >/dev/null; then
  taskset -c 1 oha -c 32 -z "${secs}s" --no-tui "$url/" | grep -E "Requests/sec|Slowest|Fastest"
else
  echo "oha not installed (cargo install oha): skipped"
fi
taskset -c 1 "$bin" closed "$url" "$secs"

echo "== latency-engine overhead"
taskset -c 1 "$bin" overhead

echo "== RSS per idle virtual user"
for n in 1 1000 10000; do taskset -c 1 "$bin" rss "$url" "$n"; done

echo "== coordinated omission: stall 1 s every 10 s, rate 1000/s, 30 s"
taskset -c 1 "$bin" open "http://127.0.0.1:$stall_port" 30
