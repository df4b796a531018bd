# Sourced by the measurement scripts that run cargo perf as a user does: on a crate outside this
# repository, against the load bench's HTTP server. Expects `repo` (this repository's root).

# Builds the release cargo-perf and the bench server; sets `cargo_perf` and `bin` (the server).
build_tools() {
  echo "== building cargo-perf and the bench server (release)"
  cargo build --release --quiet --manifest-path "$repo/Cargo.toml" -p cargo-perf
  bin="$(cargo bench --manifest-path "$repo/Cargo.toml" -p perf-harness --bench load --no-run \
    --message-format=json 2>/dev/null | grep -o '"executable":"[^"]*load-[^"]*"' | tail -1 \
    | cut -d'"' -f4)"
  cargo_perf="${CARGO_TARGET_DIR:-$repo/target}/release/cargo-perf"
}

# new_crate DIR: a package named after DIR's last part, depending on this perf-harness, with an
# empty tests/ for the caller to fill.
new_crate() {
  local dir="$1"
  echo "== a crate outside the repository: $dir"
  mkdir -p "$dir/tests"
  cat > "$dir/Cargo.toml" <<TOML
[package]
name = "$(basename "$dir")"
version = "0.1.0"
edition = "2021"
publish = false

[dev-dependencies]
perf-harness = { path = "$repo/perf-harness" }

[workspace]
TOML
}
