//! Running the selected perf tests one at a time, each in its own process, and collecting records.
//!
//! A test that panics, errors or crashes its process becomes a failed record with the reason;
//! the other tests still run. In baseline mode each record also gets the machine's state while
//! its process ran (`machine::Watch`): cargo perf waits for one child at a time, so the CPU of
//! its waited-for children between two snapshots is exactly the test's.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use perf_schema::document::parse_versioned;
use perf_schema::protocol::{
    ENV_CRITERION_HOME, ENV_MODE, ENV_OUT, ENV_PACKAGE, ENV_PROGRESS, ENV_QUICK, ENV_RATE,
    ENV_ROUND, ENV_SERVICE_PID, ENV_SHARD, ENV_TARGET, ENV_TEST, ENV_USERS, ENV_WORKERS,
    EXIT_PROTOCOL_ERROR,
};
use perf_schema::record::{Record, Status, RECORD_SCHEMA};
use perf_schema::spec::Kind;

use crate::exec::progress::Progress;
use crate::project::discover::Found;

/// The running test process's id, 0 when none: an interruption of cargo perf is passed on to it.
static RUNNING: AtomicU32 = AtomicU32::new(0);

/// Passes an interruption (Ctrl-C, SIGTERM, a CI runner's cancel) on to the running test
/// process as SIGINT: a load test stops gracefully and writes what it measured; the others end.
/// Sent to cargo perf alone (not its process group), the test would otherwise run to its end.
pub fn interrupt_running() {
    let pid = RUNNING.load(Ordering::SeqCst);
    #[cfg(unix)]
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        if pid > 0 {
            // SAFETY: kill(2) has no memory effects; a process that already ended gets nothing.
            unsafe { libc::kill(pid, libc::SIGINT) };
        }
    }
    #[cfg(not(unix))]
    let _ = pid;
}

/// Settings shared by every test of a run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// `--quick`.
    pub quick: bool,
    /// Criterion's home: `target/criterion`.
    pub criterion_home: PathBuf,
    /// Scratch directory for the binaries' answers.
    pub scratch: PathBuf,
    /// Let the binaries' output through (`--verbose`).
    pub verbose: bool,
    /// Arguments after `--`.
    pub binary_args: Vec<String>,
    /// Extra environment for the test processes (`CARGO_PERF_ROUND` in paired mode).
    pub env: Vec<(String, String)>,
    /// `--base-url`: the service load tests talk to.
    pub base_url: Option<String>,
}

/// A finished test: its record, or an infrastructure problem that prevented one.
pub struct Ran {
    /// The record (a failed one when the test could not be measured).
    pub record: Record,
    /// Set when the harness protocol itself failed (exit status 2 for the run).
    pub infrastructure_error: bool,
}

/// Runs `tests` in order, reporting progress.
pub fn run_all(tests: &[Found], config: &RunConfig, progress: &Progress) -> Vec<Ran> {
    tests
        .iter()
        .enumerate()
        .take_while(|_| !crate::interrupted())
        .map(|(i, found)| {
            progress.start(i, tests.len(), &found.test.id.name);
            let started = Instant::now();
            let live = live_file(i, found, config);
            let ran = match &live {
                Some(path) => watch(path, progress, || run_one_observed(i, found, config)),
                None => run_one_observed(i, found, config),
            };
            progress.finish(&ran.record, started.elapsed());
            ran
        })
        .collect()
}

/// The file a load test rewrites with its live line, unless its own output goes to the
/// terminal (`--verbose`: it draws the line itself).
fn live_file(i: usize, found: &Found, config: &RunConfig) -> Option<PathBuf> {
    (found.test.spec.kind == Kind::Load && !config.verbose)
        .then(|| config.scratch.join(format!("progress-{i}.txt")))
}

/// Runs `run` while a watcher shows the test's live line in the progress display.
fn watch<T>(path: &Path, progress: &Progress, run: impl FnOnce() -> T) -> T {
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut last = String::new();
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(250));
                if let Ok(line) = std::fs::read_to_string(path) {
                    if line != last {
                        progress.live(&line);
                        last = line;
                    }
                }
            }
        });
        let out = run();
        done.store(true, Ordering::Relaxed);
        out
    })
}

/// Baseline mode: [`run_one`], with the build's hash and the machine's state while the test's
/// process ran (load average, other processes' CPU) in the record.
pub fn run_one_observed(i: usize, found: &Found, config: &RunConfig) -> Ran {
    let build_hash = crate::exec::machine::build_hash(&found.binary.exe);
    let watch = crate::exec::machine::Watch::start();
    let mut ran = run_one(i, found, config);
    ran.record.machine_state = Some(watch.finish());
    ran.record.build_hash = build_hash;
    ran
}

/// Runs one test in its own process; `i` keeps its answer file apart from the others'.
pub fn run_one(i: usize, found: &Found, config: &RunConfig) -> Ran {
    let out = config.scratch.join(format!("record-{i}.json"));
    let b = &found.binary;
    let mut cmd = Command::new(&b.exe);
    cmd.args(&config.binary_args)
        .current_dir(&b.package_dir)
        .env(ENV_MODE, "run")
        .env(ENV_TEST, &found.test.id.name)
        .env(ENV_OUT, &out)
        .env(ENV_PACKAGE, &b.package)
        .env(ENV_TARGET, &b.target)
        .env(ENV_CRITERION_HOME, &config.criterion_home)
        .env("CARGO_MANIFEST_DIR", &b.package_dir)
        .env("CARGO_PKG_NAME", &b.package)
        .stdin(Stdio::null());
    // Only this run decides a test's share, speed and round: variables inherited from the
    // environment (an outer `cargo perf`, a Job that sets CARGO_PERF_SHARD) must not.
    for inherited in [
        ENV_SHARD,
        ENV_QUICK,
        ENV_ROUND,
        ENV_PROGRESS,
        ENV_RATE,
        ENV_USERS,
        ENV_WORKERS,
        ENV_SERVICE_PID,
    ] {
        cmd.env_remove(inherited);
    }
    cmd.envs(config.env.iter().map(|(k, v)| (k, v)));
    if config.quick {
        cmd.env(ENV_QUICK, "1");
    }
    if let Some(path) = live_file(i, found, config) {
        cmd.env(ENV_PROGRESS, path);
    }
    if let Some(url) = &config.base_url {
        cmd.env(perf_schema::protocol::ENV_BASE_URL, url);
    }
    let output = spawn_and_wait(cmd, config.verbose);
    let failed = |message: String, infrastructure_error: bool| Ran {
        record: failed_record(found, message),
        infrastructure_error,
    };
    let output = match output {
        Ok(o) => o,
        Err(e) => return failed(format!("cannot start {}: {e}", b.exe.display()), true),
    };
    match read_record(&out) {
        Some(Ok(mut record)) => {
            // The binary knows its test; we know where it came from.
            record.test.package.clone_from(&b.package);
            record.test.target.clone_from(&b.target);
            Ran {
                infrastructure_error: record.infrastructure,
                record,
            }
        }
        Some(Err(message)) => failed(message, true),
        None => {
            let protocol = output.status.code() == Some(EXIT_PROTOCOL_ERROR);
            let message = format!(
                "the test binary {} before writing a result{}",
                describe_exit(&output),
                stderr_tail(&output.stderr)
            );
            failed(message, protocol)
        }
    }
}

/// Runs the test process to its end, registered as the one an interruption is passed on to.
/// A test started just as cargo perf was interrupted is interrupted at once.
fn spawn_and_wait(mut cmd: Command, verbose: bool) -> std::io::Result<Output> {
    if !verbose {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    }
    let child = cmd.spawn()?;
    RUNNING.store(child.id(), Ordering::SeqCst);
    if crate::interrupted() {
        interrupt_running();
    }
    let output = child.wait_with_output();
    RUNNING.store(0, Ordering::SeqCst);
    output
}

fn read_record(path: &Path) -> Option<Result<Record, String>> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(
        parse_versioned::<Record>(&text, RECORD_SCHEMA, &path.display().to_string())
            .map_err(|e| e.to_string()),
    )
}

/// The record of a test that could not be measured, with the reason.
pub fn failed_record(found: &Found, message: String) -> Record {
    Record::new(
        found.test.id.clone(),
        found.test.spec.clone(),
        Status::Failed { message },
    )
}

fn describe_exit(output: &Output) -> String {
    if let Some(code) = output.status.code() {
        return format!("exited with status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = output.status.signal() {
            let name = match signal {
                6 => " (SIGABRT: an abort, e.g. a panic while panicking or a stack overflow)",
                9 => " (SIGKILL: killed, e.g. out of memory)",
                11 => " (SIGSEGV: invalid memory access)",
                _ => "",
            };
            return format!("was killed by signal {signal}{name}");
        }
    }
    "stopped".into()
}

fn stderr_tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let tail = &lines[lines.len().saturating_sub(12)..];
    format!("; its last output:\n    {}", tail.join("\n    "))
}
