//! CPU and memory of this process, sampled once a second during a load test: on Linux from
//! `/proc/self/stat` (about 20 µs; sysinfo took about 2 ms a sample, which delayed the
//! scheduler's slots on the generator's core), elsewhere with sysinfo.

/// The samples of one run and what the next one is compared with.
pub struct Resources {
    /// CPU time reader.
    clock: Clock,
    /// CPU % of one core at each sample.
    pub cpu: Vec<f64>,
    /// The highest RSS sampled, in bytes.
    pub peak_rss: Option<u64>,
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

    /// CPU % of one core since the previous sample, and the current RSS in bytes.
    pub fn sample(&mut self) -> (Option<f64>, Option<u64>) {
        let Some((cpu, rss)) = self.clock.read() else {
            return (None, None);
        };
        self.cpu.extend(cpu);
        self.peak_rss = Some(self.peak_rss.unwrap_or(0).max(rss));
        (cpu, Some(rss))
    }
}

#[cfg(target_os = "linux")]
use linux::Clock;
#[cfg(not(target_os = "linux"))]
use portable::Clock;

#[cfg(target_os = "linux")]
mod linux {
    //! `/proc/self/stat`: user and system time in clock ticks, RSS in pages.

    use std::time::Instant;

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

        /// CPU % of one core since the previous reading, and RSS in bytes. No CPU figure at
        /// the first reading, nor after less than [`MIN_WINDOW_S`] (the ticks are 10 ms: the
        /// last, short window of a run could read 300 %); the CPU time then counts in the
        /// next window.
        pub fn read(&mut self) -> Option<(Option<f64>, u64)> {
            let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
            let (cpu_ticks, rss_pages) = parse_stat(&stat)?;
            let (cpu_s, now) = (cpu_ticks as f64 / self.tick_hz, Instant::now());
            let rss = rss_pages * self.page_bytes;
            let Some((before_s, then)) = self.last else {
                self.last = Some((cpu_s, now));
                return Some((None, rss));
            };
            let wall_s = now.duration_since(then).as_secs_f64();
            if wall_s < MIN_WINDOW_S {
                return Some((None, rss));
            }
            self.last = Some((cpu_s, now));
            Some((Some(100.0 * (cpu_s - before_s).max(0.0) / wall_s), rss))
        }
    }

    /// utime + stime (fields 14 and 15, in ticks) and rss (field 24, in pages) of a
    /// `/proc/PID/stat` line; the command name (field 2) may hold spaces and parentheses, so
    /// fields are counted after its last `)`.
    pub fn parse_stat(stat: &str) -> Option<(u64, u64)> {
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // `rest` starts at field 3 (state).
        let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
        Some((field(14)? + field(15)?, field(24)?))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_stat_line_gives_cpu_ticks_and_rss_pages() {
            let line = "4242 (my (odd) test) R 1 4242 4242 0 -1 4194304 2000 0 0 0 \
                        150 25 0 0 20 0 3 0 123456 104857600 1234 18446744073709551615";
            assert_eq!(parse_stat(line), Some((175, 1234)));
            assert_eq!(parse_stat("4242 (cut"), None);
            assert_eq!(parse_stat("4242 (short) R 1 2"), None);
        }

        #[test]
        fn this_process_reads_back() {
            let mut clock = Clock::new();
            let (cpu, rss) = clock.read().expect("/proc/self/stat");
            assert!(
                cpu.is_none() && rss > 0,
                "no CPU figure right after the first reading"
            );
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
        pub fn read(&mut self) -> Option<(Option<f64>, u64)> {
            let pid = self.pid?;
            self.system.refresh_processes_specifics(
                sysinfo::ProcessesToUpdate::Some(&[pid]),
                true,
                sysinfo::ProcessRefreshKind::nothing()
                    .with_cpu()
                    .with_memory(),
            );
            let p = self.system.process(pid)?;
            Some((Some(f64::from(p.cpu_usage())), p.memory()))
        }
    }
}
