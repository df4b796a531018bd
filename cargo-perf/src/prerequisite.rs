//! What a test does when the machine lacks something it needs (a server, a tool, a git clone).
//! Under CI it fails: CI promises to provide everything (`.ci/run` installs and starts it first),
//! so a broken install step must not hide behind a passing test. Elsewhere it prints
//! `skipped: <reason>` and passes, since a contributor's machine may lack these.
//!
//! One copy per test crate, byte for byte the same: cargo-perf/src/prerequisite.rs,
//! perf-harness/tests/prerequisite/mod.rs, examples/tests/prerequisite/mod.rs (`.ci/run` compares
//! them).

/// Reports that `what` is missing. Under CI (`CI` set, and not empty, `0` or `false`) this
/// panics with `what`, how CI provides it (`in_ci`) and the local fix (`locally`); otherwise it
/// prints `skipped: <what>; <locally>` and returns, and the caller returns without testing.
pub fn missing(what: &str, in_ci: &str, locally: &str) {
    match strict_ci() {
        Some(ci) => panic!("CI={ci} and {what}: {in_ci}; locally, {locally}, or unset CI"),
        None => eprintln!("skipped: {what}; {locally}"),
    }
}

/// The value of `CI` when it asks for strict tests.
fn strict_ci() -> Option<String> {
    let ci = std::env::var("CI").ok()?;
    let off = matches!(ci.trim().to_ascii_lowercase().as_str(), "" | "0" | "false");
    (!off).then_some(ci)
}
