//! Shared helpers: where the fixtures are, running the real `cargo perf` on them, a service they
//! can share, and reading its output (stdout, stderr, JSON summaries and the result of one test).

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;

pub(crate) fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

pub(crate) fn cargo_perf_in(dir: &Path, args: &[&str]) -> Output {
    cargo_perf_env_in(dir, args, &[])
}

pub(crate) fn cargo_perf_env_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    cargo_perf_command(dir, args, env)
        .output()
        .expect("cargo-perf runs")
}

/// The `cargo perf ARGS` command in `dir` with `env`, not started (to run several at once).
pub(crate) fn cargo_perf_command(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-perf"));
    cmd.arg("perf")
        .args(args)
        .current_dir(dir)
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("CARGO_TARGET_DIR")
        // Runs of this suite on a CI service must not annotate or summarize the fixtures' results.
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("CI")
        // Nor run as a shard because the machine running the suite is a pod of an Indexed Job.
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("CARGO_PERF_SHARDS")
        .envs(env.iter().copied());
    cmd
}

pub(crate) fn cargo_perf(args: &[&str]) -> Output {
    cargo_perf_env(args, &[])
}

pub(crate) fn cargo_perf_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let manifest = fixtures().join("Cargo.toml");
    let mut all = vec!["--manifest-path", manifest.to_str().expect("utf-8 path")];
    all.extend_from_slice(args);
    cargo_perf_env_in(&fixtures(), &all, env)
}

pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub(crate) fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(o),
            stderr(o)
        )
    })
}

pub(crate) fn result<'a>(summary: &'a Value, name: &str) -> &'a Value {
    summary["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["record"]["test"]["name"] == name)
        .unwrap_or_else(|| panic!("no result for {name} in {summary:#}"))
}

pub(crate) fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?} is not JSON: {e}"))
}

/// Processes whose environment holds `marker` (a variable set on cargo perf only for this run,
/// which the test processes it starts inherit), so other runs of the same test do not count.
pub(crate) fn processes_running(marker: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|var| var == marker.as_bytes()))
        })
        .collect()
}

/// Runs `tests` of `package` as shard `shard` (`1/2`), its summary as JSON into `dir`.
pub(crate) fn run_shard(package: &str, tests: &[&str], shard: &str, dir: &Path) -> Output {
    let dir = dir.to_str().expect("utf-8");
    let mut args = vec!["-p", package, "--exact"];
    args.extend_from_slice(tests);
    args.extend(["--shard", shard, "--format", "json", "--report-dir", dir]);
    cargo_perf(&args)
}

/// `cargo perf merge` of the shards' report directories into `into`, the summary as JSON.
pub(crate) fn merge_shards(shards: &[&Path], into: &Path) -> Output {
    let mut args: Vec<&str> = vec!["merge"];
    args.extend(shards.iter().map(|d| d.to_str().expect("utf-8")));
    args.extend([
        "--format",
        "json",
        "--report-dir",
        into.to_str().expect("utf-8"),
    ]);
    cargo_perf_in(&fixtures(), &args)
}

/// A service several `cargo perf` processes (shards) or generator threads load: a real
/// HTTP/1.1 server on 127.0.0.1 (keep-alive, a thread per connection) that answers `/fail` with
/// 500 and anything else with 200, and counts the requests it answered and the paths it saw.
pub(crate) struct SharedService {
    pub(crate) url: String,
    seen: Arc<Seen>,
}

/// What the shared service saw.
#[derive(Default)]
struct Seen {
    answered: AtomicU64,
    paths: Mutex<BTreeSet<String>>,
}

impl SharedService {
    pub(crate) fn start() -> SharedService {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = Arc::new(Seen::default());
        let shared = Arc::clone(&seen);
        std::thread::spawn(move || {
            for socket in listener.incoming().flatten() {
                let seen = Arc::clone(&shared);
                std::thread::spawn(move || serve_connection(socket, &seen));
            }
        });
        SharedService { url, seen }
    }

    /// Requests answered so far.
    pub(crate) fn answered(&self) -> u64 {
        self.seen.answered.load(Ordering::Relaxed)
    }

    /// The distinct paths requested so far.
    pub(crate) fn paths(&self) -> BTreeSet<String> {
        self.seen
            .paths
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// Answers the requests of one connection until the client closes it.
fn serve_connection(mut socket: std::net::TcpStream, seen: &Seen) {
    let mut buf = vec![0u8; 8192];
    let mut filled = 0;
    loop {
        let Some(end) = buf[..filled].windows(4).position(|w| w == b"\r\n\r\n") else {
            match socket.read(&mut buf[filled..]) {
                Ok(0) | Err(_) => return,
                Ok(n) => filled += n,
            }
            if filled == buf.len() {
                return;
            }
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.copy_within(end + 4..filled, 0);
        filled -= end + 4;
        let path = head.split_whitespace().nth(1);
        if let Some(p) = path {
            let mut paths = seen
                .paths
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if !paths.contains(p) {
                paths.insert(p.to_string());
            }
        }
        let (status, body) = match path {
            Some("/fail") => ("500 Internal Server Error", "no"),
            _ => ("200 OK", "ok"),
        };
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if socket.write_all(response.as_bytes()).is_err() {
            return;
        }
        seen.answered.fetch_add(1, Ordering::Relaxed);
    }
}
