//! Load tests: virtual users (closed model) or an arrival rate (open model), optionally in
//! stages, driving an async body against an HTTP service; HDR histograms per request name.
//!
//! The engine spreads the users or arrivals over N generator threads (workers), each a
//! current-thread tokio runtime and a `LocalSet` whose users share the worker's metrics through
//! a `RefCell`: no lock and no channel message per request. The workers' metrics are merged
//! exactly at the end, their per-second beats into one timeline. The service a `setup` starts
//! runs on its own runtime.

#[cfg(feature = "load")]
mod alarm;
pub mod engine;
mod resources;
pub use crate::record::load as report;
use crate::record::shard;
pub mod schedule;
pub mod statements;
#[cfg(feature = "load")]
mod timeline;

#[cfg(feature = "load")]
use std::any::Any;
#[cfg(feature = "load")]
use std::net::SocketAddr;
#[cfg(feature = "load")]
use std::time::Duration;

#[cfg(feature = "load")]
use crate::engine::latency::BodyFuture;
use crate::engine::{Measurement, Mode, Subject};
use crate::outcome::Failure;
use crate::spec::{Ramp, Spec};
#[cfg(feature = "load")]
use crate::user::User;
#[cfg(feature = "load")]
use report::Model;
#[cfg(feature = "load")]
use schedule::Profile;

pub use perf_schema::protocol::ENV_BASE_URL;

#[cfg(feature = "load")]
/// One iteration of a load test, as the `#[perf_test]` expansion hands it over.
pub type LoadBody<S = ()> = for<'a> fn(&'a mut User<S>) -> BodyFuture<'a, Result<(), String>>;

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

#[cfg(feature = "load")]
impl<S: 'static> Scenario<S> {
    /// Runs the load test; see `engine::run`.
    pub fn run(self, test: &Subject<'_>, mode: &Mode) -> Result<Option<Measurement>, Failure> {
        engine::run(test, self, mode)
    }
}

#[cfg(feature = "load")]
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
#[cfg(feature = "load")]
pub trait IntoState<S> {
    /// The state, or the error's `Debug` text.
    fn into_state(self) -> Result<S, String>;
}

#[cfg(feature = "load")]
impl<S> IntoState<S> for S {
    fn into_state(self) -> Result<S, String> {
        Ok(self)
    }
}

#[cfg(feature = "load")]
impl<S, E: std::fmt::Debug> IntoState<S> for Result<S, E> {
    fn into_state(self) -> Result<S, String> {
        self.map_err(|e| format!("{e:?}"))
    }
}

#[cfg(feature = "load")]
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
///
/// ```no_run
/// use perf_harness::{perf_test, User};
///
/// // Runs once, inside the runtime that serves the service for the whole test.
/// fn start_service() -> std::net::SocketAddr {
///     let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
///     let addr = listener.local_addr().expect("bound");
///     // ... hand `listener` to your server and spawn it ...
///     addr
/// }
///
/// #[perf_test(users = 10, duration = "10s", setup = start_service)]
/// async fn home_page(user: &mut User) {
///     user.get("/").send().await;
/// }
/// # fn main() {}
/// ```
#[diagnostic::on_unimplemented(
    message = "a load test's `setup` must give the service's address, not `{Self}`",
    label = "returns `{Self}`",
    note = "return a URL (`String`), a `SocketAddr`, or `(addr, guard)` to keep `guard` alive; \
            to share a value between the users instead, take `user: &mut User<{Self}>`"
)]
#[cfg(feature = "load")]
pub trait Target {
    /// The base URL, e.g. `http://127.0.0.1:8080`.
    fn base_url(&self) -> String;
}

#[cfg(feature = "load")]
impl Target for String {
    fn base_url(&self) -> String {
        self.clone()
    }
}

#[cfg(feature = "load")]
impl Target for &'static str {
    fn base_url(&self) -> String {
        (*self).to_string()
    }
}

#[cfg(feature = "load")]
impl Target for SocketAddr {
    fn base_url(&self) -> String {
        format!("http://{self}")
    }
}

#[cfg(feature = "load")]
impl<T: Target, G> Target for (T, G) {
    fn base_url(&self) -> String {
        self.0.base_url()
    }
}

#[cfg(feature = "load")]
/// The service a `setup` started: its base URL, and the value that keeps it alive.
pub struct Service {
    url: String,
    _keep: Box<dyn Any>,
}

#[cfg(feature = "load")]
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

#[cfg(feature = "load")]
/// Iterations a smoke run (`cargo test`) makes with its single user.
pub const SMOKE_ITERATIONS: u64 = 2;
#[cfg(feature = "load")]
/// Longest a `--quick` load test runs.
pub const QUICK_DURATION: Duration = Duration::from_secs(3);
#[cfg(feature = "load")]
/// Longest one round of a paired comparison (`cargo perf --against`) runs a load test: the
/// rounds are the replication, and stages are compressed to this length so the round still
/// goes through the whole shape.
pub const ROUND_DURATION: Duration = Duration::from_millis(1500);
#[cfg(feature = "load")]
/// Length of a load test that gives neither `duration`, `iterations` nor `stages`.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(10);
#[cfg(feature = "load")]
/// Upper bound on any load test's length when only `iterations` bounds it.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);

#[cfg(feature = "load")]
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
    /// Closed model: each user stops after this many iterations of its own.
    pub iterations_per_user: Option<u64>,
    /// `--shard I/N`: the part of the load this process generates.
    pub shard: Option<shard::ShardPart>,
    /// Open model: offset of the first arrival, so the shards' schedules interleave.
    pub phase_ns: u64,
    /// The generator worker this plan is for, `w/N`: its part of this process's load.
    pub worker: Option<shard::Shard>,
}

#[cfg(feature = "load")]
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
                iterations_per_user: None,
                shard: None,
                phase_ns: 0,
                worker: None,
            };
        }
        let quick = matches!(mode, Mode::Full { quick: true, .. });
        let round = matches!(mode, Mode::Full { round: true, .. });
        let open =
            spec.rate.is_some() || spec.stages.as_ref().is_some_and(|s| s.ramp == Ramp::Rate);
        let counted = spec.iterations.or(spec.iterations_per_user);
        let duration = match (&spec.stages, spec.duration_ns, counted) {
            (Some(s), _, _) => Duration::from_nanos(s.duration_ns()),
            (None, Some(ns), _) => Duration::from_nanos(ns),
            (None, None, Some(_)) => MAX_DURATION,
            (None, None, None) => DEFAULT_DURATION,
        };
        let duration = match (round, quick) {
            (true, _) => duration.min(ROUND_DURATION),
            (false, true) => duration.min(QUICK_DURATION),
            (false, false) => duration,
        };
        let length = duration.as_nanos() as u64;
        let profile = match (&spec.stages, open) {
            (Some(s), _) if round => Profile::stages(&s.steps).compressed(length),
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
            iterations_per_user: spec.iterations_per_user,
            shard: None,
            phase_ns: 0,
            worker: None,
        }
    }

    /// This shard's part of the plan: users, rate, stage targets, `max_users` and shared
    /// `iterations` are split so the `count` shards together give the whole load; per-user
    /// iterations, durations and thresholds stay. A part with nothing to do is an error.
    pub fn shard(mut self, shard: shard::Shard) -> Result<Plan, String> {
        let whole_users = self.profile.peak();
        let share = match self.model {
            Model::Closed => {
                let total = whole_users.round() as u64;
                let mine = shard.split_count(total);
                if mine == 0 {
                    return Err(format!(
                        "shard {shard} gets no virtual user of {total}: run at most {total}                          shards, or give the test more `users`"
                    ));
                }
                self.max_users = mine;
                mine as f64 / total.max(1) as f64
            }
            Model::Open => {
                let rate = self.profile.peak();
                self.profile = self.profile.scaled(1.0 / f64::from(shard.count));
                self.max_users = shard.split_count(self.max_users).max(1);
                // Shard i starts (i-1)/rate after shard 1: the union is the whole schedule.
                if rate > 0.0 && self.profile.is_constant() {
                    self.phase_ns = (f64::from(shard.index - 1) / rate * 1e9) as u64;
                }
                1.0 / f64::from(shard.count)
            }
        };
        if let Some(total) = self.iterations {
            let mine = shard.split_count(total);
            if mine == 0 {
                return Err(format!(
                    "shard {shard} gets none of the {total} `iterations`: run at most {total}                      shards, or raise `iterations`"
                ));
            }
            self.iterations = Some(mine);
        }
        self.shard = Some(shard::ShardPart { shard, share });
        Ok(self)
    }

    /// Generator worker `worker`'s part of this process's plan: its users, rate, `max_users`
    /// and shared `iterations`, split as `shard` splits them between processes (the caller
    /// runs no more workers than there are users or iterations). Open model: worker `w`
    /// starts `(w-1)/rate` after the first, so the workers' schedules interleave into this
    /// process's.
    pub fn worker(&self, worker: shard::Shard) -> Plan {
        let mut plan = self.clone();
        plan.worker = Some(worker);
        plan.max_users = worker.split_count(self.max_users).max(1);
        if self.model == Model::Open {
            let rate = self.profile.peak();
            plan.profile = self.profile.scaled(1.0 / f64::from(worker.count));
            if rate > 0.0 && self.profile.is_constant() {
                plan.phase_ns += (f64::from(worker.index - 1) / rate * 1e9) as u64;
            }
        }
        plan.iterations = self.iterations.map(|n| worker.split_count(n));
        plan
    }

    /// Most generator workers that each get a part of this plan: at most its users (closed
    /// model) and its shared `iterations`.
    pub fn most_workers(&self) -> u64 {
        let users = match self.model {
            Model::Closed => self.max_users,
            Model::Open => u64::MAX,
        };
        users.min(self.iterations.unwrap_or(u64::MAX)).max(1)
    }

    /// Closed model: users wanted at `t_ns`, this shard's and this worker's part.
    pub fn users_at(&self, t_ns: u64) -> u64 {
        let total = self.profile.users_at(t_ns);
        let process = match self.shard {
            Some(part) => part.shard.split_count(total),
            None => total,
        };
        match self.worker {
            Some(worker) => worker.split_count(process),
            None => process,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Kind, Stage, Stages};
    use std::borrow::Cow;

    fn full(quick: bool) -> Mode {
        Mode::Full {
            quick,
            round: false,
            criterion_home: "target/criterion".into(),
            package: "p".into(),
            target: "t".into(),
        }
    }

    /// A paired round runs 1.5 s: a constant load is cut, stages are compressed so the round
    /// still reaches the peak and comes back down.
    #[test]
    fn a_paired_round_is_short_and_keeps_the_shape_of_stages() {
        let round = Mode::Full {
            quick: false,
            round: true,
            criterion_home: "target/criterion".into(),
            package: "p".into(),
            target: "t".into(),
        };
        let constant = Spec {
            kind: Kind::Load,
            users: Some(8),
            duration_ns: Some(30_000_000_000),
            ..Spec::MICRO
        };
        assert_eq!(Plan::new(&constant, &round).duration, ROUND_DURATION);
        let steps: &'static [Stage] = &[
            Stage {
                duration_ns: 1_000_000_000,
                from: 0.0,
                to: 20.0,
            },
            Stage {
                duration_ns: 2_000_000_000,
                from: 20.0,
                to: 20.0,
            },
            Stage {
                duration_ns: 1_000_000_000,
                from: 20.0,
                to: 0.0,
            },
        ];
        let spike = Spec {
            kind: Kind::Load,
            stages: Some(Stages {
                steps: Cow::Borrowed(steps),
                ramp: Ramp::Users,
            }),
            ..Spec::MICRO
        };
        let p = Plan::new(&spike, &round);
        assert_eq!(p.duration, ROUND_DURATION);
        assert_eq!(p.profile.peak(), 20.0);
        // 4 s into 1.5 s: the peak plateau spans 0.375 s to 1.125 s.
        assert_eq!(p.profile.at(375_000_000), 20.0);
        assert_eq!(p.profile.at(1_124_000_000), 20.0);
        assert!(p.profile.at(1_400_000_000) < 20.0);
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
    fn a_shard_gets_its_part_of_users_rate_and_iterations() {
        use shard::Shard;
        let closed = Spec {
            kind: Kind::Load,
            users: Some(5),
            iterations: Some(11),
            ..Spec::MICRO
        };
        let plan = Plan::new(&closed, &full(false));
        let parts: Vec<Plan> = (1..=2)
            .map(|index| plan.clone().shard(Shard { index, count: 2 }).expect("part"))
            .collect();
        assert_eq!((parts[0].max_users, parts[1].max_users), (3, 2));
        assert_eq!((parts[0].users_at(0), parts[1].users_at(0)), (3, 2));
        assert_eq!(
            (parts[0].iterations, parts[1].iterations),
            (Some(6), Some(5))
        );
        assert_eq!(parts[1].shard.map(|p| p.share), Some(0.4));
        let e = plan
            .clone()
            .shard(Shard { index: 6, count: 6 })
            .expect_err("no user left");
        assert!(e.contains("no virtual user of 5"), "{e}");

        let open = Spec {
            kind: Kind::Load,
            rate: Some(100.0),
            max_users: Some(9),
            ..Spec::MICRO
        };
        let plan = Plan::new(&open, &full(false));
        let second = plan.shard(Shard { index: 2, count: 4 }).expect("part");
        assert_eq!(second.profile.peak(), 25.0);
        assert_eq!(second.max_users, 2);
        assert_eq!(second.phase_ns, 10_000_000, "1/100 s after shard 1");
        assert_eq!(second.shard.map(|p| p.share), Some(0.25));
    }

    #[test]
    fn workers_split_a_shard_again_and_together_give_its_whole_load() {
        use shard::Shard;
        let closed = Spec {
            kind: Kind::Load,
            users: Some(5),
            iterations: Some(11),
            ..Spec::MICRO
        };
        let shard = Plan::new(&closed, &full(false))
            .shard(Shard { index: 1, count: 2 })
            .expect("part");
        assert_eq!((shard.max_users, shard.most_workers()), (3, 3));
        let workers: Vec<Plan> = (1..=2)
            .map(|index| shard.worker(Shard { index, count: 2 }))
            .collect();
        let of = |f: fn(&Plan) -> u64| (f(&workers[0]), f(&workers[1]));
        assert_eq!(of(|w| w.max_users), (2, 1));
        assert_eq!(of(|w| w.users_at(0)), (2, 1));
        assert_eq!(of(|w| w.iterations.unwrap_or(0)), (3, 3));
        assert_eq!(workers[1].shard, shard.shard, "the report keeps the shard");

        let open = Spec {
            kind: Kind::Load,
            rate: Some(300.0),
            max_users: Some(10),
            ..Spec::MICRO
        };
        let plan = Plan::new(&open, &full(false));
        assert_eq!(plan.most_workers(), u64::MAX);
        let workers: Vec<Plan> = (1..=3)
            .map(|index| plan.worker(Shard { index, count: 3 }))
            .collect();
        assert_eq!(workers[2].profile.peak(), 100.0);
        assert_eq!(of3(&workers, |w| w.max_users), [4, 3, 3]);
        assert_eq!(of3(&workers, |w| w.phase_ns), [0, 3_333_333, 6_666_666]);
        // The workers' slots interleave into the whole schedule's, to the nanosecond.
        let second = 1_000_000_000;
        let mut union: Vec<u64> = workers
            .iter()
            .flat_map(|w| w.profile.arrivals().map(move |o| o + w.phase_ns))
            .filter(|o| *o < second)
            .collect();
        union.sort_unstable();
        let whole: Vec<u64> = plan
            .profile
            .arrivals()
            .take_while(|o| *o < second)
            .collect();
        assert_eq!(union.len(), whole.len());
        assert!(union.iter().zip(&whole).all(|(a, b)| a.abs_diff(*b) <= 1));
    }

    fn of3(plans: &[Plan], f: fn(&Plan) -> u64) -> [u64; 3] {
        [f(&plans[0]), f(&plans[1]), f(&plans[2])]
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
