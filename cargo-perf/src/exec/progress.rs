//! Progress while tests run: an indicatif bar on a terminal, plain lines otherwise (CI logs).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use perf_schema::record::{Record, Status};

/// Reports which test is running; all output goes to stderr so stdout stays machine-readable.
pub struct Progress {
    bar: Option<ProgressBar>,
    /// The running test's name, and when its last plain live line was printed.
    current: Mutex<(String, Option<Instant>)>,
}

/// Without a terminal, a load test's live line is printed at most this often (short CI logs).
const PLAIN_EVERY: Duration = Duration::from_secs(10);

impl Progress {
    /// A bar when stderr is a terminal (and not `--verbose`), else plain lines.
    pub fn new(total: usize, verbose: bool) -> Progress {
        let bar = (std::io::stderr().is_terminal() && !verbose).then(|| {
            let bar = ProgressBar::new(total as u64);
            let style =
                ProgressStyle::with_template("{spinner} [{pos}/{len}] {wide_msg} {elapsed:>4}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            current: Mutex::new((String::new(), None)),
        }
    }

    /// Test `i` of `total` starts.
    pub fn start(&self, i: usize, total: usize, name: &str) {
        if let Ok(mut current) = self.current.lock() {
            *current = (name.to_string(), Some(Instant::now()));
        }
        match &self.bar {
            Some(bar) => {
                bar.set_position(i as u64);
                bar.set_message(format!("running {name}"));
            }
            None => eprintln!("cargo perf: [{}/{total}] {name} ...", i + 1),
        }
    }

    /// A load test's live line (`load 12s/30s  users 20  iterations ...`): in the bar on a
    /// terminal, else as a plain line every `PLAIN_EVERY`.
    pub fn live(&self, line: &str) {
        let Ok(mut current) = self.current.lock() else {
            return;
        };
        match &self.bar {
            Some(bar) => bar.set_message(format!("running {} · {line}", current.0)),
            None => {
                if current.1.is_none_or(|t| t.elapsed() >= PLAIN_EVERY) {
                    eprintln!("cargo perf:     {line}");
                    current.1 = Some(Instant::now());
                }
            }
        }
    }

    /// The test that started last has finished.
    pub fn finish(&self, record: &Record, took: Duration) {
        let status = match &record.status {
            Status::Measured => "measured",
            Status::Failed { .. } => "FAILED",
        };
        match &self.bar {
            Some(bar) => bar.inc(1),
            None => eprintln!(
                "cargo perf:     {} {status} in {:.1}s",
                record.test.name,
                took.as_secs_f64()
            ),
        }
    }

    /// Removes the bar before the results are printed.
    pub fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
