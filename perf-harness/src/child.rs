//! The protocol between `cargo perf` and a test binary: environment variables read before
//! `main`, a JSON answer written atomically to a file, then exit.
//!
//! Every `#[perf_test]` expansion registers a constructor that calls `premain`. When
//! `CARGO_PERF_MODE` is unset it returns at once and libtest (or `main!()`) runs as usual; when
//! set, the binary lists or runs its perf tests and exits before libtest sees its arguments, so
//! `cargo perf` never lists or runs a suite's ordinary tests.

use std::any::Any;
use std::path::PathBuf;
use std::sync::{Mutex, Once};

use crate::engine::{self, Mode};
use crate::outcome::panic_message;
use crate::record::{self, ListedTest, Record, Status, TestId, TestList};
use crate::registry::{self, PerfTest};
use crate::spec::Spec;
use crate::stats;
use perf_schema::protocol;

use perf_schema::protocol::{
    ENV_CRITERION_HOME, ENV_MODE, ENV_OUT, ENV_PACKAGE, ENV_QUICK, ENV_ROUND, ENV_TARGET, ENV_TEST,
    EXIT_PROTOCOL_ERROR,
};

/// Answers a `cargo perf` request and exits, or returns when there is none. Idempotent.
pub fn premain() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let Ok(mode) = std::env::var(ENV_MODE) else {
            return;
        };
        let code = match answer(&mode) {
            Ok(()) => 0,
            Err(message) => {
                eprintln!("perf-harness: {message}");
                EXIT_PROTOCOL_ERROR
            }
        };
        std::process::exit(code);
    });
}

struct Request {
    out: PathBuf,
    package: String,
    target: String,
}

fn answer(mode: &str) -> Result<(), String> {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let out = std::env::var_os(ENV_OUT)
        .map(PathBuf::from)
        .ok_or_else(|| format!("{ENV_MODE} is set but {ENV_OUT} is not"))?;
    let request = Request {
        out,
        package: var(ENV_PACKAGE),
        target: var(ENV_TARGET),
    };
    let name = var(ENV_TEST);
    // Children of the test (a server it spawns, say) must not answer the request again.
    for name in [ENV_MODE, ENV_OUT, ENV_TEST] {
        std::env::remove_var(name);
    }
    match mode {
        "list" => write_json(&request.out, &list(&request)),
        "run" => {
            let test = registry::find(&name).ok_or_else(|| {
                format!("no perf test named `{name}` in this binary; rebuild and list again")
            })?;
            let quick = var(ENV_QUICK) == "1";
            let round = var(ENV_ROUND) == "1";
            let home = std::env::var_os(ENV_CRITERION_HOME)
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("target/criterion"));
            let record = run_isolated(test, &request, (quick, round), home);
            write_json(&request.out, &record)
        }
        other => Err(format!(
            "unknown {ENV_MODE} `{other}` (expected `list` or `run`)"
        )),
    }
}

fn write_json<T: serde::Serialize>(out: &std::path::Path, value: &T) -> Result<(), String> {
    let bytes = serde_json::to_vec(value).map_err(|e| format!("cannot encode answer: {e}"))?;
    perf_schema::document::write_atomic(out, &bytes)
        .map_err(|e| format!("cannot write {}: {e}", out.display()))
}

/// The test's spec as this run measures it, and as its record says: `cargo perf --capacity`
/// sets an open-model test's `rate` (`CARGO_PERF_RATE`, per second), `cargo perf --users` a
/// closed-model test's `users` (`CARGO_PERF_USERS`), `cargo perf --workers` a load test's
/// generator threads (`CARGO_PERF_WORKERS`; other tests ignore it).
fn as_run(spec: &Spec) -> Result<Spec, String> {
    let mut run = spec.clone();
    if let Ok(text) = std::env::var(protocol::ENV_RATE) {
        let rate: f64 = text.trim().parse().unwrap_or(f64::NAN);
        if spec.rate.is_none() || spec.stages.is_some() || !(rate.is_finite() && rate > 0.0) {
            return Err(format!(
                "{} = `{text}` sets the positive rate of an open-model test with a constant \
                 `rate`: this one is `{spec}`",
                protocol::ENV_RATE
            ));
        }
        run.rate = Some(rate);
    }
    if let Ok(text) = std::env::var(protocol::ENV_USERS) {
        let users = text.trim().parse::<u64>().ok().filter(|n| *n > 0);
        match users {
            Some(n) if spec.users.is_some() && spec.stages.is_none() => run.users = Some(n),
            _ => {
                return Err(format!(
                    "{} = `{text}` sets the users (at least 1) of a closed-model test with a \
                     constant `users`: this one is `{spec}`",
                    protocol::ENV_USERS
                ))
            }
        }
    }
    if let Ok(text) = std::env::var(protocol::ENV_WORKERS) {
        match text.trim().parse::<u64>().ok().filter(|n| *n > 0) {
            Some(n) if spec.kind == perf_schema::spec::Kind::Load => run.workers = Some(n),
            Some(_) => {}
            None => {
                return Err(format!(
                    "{} = `{text}` sets the generator threads of a load test: a whole number, at \
                     least 1",
                    protocol::ENV_WORKERS
                ))
            }
        }
    }
    Ok(run)
}

fn test_id(test: &PerfTest, request: &Request) -> TestId {
    TestId {
        package: request.package.clone(),
        target: request.target.clone(),
        name: test.full_name(),
        file: test.file.to_string(),
        line: test.line,
    }
}

fn list(request: &Request) -> TestList {
    TestList {
        schema: record::LIST_SCHEMA.into(),
        tests: registry::all()
            .into_iter()
            .map(|t| ListedTest {
                id: test_id(t, request),
                spec: t.spec.clone(),
                is_async: t.is_async,
            })
            .collect(),
    }
}

/// Runs one test on its own thread, turning a panic into a failed record with its message.
fn run_isolated(
    test: &'static PerfTest,
    request: &Request,
    (quick, round): (bool, bool),
    home: PathBuf,
) -> Record {
    let mode = Mode::Full {
        quick,
        round,
        criterion_home: home,
        package: request.package.clone(),
        target: request.target.clone(),
    };
    let mut record = Record {
        optimized: !cfg!(debug_assertions),
        quick,
        ..Record::new(test_id(test, request), test.spec.clone(), Status::Measured)
    };
    let spec = match as_run(&test.spec) {
        Ok(spec) => spec,
        Err(message) => {
            record.infrastructure = true;
            record.status = Status::Failed { message };
            return record;
        }
    };
    record.spec = spec.clone();
    install_panic_capture();
    let joined = std::thread::Builder::new()
        .name(test.full_name())
        .spawn(move || {
            let mut subject = test.subject();
            subject.spec = &spec;
            engine::run_keeping_partial(&subject, &mode)
        })
        .map_err(|e| format!("cannot start the test thread: {e}"))
        .and_then(|h| h.join().map_err(|payload| panic_report(payload.as_ref())));
    match joined {
        Ok((measurement, failure)) => {
            let kept = measurement.as_ref().map(|m| m.samples_ns.len());
            if let Some(m) = measurement {
                record.histogram = stats::encode_histogram(&m.histogram).ok();
                record.stats = Some(m.stats);
                record.criterion = m.criterion;
                record.samples_ns = record::keep_samples(m.samples_ns, record::MAX_KEPT_SAMPLES);
                record.setup_ns = m.setup_ns;
                record.elapsed_ns = m.elapsed_ns;
                record.queries = m.queries;
                record.load = m.load;
                // A load test can be measured and still have failed (its body panicked).
                if let Some(message) = m.failure {
                    record.status = Status::Failed { message };
                }
            }
            match (failure, kept) {
                (None, Some(_)) => {}
                (None, None) => {
                    record.status = Status::Failed {
                        message: "the engine produced no measurement".into(),
                    }
                }
                // What was measured before the failure stays in the record.
                (Some(failure), Some(n)) => {
                    record.infrastructure = failure.is_infrastructure();
                    record.status = Status::Failed {
                        message: format!(
                            "{failure}\n(the {n} samples measured before it are kept in the record)"
                        ),
                    }
                }
                (Some(failure), None) => {
                    record.infrastructure = failure.is_infrastructure();
                    record.status = Status::Failed {
                        message: failure.to_string(),
                    }
                }
            }
        }
        Err(message) => record.status = Status::Failed { message },
    }
    record
}

static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Keeps the default panic output and remembers where the last panic happened.
fn install_panic_capture() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let text = format!("{}{location}", panic_message(info.payload()));
        if let Ok(mut slot) = LAST_PANIC.lock() {
            *slot = Some(text);
        }
        previous(info);
    }));
}

fn panic_report(payload: &(dyn Any + Send)) -> String {
    let captured = LAST_PANIC.lock().ok().and_then(|mut s| s.take());
    format!(
        "the test panicked: {}",
        captured.unwrap_or_else(|| panic_message(payload))
    )
}
