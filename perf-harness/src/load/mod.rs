//! Load tests: virtual users (closed model) or an arrival rate (open model), optionally in
//! stages, driving an async body against an HTTP service; HDR histograms per request name.
//!
//! The engine runs every user on one generator thread (a current-thread tokio runtime and a
//! `LocalSet`), so users share their worker's metrics through a `RefCell`: no lock and no
//! channel message per request. The service a `setup` starts runs on its own runtime.

pub mod engine;
pub mod metrics;
pub mod report;
pub mod schedule;
pub mod statements;

use std::any::Any;
use std::net::SocketAddr;
use std::time::Duration;

use crate::engine::latency::BodyFuture;
use crate::engine::{Measurement, Mode};
use crate::outcome::Failure;
use crate::registry::PerfTest;
use crate::spec::{Ramp, Spec};
use crate::user::User;
use report::Model;
use schedule::Profile;

/// Environment variable naming the service under test (`cargo perf --base-url` sets it).
pub const ENV_BASE_URL: &str = "PERF_BASE_URL";

/// One iteration of a load test, as the `#[perf_test]` expansion hands it over.
pub type LoadBody<S = ()> = for<'a> fn(&'a mut User<S>) -> BodyFuture<'a, Result<(), String>>;

/// A load test in the registry: runs its `Scenario` (whose state type only the expansion
/// knows) in a mode.
#[derive(Clone, Copy)]
pub struct LoadRoutine {
    /// `Scenario::run` for the test's state type.
    pub run: fn(&PerfTest, &Mode) -> Result<Option<Measurement>, Failure>,
}

/// The code of a load test: the body, the optional `setup` that starts the service, and the
/// state shared by the users (`User<S>`; `()` for a plain `User`).
pub struct Scenario<S: 'static = ()> {
    /// One iteration.
    pub body: LoadBody<S>,
    /// `User` tests: runs once before the load, inside the service runtime; gives the base URL.
    pub service: Option<fn() -> Result<Service, Failure>>,
    /// `User<S>` tests: runs once before the load, inside the service runtime (so it may open
    /// async connections); its value is shared by every user. Timed as setup.
    pub state: fn() -> Result<S, Failure>,
}

impl<S: 'static> Scenario<S> {
    /// Runs the load test; see `engine::run`.
    pub fn run(self, test: &PerfTest, mode: &Mode) -> Result<Option<Measurement>, Failure> {
        engine::run(test, self, mode)
    }
}

/// The state of a plain `User` test: nothing.
pub fn no_state() -> Result<(), Failure> {
    Ok(())
}

/// What a `User<S>` test's `setup` may return: the state `S` itself, or `Result<S, E>` whose
/// `Err` fails the test with its message (an infrastructure error, exit 2, when a database
/// reported itself unreachable while it ran).
#[diagnostic::on_unimplemented(
    message = "the `setup` of a test taking `User<{S}>` must return `{S}` or `Result<{S}, E>`, not `{Self}`",
    label = "returns `{Self}`"
)]
pub trait IntoState<S> {
    /// The state, or the error's `Debug` text.
    fn into_state(self) -> Result<S, String>;
}

impl<S> IntoState<S> for S {
    fn into_state(self) -> Result<S, String> {
        Ok(self)
    }
}

impl<S, E: std::fmt::Debug> IntoState<S> for Result<S, E> {
    fn into_state(self) -> Result<S, String> {
        self.map_err(|e| format!("{e:?}"))
    }
}

/// Runs a `User<S>` test's `setup` (named `name` in messages): a panic or an `Err` is a
/// `Failure::Setup`, or `Failure::Infrastructure` after a database reported itself unreachable.
pub fn state_from_setup<S, R: IntoState<S>>(
    name: &str,
    setup: impl FnOnce() -> R,
) -> Result<S, Failure> {
    let before = crate::db::unreachable_reports();
    let value = crate::db::guarded_setup(name, setup)?;
    value.into_state().map_err(|message| {
        crate::db::setup_failure(name, message, crate::db::unreachable_since(before))
    })
}

/// What a load test's `setup` may return: anything that names the service's base URL.
///
/// Implemented for URLs (`String`, `&'static str`), a `SocketAddr` (`http://ADDR`), and a
/// pair `(target, guard)` whose second part is kept alive until the test ends (a server
/// handle, a temporary directory, a shutdown sender).
#[diagnostic::on_unimplemented(
    message = "a load test's `setup` must give the service's address, not `{Self}`",
    label = "returns `{Self}`",
    note = "return a URL (`String`), a `SocketAddr`, or `(addr, guard)` to keep `guard` alive; \
            to share a value between the users instead, take `user: &mut User<{Self}>`"
)]
pub trait Target {
    /// The base URL, e.g. `http://127.0.0.1:8080`.
    fn base_url(&self) -> String;
}

impl Target for String {
    fn base_url(&self) -> String {
        self.clone()
    }
}

impl Target for &'static str {
    fn base_url(&self) -> String {
        (*self).to_string()
    }
}

impl Target for SocketAddr {
    fn base_url(&self) -> String {
        format!("http://{self}")
    }
}

impl<T: Target, G> Target for (T, G) {
    fn base_url(&self) -> String {
        self.0.base_url()
    }
}

/// The service a `setup` started: its base URL, and the value that keeps it alive.
pub struct Service {
    url: String,
    _keep: Box<dyn Any>,
}

impl Service {
    /// Runs `setup` (named `name` in messages), turning a panic into a `Failure::Setup`.
    pub fn from_setup<T: Target + 'static>(
        name: &str,
        setup: impl FnOnce() -> T,
    ) -> Result<Service, Failure> {
        let value = crate::db::guarded_setup(name, setup)?;
        Ok(Service {
            url: value.base_url(),
            _keep: Box::new(value),
        })
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// Iterations a smoke run (`cargo test`) makes with its single user.
pub const SMOKE_ITERATIONS: u64 = 2;
/// Longest a `--quick` load test runs.
pub const QUICK_DURATION: Duration = Duration::from_secs(3);
/// Length of a load test that gives neither `duration`, `iterations` nor `stages`.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(10);
/// Upper bound on any load test's length when only `iterations` bounds it.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);

/// A load test's shape resolved for one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Closed or open.
    pub model: Model,
    /// Users (closed) or iterations per second (open) over time.
    pub profile: Profile,
    /// Open model: most users that may exist.
    pub max_users: u64,
    /// Stop after this many iterations started.
    pub iterations: Option<u64>,
    /// Stop starting iterations after this long.
    pub duration: Duration,
    /// Closed model: pause between a user's iterations.
    pub think: Option<Duration>,
    /// Per-iteration timeout.
    pub timeout: Option<Duration>,
    /// Longest wait for running iterations after the stop.
    pub grace: Duration,
}

impl Plan {
    /// The plan for `spec` in `mode`: a smoke run is one user and `SMOKE_ITERATIONS`.
    pub fn new(spec: &Spec, mode: &Mode) -> Plan {
        let timeout = spec.timeout_ns.map(Duration::from_nanos);
        let grace = timeout
            .unwrap_or(Duration::from_secs(10))
            .min(Duration::from_secs(30))
            + Duration::from_millis(100);
        if matches!(mode, Mode::Smoke) {
            return Plan {
                model: Model::Closed,
                profile: Profile::constant(1.0, MAX_DURATION.as_nanos() as u64),
                max_users: 1,
                iterations: Some(SMOKE_ITERATIONS),
                duration: Duration::from_secs(60),
                think: None,
                timeout,
                grace,
            };
        }
        let quick = matches!(mode, Mode::Full { quick: true, .. });
        let open =
            spec.rate.is_some() || spec.stages.as_ref().is_some_and(|s| s.ramp == Ramp::Rate);
        let duration = match (&spec.stages, spec.duration_ns, spec.iterations) {
            (Some(s), _, _) => Duration::from_nanos(s.duration_ns()),
            (None, Some(ns), _) => Duration::from_nanos(ns),
            (None, None, Some(_)) => MAX_DURATION,
            (None, None, None) => DEFAULT_DURATION,
        };
        let duration = if quick {
            duration.min(QUICK_DURATION)
        } else {
            duration
        };
        let length = duration.as_nanos() as u64;
        let profile = match (&spec.stages, open) {
            (Some(s), _) => Profile::stages(&s.steps),
            (None, true) => Profile::constant(spec.rate.unwrap_or(1.0), length),
            (None, false) => Profile::constant(spec.users.unwrap_or(1) as f64, length),
        };
        let max_users = if open {
            spec.max_users
                .unwrap_or_else(|| (profile.peak().ceil() as u64).max(100))
        } else {
            profile.peak().ceil() as u64
        };
        Plan {
            model: if open { Model::Open } else { Model::Closed },
            profile,
            max_users: max_users.max(1),
            iterations: spec.iterations,
            duration,
            think: spec.think_ns.map(Duration::from_nanos),
            timeout,
            grace,
        }
    }
}

/// Runs a load test; see `engine::run`.
pub fn run(
    test: &PerfTest,
    routine: LoadRoutine,
    mode: &Mode,
) -> Result<Option<Measurement>, Failure> {
    (routine.run)(test, mode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Kind, Stage, Stages};
    use std::borrow::Cow;

    fn full(quick: bool) -> Mode {
        Mode::Full {
            quick,
            criterion_home: "target/criterion".into(),
            package: "p".into(),
            target: "t".into(),
        }
    }

    #[test]
    fn closed_and_open_plans_follow_the_attribute() {
        let spec = Spec {
            kind: Kind::Load,
            users: Some(20),
            duration_ns: Some(30_000_000_000),
            think_ns: Some(100_000_000),
            ..Spec::MICRO
        };
        let p = Plan::new(&spec, &full(false));
        assert_eq!(p.model, Model::Closed);
        assert_eq!(p.max_users, 20);
        assert_eq!(p.duration, Duration::from_secs(30));
        assert_eq!(p.think, Some(Duration::from_millis(100)));
        assert_eq!(Plan::new(&spec, &full(true)).duration, QUICK_DURATION);

        let smoke = Plan::new(&spec, &Mode::Smoke);
        assert_eq!((smoke.max_users, smoke.iterations), (1, Some(2)));
        assert_eq!(smoke.think, None);

        let open = Spec {
            kind: Kind::Load,
            rate: Some(1000.0),
            ..Spec::MICRO
        };
        let p = Plan::new(&open, &full(false));
        assert_eq!(p.model, Model::Open);
        assert_eq!(p.max_users, 1000);
        assert_eq!(p.duration, DEFAULT_DURATION);
    }

    #[test]
    fn rate_stages_make_an_open_plan_as_long_as_the_stages() {
        const STEPS: &[Stage] = &[
            Stage {
                duration_ns: 2_000_000_000,
                from: 0.0,
                to: 50.0,
            },
            Stage {
                duration_ns: 3_000_000_000,
                from: 50.0,
                to: 50.0,
            },
        ];
        let spec = Spec {
            kind: Kind::Load,
            stages: Some(Stages {
                ramp: Ramp::Rate,
                steps: Cow::Borrowed(STEPS),
            }),
            max_users: Some(7),
            ..Spec::MICRO
        };
        let p = Plan::new(&spec, &full(false));
        assert_eq!(p.model, Model::Open);
        assert_eq!(p.duration, Duration::from_secs(5));
        assert_eq!(p.max_users, 7);
    }

    #[test]
    fn targets_give_base_urls() {
        let addr: SocketAddr = "127.0.0.1:8080".parse().expect("addr");
        assert_eq!(addr.base_url(), "http://127.0.0.1:8080");
        assert_eq!((addr, ()).base_url(), "http://127.0.0.1:8080");
        let s = Service::from_setup("start", || "http://127.0.0.1:1").expect("service");
        assert_eq!(s.url(), "http://127.0.0.1:1");
        let e = Service::from_setup("start", || -> String { panic!("port taken") });
        assert!(matches!(e, Err(Failure::Setup { .. })));
    }

    #[test]
    fn state_setups_give_the_value_or_a_failure_naming_the_setup() {
        assert_eq!(state_from_setup::<u32, _>("pool", || 7u32), Ok(7));
        assert_eq!(
            state_from_setup::<u32, _>("pool", || -> Result<u32, String> { Ok(8) }),
            Ok(8)
        );
        assert_eq!(
            state_from_setup::<u32, _>("pool", || -> Result<u32, String> {
                Err("no such table: media".into())
            }),
            Err(Failure::Setup {
                name: "pool".into(),
                message: "\"no such table: media\"".into()
            })
        );
        let down = state_from_setup::<u32, _>("pool", || -> Result<u32, String> {
            crate::db::report_unreachable("cannot connect to PostgreSQL at u@127.0.0.1:1/db");
            Err("refused".into())
        });
        assert_eq!(
            down,
            Err(Failure::Infrastructure(
                "setup `pool` could not reach its database: cannot connect to PostgreSQL at \
                 u@127.0.0.1:1/db"
                    .into()
            ))
        );
    }
}
