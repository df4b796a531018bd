//! CPU, memory, open file descriptors and threads of this process, and of the service's own
//! process when `cargo perf --service-pid` names one, sampled once a second during a load test:
//! on Linux from `/proc/PID/stat` and `/proc/PID/fd` (about 20 µs; sysinfo took about 2 ms a
//! sample, which delayed the scheduler's slots on the generator's core), elsewhere CPU and
//! memory with sysinfo.

use perf_schema::record::load::{ProcessTick, ServiceProcess};

/// The samples of one run and what the next one is compared with.
pub struct Resources {
    /// CPU time reader.
    clock: Clock,
    /// CPU % of one core at each sample.
    pub cpu: Vec<f64>,
    /// The highest RSS sampled, in bytes.
    pub peak_rss: Option<u64>,
    /// The service's process, when watched.
    service: Option<Watched>,
}

/// The service's process and what was read of it.
struct Watched {
    pid: u32,
    clock: Clock,
    cpu: Vec<f64>,
    peak_rss: Option<u64>,
    /// Whether a reading found it gone.
    gone: bool,
}

/// One reading of the process; each figure is `None` where the platform does not give it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    /// CPU % of one core since the previous reading.
    pub cpu_percent: Option<f64>,
    /// Resident memory, bytes.
    pub rss_bytes: Option<u64>,
    /// Open file descriptors.
    pub open_fds: Option<u64>,
    /// Threads.
    pub threads: Option<u64>,
}

impl Resources {
    /// Starts sampling this process, and the service's when `CARGO_PERF_SERVICE_PID` names one:
    /// the first CPU reading has nothing to compare with, so it is taken now.
    pub fn new() -> Resources {
        let service = std::env::var(perf_schema::protocol::ENV_SERVICE_PID)
            .ok()
            .and_then(|v| v.trim().parse::<u32>().ok())
            .map(|pid| Watched {
                pid,
                clock: Clock::of(Some(pid)),
                cpu: Vec::new(),
                peak_rss: None,
                gone: false,
            });
        Resources {
            clock: Clock::of(None),
            cpu: Vec::new(),
            peak_rss: None,
            service,
        }
    }

    /// Reads the service's process, when watched: `None` when it is not, `Some(None)` once it
    /// is gone.
    pub fn sample_service(&mut self) -> Option<Option<ProcessTick>> {
        let w = self.service.as_mut()?;
        if w.gone {
            return Some(None);
        }
        let Some(s) = w.clock.read() else {
            w.gone = true;
            return Some(None);
        };
        w.cpu.extend(s.cpu_percent);
        if let Some(rss) = s.rss_bytes {
            w.peak_rss = Some(w.peak_rss.unwrap_or(0).max(rss));
        }
        Some(Some(ProcessTick {
            cpu_percent: s.cpu_percent,
            rss_bytes: s.rss_bytes,
            open_fds: s.open_fds,
            threads: s.threads,
        }))
    }

    /// The service's process over the run, when watched; `exited_after_s` is the caller's (it
    /// knows the timeline).
    pub fn service_summary(&self) -> Option<ServiceProcess> {
        let w = self.service.as_ref()?;
        Some(ServiceProcess {
            pid: w.pid,
            cpu_percent: (!w.cpu.is_empty())
                .then(|| w.cpu.iter().sum::<f64>() / w.cpu.len() as f64),
            peak_rss_bytes: w.peak_rss,
            exited_after_s: None,
        })
    }

    /// CPU % of one core since the previous sample, the current RSS, descriptors and threads.
    pub fn sample(&mut self) -> Sample {
        let Some(sample) = self.clock.read() else {
            return Sample::default();
        };
        self.cpu.extend(sample.cpu_percent);
        if let Some(rss) = sample.rss_bytes {
            self.peak_rss = Some(self.peak_rss.unwrap_or(0).max(rss));
        }
        sample
    }
}

#[cfg(target_os = "linux")]
use linux::Clock;
#[cfg(not(target_os = "linux"))]
use portable::Clock;

#[cfg(target_os = "linux")]
mod linux {
    //! `/proc/self/stat`: user and system time in clock ticks, RSS in pages, threads;
    //! `/proc/self/fd`: one entry per open descriptor.

    use std::time::Instant;

    use super::Sample;

    /// The shortest window a CPU figure is given for, in seconds.
    const MIN_WINDOW_S: f64 = 0.5;

    /// The previous reading of a process's CPU time.
    pub struct Clock {
        /// `/proc/self` or `/proc/PID`.
        dir: String,
        /// Whether it is this process (its reading of `fd` holds one descriptor more).
        own: bool,
        /// CPU seconds and when they were read.
        last: Option<(f64, Instant)>,
        /// Clock ticks per second and bytes per page.
        tick_hz: f64,
        page_bytes: u64,
    }

    impl Clock {
        /// A clock of this process (`None`) or of `pid`, with a first reading taken.
        pub fn of(pid: Option<u32>) -> Clock {
            // SAFETY: sysconf only reads configuration values.
            let (hz, page) = unsafe {
                (
                    libc::sysconf(libc::_SC_CLK_TCK),
                    libc::sysconf(libc::_SC_PAGESIZE),
                )
            };
            let mut clock = Clock {
                dir: pid.map_or_else(|| "/proc/self".to_string(), |p| format!("/proc/{p}")),
                own: pid.is_none(),
                last: None,
                tick_hz: if hz > 0 { hz as f64 } else { 100.0 },
                page_bytes: if page > 0 { page as u64 } else { 4096 },
            };
            let _ = clock.read();
            clock
        }

        /// CPU % of one core since the previous reading, RSS, open descriptors and threads.
        /// No CPU figure at the first reading, nor after less than [`MIN_WINDOW_S`] (the ticks
        /// are 10 ms: the last, short window of a run could read 300 %); the CPU time then
        /// counts in the next window.
        pub fn read(&mut self) -> Option<Sample> {
            let text = std::fs::read_to_string(format!("{}/stat", self.dir)).ok()?;
            let stat = parse_stat(&text)?;
            // A zombie (exited, not yet reaped) or dead process is gone.
            if matches!(stat.state, 'Z' | 'X' | 'x') {
                return None;
            }
            let (cpu_s, now) = (stat.cpu_ticks as f64 / self.tick_hz, Instant::now());
            let mut sample = Sample {
                cpu_percent: None,
                rss_bytes: Some(stat.rss_pages * self.page_bytes),
                open_fds: open_fds(&self.dir, self.own),
                threads: Some(stat.threads),
            };
            let Some((before_s, then)) = self.last else {
                self.last = Some((cpu_s, now));
                return Some(sample);
            };
            let wall_s = now.duration_since(then).as_secs_f64();
            if wall_s >= MIN_WINDOW_S {
                self.last = Some((cpu_s, now));
                sample.cpu_percent = Some(100.0 * (cpu_s - before_s).max(0.0) / wall_s);
            }
            Some(sample)
        }
    }

    /// The descriptors a process holds open (for this process, the directory's own, open while
    /// it is read, not counted).
    fn open_fds(dir: &str, own: bool) -> Option<u64> {
        let entries = std::fs::read_dir(format!("{dir}/fd")).ok()?.count() as u64;
        Some(entries.saturating_sub(u64::from(own)))
    }

    /// What a `/proc/PID/stat` line gives.
    #[derive(Debug, PartialEq, Eq)]
    pub struct Stat {
        /// state (field 3): `R`, `S`, `Z` (zombie) ...
        pub state: char,
        /// utime + stime (fields 14 and 15), clock ticks.
        pub cpu_ticks: u64,
        /// num_threads (field 20).
        pub threads: u64,
        /// rss (field 24), pages.
        pub rss_pages: u64,
    }

    /// The fields of a `/proc/PID/stat` line; the command name (field 2) may hold spaces and
    /// parentheses, so fields are counted after its last `)`.
    pub fn parse_stat(stat: &str) -> Option<Stat> {
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // `rest` starts at field 3 (state).
        let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
        Some(Stat {
            state: fields.first()?.chars().next()?,
            cpu_ticks: field(14)? + field(15)?,
            threads: field(20)?,
            rss_pages: field(24)?,
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_stat_line_gives_cpu_ticks_and_rss_pages() {
            let line = "4242 (my (odd) test) R 1 4242 4242 0 -1 4194304 2000 0 0 0 \
                        150 25 0 0 20 0 3 0 123456 104857600 1234 18446744073709551615";
            assert_eq!(
                parse_stat(line),
                Some(Stat {
                    state: 'R',
                    cpu_ticks: 175,
                    threads: 3,
                    rss_pages: 1234
                })
            );
            assert_eq!(parse_stat("4242 (cut"), None);
            assert_eq!(parse_stat("4242 (short) R 1 2"), None);
        }

        #[test]
        fn this_process_reads_back() {
            let mut clock = Clock::of(None);
            let sample = clock.read().expect("/proc/self/stat");
            assert!(
                sample.cpu_percent.is_none() && sample.rss_bytes.is_some_and(|r| r > 0),
                "no CPU figure right after the first reading"
            );
            assert!(sample.threads.is_some_and(|t| t >= 1));
            // Open a file: the count goes up by one.
            let before = sample.open_fds.expect("fds");
            let file = std::fs::File::open("/proc/self/stat").expect("open");
            assert_eq!(clock.read().and_then(|s| s.open_fds), Some(before + 1));
            drop(file);
        }

        #[test]
        fn another_process_reads_until_it_is_gone() {
            let mut child = std::process::Command::new("sleep")
                .arg("30")
                .spawn()
                .expect("sleep runs");
            // Until its new image is mapped in, a child just spawned may read 0 pages.
            std::thread::sleep(std::time::Duration::from_millis(50));
            let mut clock = Clock::of(Some(child.id()));
            let sample = clock.read().expect("a running process");
            assert!(sample.rss_bytes.is_some_and(|r| r > 0));
            assert_eq!(sample.threads, Some(1));
            // Its standard descriptors at least, none taken off for a directory handle.
            assert!(sample.open_fds.is_some_and(|n| n >= 3), "{sample:?}");
            child.kill().expect("kill");
            // Killed, not yet reaped: a zombie, which is gone.
            std::thread::sleep(std::time::Duration::from_millis(100));
            assert_eq!(clock.read(), None);
            child.wait().expect("reaped");
            assert_eq!(clock.read(), None);
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod portable {
    //! sysinfo, for systems without `/proc`.

    /// sysinfo's view of this process.
    pub struct Clock {
        system: sysinfo::System,
        pid: Option<sysinfo::Pid>,
    }

    impl Clock {
        /// A clock of this process (`None`) or of `pid`, with a first reading taken.
        pub fn of(pid: Option<u32>) -> Clock {
            let mut clock = Clock {
                system: sysinfo::System::new(),
                pid: match pid {
                    Some(p) => Some(sysinfo::Pid::from_u32(p)),
                    None => sysinfo::get_current_pid().ok(),
                },
            };
            let _ = clock.read();
            clock
        }

        /// CPU % of one core since the previous reading, and RSS in bytes.
        pub fn read(&mut self) -> Option<super::Sample> {
            let pid = self.pid?;
            self.system.refresh_processes_specifics(
                sysinfo::ProcessesToUpdate::Some(&[pid]),
                true,
                sysinfo::ProcessRefreshKind::nothing()
                    .with_cpu()
                    .with_memory(),
            );
            let p = self.system.process(pid)?;
            Some(super::Sample {
                cpu_percent: Some(f64::from(p.cpu_usage())),
                rss_bytes: Some(p.memory()),
                open_fds: None,
                threads: None,
            })
        }
    }
}
