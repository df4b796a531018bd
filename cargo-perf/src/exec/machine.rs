//! Where and from what a run measured: the machine (CPU, cores, OS), the git commit and the
//! build, and what else the machine was doing while each test ran.
//!
//! Why measure the other processes' CPU ourselves: the statistics on a test's samples cannot
//! tell a slower build from a build that shared its cores with a compiler. The parent process
//! (cargo perf) reads the machine's busy time from `/proc/stat` around each test's process and
//! subtracts what that process and cargo perf itself used (`/proc/self/stat`: own and
//! waited-for children's CPU time, exact and race-free). What remains is other processes'. The
//! load average is recorded too, but not judged on: it is a one-minute moving average that
//! lags a build by tens of seconds and counts the test's own threads.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use perf_schema::record::MachineState;
use perf_schema::summary::Machine;

/// Other processes keeping at least this many cores busy make the machine *busy*: on the
/// 2-core machines this is built on, a quiet desktop or VM measures 0.0–0.2 cores and a build
/// 1.5–2.0, so half a core separates them with room for each; half a core is also where a
/// single-threaded test starts to be preempted on a small machine. A confirmation re-measures
/// only a machine below it.
pub const BUSY_CORES: f64 = 0.5;

/// Two measurements whose other processes' CPU differs by at least this many cores ran under
/// different conditions and are not compared (inconclusive): the same half core, so a quiet
/// side (below [`BUSY_CORES`]) and a side at twice that are always apart, while two runs
/// beside the same build (1.6 and 1.8 cores) still compare.
pub const DIFFERENT_CORES: f64 = 0.5;

/// The shortest window the CPU figures are taken over: `/proc/stat` counts in clock ticks
/// (10 ms), so a 50 ms test would measure other processes to ±0.4 cores; over 0.5 s the error
/// is below ±0.05. A shorter test's window is stretched after its process ends.
pub const MIN_WINDOW: Duration = Duration::from_millis(500);

/// The machine this process runs on, via sysinfo.
pub fn current() -> Machine {
    let mut sys = sysinfo::System::new();
    sys.refresh_cpu_list(sysinfo::CpuRefreshKind::nothing());
    let cpu = sys
        .cpus()
        .first()
        .map(|c| c.brand().trim().to_string())
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = sys.cpus().len().max(1);
    let os = sysinfo::System::long_os_version()
        .or_else(sysinfo::System::name)
        .unwrap_or_else(|| std::env::consts::OS.into());
    Machine {
        cpu,
        cores,
        os,
        arch: std::env::consts::ARCH.into(),
    }
}

/// Cumulative CPU counters at one instant, in clock ticks (`USER_HZ`, the unit of both
/// `/proc/stat` and `/proc/self/stat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTicks {
    /// All CPUs' busy time: user, nice, system, irq, softirq (not idle, iowait or steal).
    pub busy: u64,
    /// All CPUs' time of every kind: busy, idle, iowait and steal.
    pub total: u64,
    /// Logical CPUs listed in `/proc/stat`.
    pub cpus: usize,
    /// This process's own user and system time.
    pub own: u64,
    /// User and system time of its children that have been waited for.
    pub children: u64,
}

impl CpuTicks {
    /// The counters now; `None` where `/proc` does not have them (not Linux).
    pub fn now() -> Option<CpuTicks> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let own = std::fs::read_to_string("/proc/self/stat").ok()?;
        let (busy, total, cpus) = parse_proc_stat(&stat)?;
        let (own, children) = parse_self_stat(&own)?;
        Some(CpuTicks {
            busy,
            total,
            cpus,
            own,
            children,
        })
    }
}

/// Busy ticks, all ticks and the number of CPUs from `/proc/stat`'s aggregate `cpu` line
/// (`user nice system idle iowait irq softirq steal guest guest_nice`; guest time is already
/// inside user and nice).
pub fn parse_proc_stat(text: &str) -> Option<(u64, u64, usize)> {
    let mut lines = text.lines();
    let first = lines.next()?;
    let mut fields = first.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let v: Vec<u64> = fields
        .take(8)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    if v.len() < 5 {
        return None;
    }
    let at = |i: usize| v.get(i).copied().unwrap_or(0);
    let busy = at(0) + at(1) + at(2) + at(5) + at(6);
    let total = v.iter().sum();
    let cpus = text
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count();
    Some((busy, total, cpus.max(1)))
}

/// This process's CPU time and its waited-for children's from `/proc/self/stat`: fields 14–15
/// (utime, stime) and 16–17 (cutime, cstime), counted after the `)` that closes the command
/// name (which may itself contain spaces and parentheses).
pub fn parse_self_stat(text: &str) -> Option<(u64, u64)> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): field n is f[n - 3].
    let num = |n: usize| f.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    Some((num(14)? + num(15)?, num(16)? + num(17)?))
}

/// Cores used by other processes and by the waited-for test process between two snapshots
/// (each averaged over the window); `None` when no time passed.
pub fn cores_between(a: &CpuTicks, b: &CpuTicks) -> Option<(f64, f64)> {
    let total = b.total.checked_sub(a.total).filter(|t| *t > 0)? as f64;
    let per_core = total / b.cpus.max(1) as f64;
    let busy = b.busy.saturating_sub(a.busy) as f64;
    let test = b.children.saturating_sub(a.children) as f64;
    let own = b.own.saturating_sub(a.own) as f64;
    let other = ((busy - test - own) / per_core).max(0.0);
    Some((other, test / per_core))
}

/// The 1-minute load average; `None` where there is none (Windows).
pub fn load_average_1m() -> Option<f64> {
    if cfg!(windows) {
        return None;
    }
    Some(sysinfo::System::load_average().one).filter(|l| l.is_finite() && *l >= 0.0)
}

/// Measures the machine's state around one test's process: start it before spawning the
/// process, finish it after the process was waited for.
pub struct Watch {
    started: Instant,
    ticks: Option<CpuTicks>,
    load_start: Option<f64>,
}

impl Watch {
    /// Takes the starting counters.
    pub fn start() -> Watch {
        Watch {
            load_start: load_average_1m(),
            ticks: CpuTicks::now(),
            started: Instant::now(),
        }
    }

    /// Takes the ending counters, first stretching the window to [`MIN_WINDOW`] when the CPU
    /// counters exist.
    pub fn finish(self) -> MachineState {
        let elapsed = self.started.elapsed();
        if self.ticks.is_some() && elapsed < MIN_WINDOW {
            std::thread::sleep(MIN_WINDOW - elapsed);
        }
        let end = CpuTicks::now();
        let cores = self.ticks.zip(end).and_then(|(a, b)| cores_between(&a, &b));
        MachineState {
            load_avg_1m_start: self.load_start,
            load_avg_1m_end: load_average_1m(),
            other_cpu_cores: cores.map(|c| c.0),
            test_cpu_cores: cores.map(|c| c.1),
            window_s: self.started.elapsed().as_secs_f64(),
        }
    }
}

/// Cores other processes kept busy over the next `window` (this process sleeps meanwhile);
/// `None` where it cannot be measured.
pub fn other_cores_over(window: Duration) -> Option<f64> {
    let a = CpuTicks::now()?;
    std::thread::sleep(window);
    let b = CpuTicks::now()?;
    cores_between(&a, &b).map(|c| c.0)
}

/// Whether the machine calmed down before a re-measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Settled {
    /// Other processes took fewer than [`BUSY_CORES`] (the last sample).
    Quiet(f64),
    /// They still took this many cores when the wait ended.
    Busy(f64),
    /// Not measurable here (not Linux), or no time left to wait.
    Unknown,
}

/// Waits, up to `max_wait`, for other processes to take fewer than [`BUSY_CORES`], sampling
/// half-second windows; `say` is told once what it waits for, and once if it gives up.
pub fn wait_for_quiet(max_wait: Duration, what_for: &str, mut say: impl FnMut(String)) -> Settled {
    let window = Duration::from_millis(500);
    let started = Instant::now();
    if max_wait < window {
        return Settled::Unknown;
    }
    let mut told = false;
    loop {
        let Some(cores) = other_cores_over(window) else {
            return Settled::Unknown;
        };
        if cores < BUSY_CORES {
            if told {
                say(format!(
                    "other processes now take {cores:.1} cores after {:.0} s; {what_for}",
                    started.elapsed().as_secs_f64()
                ));
            }
            return Settled::Quiet(cores);
        }
        if started.elapsed() + window > max_wait {
            say(format!(
                "other processes still take {cores:.1} cores after {:.0} s; {what_for} anyway \
                 (a busy re-measurement cannot confirm)",
                started.elapsed().as_secs_f64()
            ));
            return Settled::Busy(cores);
        }
        if !told {
            say(format!(
                "other processes take {cores:.1} cores; waiting up to {:.0} s for them to drop \
                 below {BUSY_CORES} before {what_for}",
                max_wait.as_secs_f64()
            ));
            told = true;
        }
    }
}

/// `on a quiet machine (other processes: 0.1 cores)` or `while other processes took 1.7 cores`.
pub fn describe_state(other_cores: f64) -> String {
    if other_cores < BUSY_CORES {
        format!("on a quiet machine (other processes: {other_cores:.1} cores)")
    } else {
        format!("while other processes took {other_cores:.1} cores")
    }
}

/// Why a baseline and a new measurement ran under conditions too different to compare, if
/// they did: other processes' CPU differing by [`DIFFERENT_CORES`] or more. Unknown on either
/// side (an older baseline, not Linux) is not a difference.
pub fn different_conditions(
    base: Option<&MachineState>,
    new: Option<&MachineState>,
) -> Option<String> {
    let other = |s: Option<&MachineState>| s.and_then(|s| s.other_cpu_cores);
    let (b, n) = (other(base)?, other(new)?);
    ((b - n).abs() >= DIFFERENT_CORES).then(|| {
        format!(
            "the baseline ran {}, this run {}",
            describe_state(b),
            describe_state(n)
        )
    })
}

/// Whether other processes took at least [`BUSY_CORES`] while a test ran; `None` if unknown.
pub fn busy(state: Option<&MachineState>) -> Option<bool> {
    state
        .and_then(|s| s.other_cpu_cores)
        .map(|c| c >= BUSY_CORES)
}

/// FNV-1a 64 of a file's bytes, as 16 hex digits; `None` if it cannot be read. Cached per path,
/// size and modification time, so each test executable is read once per run.
pub fn build_hash(exe: &Path) -> Option<String> {
    type Cache = Mutex<HashMap<(PathBuf, u64, Option<std::time::SystemTime>), String>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let meta = std::fs::metadata(exe).ok()?;
    let key = (exe.to_path_buf(), meta.len(), meta.modified().ok());
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Some(hit);
    }
    let bytes = std::fs::read(exe).ok()?;
    let hash = format!("{:016x}", fnv1a(&bytes));
    if let Ok(mut c) = cache.lock() {
        c.insert(key, hash.clone());
    }
    Some(hash)
}

/// FNV-1a, 64 bits: stable across Rust versions (unlike `DefaultHasher`), so stored hashes of
/// two runs compare.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// `git rev-parse HEAD` in `dir`; `None` outside a repository or without git (never an error).
pub fn git_commit(dir: &Path) -> Option<String> {
    git_line(dir, &["rev-parse", "HEAD"])
}

/// The top directory of the git checkout holding `dir`, if any.
pub fn git_toplevel(dir: &Path) -> Option<std::path::PathBuf> {
    git_line(dir, &["rev-parse", "--show-toplevel"]).map(std::path::PathBuf::from)
}

fn git_line(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let commit = text.trim();
    (!commit.is_empty()).then(|| commit.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_machine_has_a_cpu_and_cores() {
        let m = current();
        assert!(m.cores >= 1);
        assert!(!m.cpu.is_empty());
        assert!(!m.os.is_empty());
    }

    const PROC_STAT: &str = "cpu  1000 20 300 5000 40 5 6 7 0 0\n\
cpu0 500 10 150 2500 20 3 3 4 0 0\n\
cpu1 500 10 150 2500 20 2 3 3 0 0\n\
intr 12345\n\
ctxt 678\n";

    #[test]
    fn proc_stat_busy_time_leaves_out_idle_iowait_and_steal() {
        // busy = user 1000 + nice 20 + system 300 + irq 5 + softirq 6; total adds idle 5000,
        // iowait 40, steal 7.
        assert_eq!(parse_proc_stat(PROC_STAT), Some((1331, 6378, 2)));
        assert_eq!(parse_proc_stat("intr 1\n"), None);
        assert_eq!(parse_proc_stat("cpu 1 x 3\n"), None);
    }

    #[test]
    fn self_stat_fields_are_counted_after_the_command_name() {
        // A command name with a space and a parenthesis; utime 11, stime 12, cutime 300,
        // cstime 44 are fields 14 to 17.
        let text = "4242 (cargo perf) x) S 1 4242 4242 0 -1 4194560 900 0 0 0 11 12 300 44 20 0 \
                    3 0 100 2000000 500";
        assert_eq!(parse_self_stat(text), Some((23, 344)));
        assert_eq!(parse_self_stat("4242 (short) S 1"), None);
        assert_eq!(parse_self_stat("no parenthesis"), None);
    }

    #[test]
    fn other_processes_get_the_busy_time_the_test_and_we_did_not_use() {
        let a = CpuTicks {
            busy: 1_000,
            total: 10_000,
            cpus: 2,
            own: 50,
            children: 700,
        };
        // One second on 2 CPUs at 100 ticks/s: 200 ticks. 190 busy, of which the test took
        // 100 (one core) and cargo perf 4: other processes 86 ticks = 0.86 cores.
        let b = CpuTicks {
            busy: 1_190,
            total: 10_200,
            own: 54,
            children: 800,
            ..a
        };
        let (other, test) = cores_between(&a, &b).expect("time passed");
        assert!((other - 0.86).abs() < 1e-12, "{other}");
        assert!((test - 1.0).abs() < 1e-12, "{test}");
        // Accounting slack never makes other processes negative; no time, no figure.
        let idle = CpuTicks {
            busy: 1_090,
            children: 800,
            ..b
        };
        assert_eq!(cores_between(&a, &idle).map(|c| c.0), Some(0.0));
        assert_eq!(cores_between(&a, &a), None);
    }

    fn state(other: f64) -> MachineState {
        MachineState {
            load_avg_1m_start: Some(0.3),
            load_avg_1m_end: Some(0.4),
            other_cpu_cores: Some(other),
            test_cpu_cores: Some(1.0),
            window_s: 2.0,
        }
    }

    #[test]
    fn half_a_core_apart_is_a_different_condition() {
        let quiet = state(0.1);
        assert_eq!(
            different_conditions(Some(&quiet), Some(&state(1.7))).as_deref(),
            Some(
                "the baseline ran on a quiet machine (other processes: 0.1 cores), this run \
                 while other processes took 1.7 cores"
            )
        );
        assert_eq!(
            different_conditions(Some(&state(1.8)), Some(&quiet)).as_deref(),
            Some(
                "the baseline ran while other processes took 1.8 cores, this run on a quiet \
                 machine (other processes: 0.1 cores)"
            )
        );
        // 0.5 apart is different; less is not, busy or quiet alike.
        assert!(different_conditions(Some(&state(0.0)), Some(&state(0.5))).is_some());
        assert!(different_conditions(Some(&state(0.0)), Some(&state(0.49))).is_none());
        assert!(different_conditions(Some(&state(1.6)), Some(&state(1.8))).is_none());
        // Unknown on a side (an older baseline, not Linux) compares as before.
        assert!(different_conditions(None, Some(&state(1.7))).is_none());
        let unknown = MachineState {
            other_cpu_cores: None,
            ..quiet
        };
        assert!(different_conditions(Some(&unknown), Some(&state(1.7))).is_none());
        assert_eq!(busy(Some(&state(0.5))), Some(true));
        assert_eq!(busy(Some(&state(0.49))), Some(false));
        assert_eq!(busy(None), None);
    }

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        // From the FNV reference (draft-eastlake-fnv): "" and "a" and "foobar".
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
        let dir = tempfile::tempdir().expect("tempdir");
        let exe = dir.path().join("t");
        std::fs::write(&exe, b"foobar").expect("write");
        assert_eq!(build_hash(&exe).as_deref(), Some("85944171f73967e8"));
        assert_eq!(build_hash(&dir.path().join("missing")), None);
    }

    #[test]
    fn a_watch_on_linux_measures_a_window_of_at_least_half_a_second() {
        let state = Watch::start().finish();
        assert!(state.window_s >= 0.0);
        if cfg!(target_os = "linux") {
            // Only the shape: what the machine did is not asserted.
            assert!(state.window_s >= MIN_WINDOW.as_secs_f64());
            assert!(state.other_cpu_cores.is_some_and(|c| c >= 0.0));
            assert!(state.load_avg_1m_start.is_some());
        }
    }

    #[test]
    fn no_repository_means_no_commit() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A temp dir may sit inside a repository on some machines; only check it never fails.
        let _ = git_commit(dir.path());
        assert_eq!(git_commit(Path::new("/nonexistent/dir")), None);
    }
}
