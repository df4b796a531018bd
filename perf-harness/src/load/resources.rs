//! CPU, memory, open file descriptors and threads of this process, sampled once a second during
//! a load test: on Linux from `/proc/self/stat` and `/proc/self/fd` (about 20 µs; sysinfo took
//! about 2 ms a sample, which delayed the scheduler's slots on the generator's core), elsewhere
//! CPU and memory with sysinfo.

/// The samples of one run and what the next one is compared with.
pub struct Resources {
    /// CPU time reader.
    clock: Clock,
    /// CPU % of one core at each sample.
    pub cpu: Vec<f64>,
    /// The highest RSS sampled, in bytes.
    pub peak_rss: Option<u64>,
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
    /// Starts sampling: the first CPU reading has nothing to compare with, so it is taken now.
    pub fn new() -> Resources {
        Resources {
            clock: Clock::new(),
            cpu: Vec::new(),
            peak_rss: None,
        }
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

    /// The previous reading of this process's CPU time.
    pub struct Clock {
        /// CPU seconds and when they were read.
        last: Option<(f64, Instant)>,
        /// Clock ticks per second and bytes per page.
        tick_hz: f64,
        page_bytes: u64,
    }

    impl Clock {
        /// A clock with a first reading taken.
        pub fn new() -> Clock {
            // SAFETY: sysconf only reads configuration values.
            let (hz, page) = unsafe {
                (
                    libc::sysconf(libc::_SC_CLK_TCK),
                    libc::sysconf(libc::_SC_PAGESIZE),
                )
            };
            let mut clock = Clock {
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
            let text = std::fs::read_to_string("/proc/self/stat").ok()?;
            let stat = parse_stat(&text)?;
            let (cpu_s, now) = (stat.cpu_ticks as f64 / self.tick_hz, Instant::now());
            let mut sample = Sample {
                cpu_percent: None,
                rss_bytes: Some(stat.rss_pages * self.page_bytes),
                open_fds: open_fds(),
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

    /// The descriptors this process holds open (the directory's own, open while it is read,
    /// not counted).
    fn open_fds() -> Option<u64> {
        let entries = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
        Some(entries.saturating_sub(1))
    }

    /// What a `/proc/PID/stat` line gives.
    #[derive(Debug, PartialEq, Eq)]
    pub struct Stat {
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
            let mut clock = Clock::new();
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
        /// A clock with a first reading taken.
        pub fn new() -> Clock {
            let mut clock = Clock {
                system: sysinfo::System::new(),
                pid: sysinfo::get_current_pid().ok(),
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
