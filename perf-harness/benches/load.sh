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

echo "== throughput, one request per iteration, 32 connections, ${secs}s each (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
# oha from `cargo install oha --root DIR`: on the PATH, or OHA=DIR/bin/oha.
oha="${OHA:-$(command -v oha || true)}"
wrk_rps="" oha_rps=""
if command -v wrk >/dev/null; then
  out="$(taskset -c 1 wrk -t1 -c32 -d"${secs}s" "$url/")"
  echo "$out" | grep -E "Requests/sec|Latency"
  wrk_rps="$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
else
  echo "wrk not installed (apt-get install wrk): skipped"
fi
if [ -n "$oha" ] && [ -x "$oha" ]; then
  out="$(taskset -c 1 "$oha" -c 32 -z "${secs}s" --no-tui "$url/")"
  echo "$out" | grep -E "Requests/sec|Slowest|Fastest|Average"
  oha_rps="$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
else
  echo "oha not installed (cargo install oha --root DIR, then OHA=DIR/bin/oha): skipped"
fi
out="$(taskset -c 1 "$bin" closed "$url" "$secs")"
echo "$out"
ours="$(echo "$out" | sed -n 's/.*: \([0-9.]*\) requests\/s.*/\1/p')"
for ref in "wrk:$wrk_rps" "oha:$oha_rps"; do
  name="${ref%%:*}" rps="${ref#*:}"
  if [ -n "$rps" ] && [ -n "$ours" ]; then
    awk -v a="$ours" -v b="$rps" -v n="$name" \
      'BEGIN { printf "cargo-perf / %s: %.2f (%.0f vs %.0f requests/s)\n", n, a / b, a, b }'
  fi
done

echo "== latency-engine overhead"
taskset -c 1 "$bin" overhead

echo "== RSS per idle virtual user"
for n in 1 1000 10000; do taskset -c 1 "$bin" rss "$url" "$n"; done

echo "== coordinated omission: stall 1 s every 10 s, rate 1000/s, 30 s"
taskset -c 1 "$bin" open "http://127.0.0.1:$stall_port" 30
