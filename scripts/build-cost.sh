#!/usr/bin/env bash
# Cold optimized build of one micro-benchmark, three ways: (a) perf-harness with
# `default-features = false` and one `#[perf_test]`, (b) criterion alone, (c) divan alone.
# Each crate is built from nothing (`cargo clean`, own target dir) ROUNDS times, the three
# interleaved round by round; prints wall
# time, crates in the dependency graph and compiled units, then ratios against criterion.
# Crates come from the registry; nothing is vendored. docs/measurements/build-cost.md has figures.
#
#   scripts/build-cost.sh [ROUNDS]      (default 2; heavy: run it with `nice`)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-2}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
unset CARGO_TARGET_DIR

# The measured function, the same in all three.
lib='pub fn fib(n: u64) -> u64 {
    if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
}'

new_crate() { # name, [dev-dependencies] lines
    mkdir -p "$work/$1/src"
    printf '%s\n' "$lib" >"$work/$1/src/lib.rs"
    cat >"$work/$1/Cargo.toml" <<TOML
[package]
name = "$1"
version = "0.1.0"
edition = "2021"

[dev-dependencies]
$2
TOML
}

new_crate with_perf_harness "perf-harness = { path = \"$repo/perf-harness\", default-features = false }"
mkdir -p "$work/with_perf_harness/tests"
cat >"$work/with_perf_harness/tests/perf.rs" <<'RS'
use perf_harness::perf_test;

#[perf_test]
fn fib_20() {
    std::hint::black_box(with_perf_harness::fib(std::hint::black_box(20)));
}
RS

new_crate with_criterion 'criterion = "0.8"'
printf '\n[[bench]]\nname = "fib"\nharness = false\n' >>"$work/with_criterion/Cargo.toml"
mkdir -p "$work/with_criterion/benches"
cat >"$work/with_criterion/benches/fib.rs" <<'RS'
use criterion::{criterion_group, criterion_main, Criterion};

fn fib_20(c: &mut Criterion) {
    c.bench_function("fib_20", |b| b.iter(|| with_criterion::fib(std::hint::black_box(20))));
}

criterion_group!(benches, fib_20);
criterion_main!(benches);
RS

new_crate with_divan 'divan = "0.1"'
printf '\n[[bench]]\nname = "fib"\nharness = false\n' >>"$work/with_divan/Cargo.toml"
mkdir -p "$work/with_divan/benches"
cat >"$work/with_divan/benches/fib.rs" <<'RS'
fn main() {
    divan::main();
}

#[divan::bench]
fn fib_20() -> u64 {
    with_divan::fib(divan::black_box(20))
}
RS

# Optimized test/bench executables, as `cargo perf` and `cargo bench` build them.
build_cmd() {
    case "$1" in
    with_perf_harness) echo "cargo test --release --no-run" ;;
    *) echo "cargo bench --no-run" ;;
    esac
}

for c in with_perf_harness with_criterion with_divan; do
    (cd "$work/$c" && cargo generate-lockfile --quiet && cargo fetch --quiet)
done

declare -A best units crates
printf '%-18s %5s %9s %8s %6s %s\n' crate round "time (s)" crates units "load avg (1 min) before"
for c in with_perf_harness with_criterion with_divan; do
    crates[$c]=$(cd "$work/$c" && cargo tree -e normal,dev,build --prefix none | sed 's/ (\*)$//' | sort -u | wc -l)
done
# Rounds interleave the three crates, so a machine that gets busier or quieter affects all alike.
for r in $(seq "$rounds"); do
    for c in with_perf_harness with_criterion with_divan; do
        cd "$work/$c"
        cargo clean --quiet
        load=$(cut -d' ' -f1 /proc/loadavg)
        start=$(date +%s.%N)
        $(build_cmd "$c") --message-format=json 2>/dev/null >"$work/$c.json"
        end=$(date +%s.%N)
        t=$(echo "$end - $start" | bc)
        units[$c]=$(grep -c '"reason":"compiler-artifact"' "$work/$c.json")
        printf '%-18s %5s %9.1f %8s %6s %s\n' "$c" "$r" "$t" "${crates[$c]}" "${units[$c]}" "$load"
        if [ -z "${best[$c]:-}" ] || [ "$(echo "$t < ${best[$c]}" | bc)" = 1 ]; then best[$c]=$t; fi
    done
done

echo
echo "best of $rounds, ratio to criterion (time; crates):"
for c in with_perf_harness with_criterion with_divan; do
    printf '%-18s %7.1f s  %5.2fx   %4s crates  %5.2fx\n' "$c" "${best[$c]}" \
        "$(echo "${best[$c]} / ${best[with_criterion]}" | bc -l)" "${crates[$c]}" \
        "$(echo "${crates[$c]} / ${crates[with_criterion]}" | bc -l)"
done
echo "cargo $(cargo --version | cut -d' ' -f2), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
