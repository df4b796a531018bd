#!/usr/bin/env bash
# A soak run, the way a user runs one: a crate outside this repository, an open-model test at
# 200/s for SOAK (default 1h) against the load bench's HTTP server in its own process (pinned to
# CPU 0, the generator to CPU 1), watched with --service-pid. Prints the leak verdict (judged on
# the service's memory), the generator's own RSS trend from the same timeline (window minima
# after warm-up, as the verdict fits them) and the service's, both in bytes per hour.
# Usage: bash scripts/soak.sh            (one hour)
#        SOAK=5m bash scripts/soak.sh    (a shorter check of the script)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
soak="${SOAK:-1h}"
work="$(mktemp -d)"
trap 'kill ${server:-} 2>/dev/null || true; rm -rf "$work"' EXIT

# shellcheck source=scripts/outside-crate.sh
source "$repo/scripts/outside-crate.sh"
build_tools

crate="$work/soak-check"
new_crate "$crate"
cat > "$crate/tests/soak.rs" <<EOF
//! One open-model test at 200/s for $soak against the service given by --base-url.
use perf_harness::{perf_test, User};

#[perf_test(rate = "200/s", max_users = 50, duration = "$soak", timeout = "2s", p99 = "50ms",
            max_error_rate = 0.001, max_rss_growth = "5MiB/h")]
async fn soak(user: &mut User) {
    let _ = user.get("/").send().await;
}
EOF
cargo build --release --quiet --tests --manifest-path "$crate/Cargo.toml"

port=18111
taskset -c 0 "$bin" server "$port" 2>/dev/null &
server=$!
sleep 1
echo "== soak: 200/s for $soak, service pid $server ($(date -u +%Y-%m-%dT%H:%MZ); load average $(cut -d' ' -f1-3 /proc/loadavg))"
set +e
(cd "$crate" && taskset -c 1 "$cargo_perf" perf soak --no-compare --base-url "http://127.0.0.1:$port" \
  --service-pid "$server" --report-dir "$work/report")
status=$?
set -e
echo "== cargo perf exit $status ($(date -u +%Y-%m-%dT%H:%MZ))"
python3 - "$work/report/summary.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
load = r["record"]["load"]
for v in r["verdicts"]:
    print(f"verdict {'PASS' if v['passed'] else 'FAIL'} {v['threshold']} measured {v['measured']}")

def trend(points):
    """Bytes per hour of the line through the window minima after a 20 % warm-up (3 to 12
    windows of at least 3 samples), as cargo perf's leak verdict fits them."""
    if not points:
        return None
    end = points[-1][0]
    kept = [p for p in points if p[0] > end * 0.2]
    windows = min(len(kept) // 3, 12)
    if windows < 3:
        return None
    minima = [min(kept[w * len(kept) // windows:(w + 1) * len(kept) // windows], key=lambda p: p[1])
              for w in range(windows)]
    mx = sum(t for t, _ in minima) / len(minima)
    my = sum(b for _, b in minima) / len(minima)
    sxx = sum((t - mx) ** 2 for t, _ in minima)
    return sum((t - mx) * (b - my) for t, b in minima) / sxx * 3600 if sxx else 0.0

ticks = load["timeline"]
own = [(t["t_s"], t["rss_bytes"]) for t in ticks if t.get("rss_bytes")]
svc = [(t["t_s"], t["service"]["rss_bytes"]) for t in ticks if t.get("service", {}).get("rss_bytes")]
mib = 2 ** 20
for label, pts in [("generator (test process)", own), ("service (bench server)", svc)]:
    if pts:
        t = trend(pts)
        print(f"{label:26} RSS {pts[0][1] / mib:6.1f} MiB at {pts[0][0]:5.0f} s, "
              f"{pts[-1][1] / mib:6.1f} MiB at {pts[-1][0]:5.0f} s, trend "
              f"{'-' if t is None else f'{t / mib:+.2f} MiB/h'}")
print(f"iterations {load['iterations']}, failed {load['failed_iterations']}, dropped "
      f"{load['dropped_iterations']}, p99 {r['record']['load']['iteration']['p99_ns'] / 1e6:.2f} ms, "
      f"generator cpu {load.get('cpu_percent', 0):.1f} %, service cpu "
      f"{(load.get('service_process') or {}).get('cpu_percent', 0):.1f} %")
EOF
