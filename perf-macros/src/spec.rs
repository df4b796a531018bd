//! The checked attribute: one spec per kind of test, so that a combination the checks reject
//! (a percentile on a micro-benchmark, a fixture without a parameter, `users` with `rate`) has
//! no value to be built from.

use crate::attr::Threshold;
use crate::keys;
use crate::load::StageValue;

/// A test that passed every check: what the emitter expands.
pub enum Test {
    /// `#[perf_test]` without `samples` or a load key: criterion's engine.
    Micro(Micro),
    /// `samples = N`: one timed call per sample (database tests are latency tests with counts).
    Latency(Latency),
    /// `users`, `rate` or `stages`: virtual users calling the body.
    Load(Box<Load>),
}

/// A criterion micro-benchmark.
pub struct Micro {
    /// `mean` and `median` bounds, the only statistics criterion's estimates give.
    pub thresholds: Vec<(Central, u64)>,
    /// `warmup = "1s"`: criterion's warm-up time.
    pub warmup_ns: Option<u64>,
    /// `duration = "5s"`: criterion's measurement time.
    pub duration_ns: Option<u64>,
    /// How the body is called.
    pub body: MicroBody,
}

/// The statistic a micro-benchmark's threshold bounds.
#[derive(Clone, Copy)]
pub enum Central {
    /// `mean = "2us"`.
    Mean,
    /// `median = "2us"`.
    Median,
}

/// What a micro-benchmark's body is.
pub enum MicroBody {
    /// `fn f()`: the body is the routine, iterated by the harness.
    Routine,
    /// `fn f(b: &mut Bencher)`: the body drives criterion itself.
    Bencher,
}

/// A latency (or database) test: `samples` timed calls.
pub struct Latency {
    /// `samples = N`.
    pub samples: u64,
    /// Time bounds on the samples' distribution.
    pub thresholds: Vec<TimeLimit>,
    /// `warmup = N`: untimed calls first.
    pub warmup_calls: Option<u64>,
    /// `timeout = "1s"`: the limit of each timed call.
    pub timeout_ns: Option<u64>,
    /// `max_queries = N`: statements in the busiest call.
    pub max_queries: Option<u64>,
    /// The `setup` value the body takes by `&mut`; `None` when the body takes no argument.
    pub fixture: Option<Fixture>,
    /// `async fn`: each call runs on the harness's runtime.
    pub is_async: bool,
}

/// A latency test's fixture: made by `setup`, passed to each call, handed to `teardown`.
pub struct Fixture {
    /// `setup = make_it`.
    pub setup: syn::Path,
    /// `teardown = drop_it`.
    pub teardown: Option<syn::Path>,
    /// `n_plus_one = "deny"`: `setup` takes a `Scale`, and the body also runs on a half-size
    /// fixture to compare statement counts.
    pub n_plus_one: bool,
}

/// A load test.
pub struct Load {
    /// How iterations start: looping users, a rate, or stages of either.
    pub arrivals: Arrivals,
    /// `timeout = "1s"`: the limit of each iteration.
    pub timeout_ns: Option<u64>,
    /// Time bounds (`p95 = "300ms"`).
    pub thresholds: Vec<TimeLimit>,
    /// `max_error_rate`, `min_throughput`, `max_rss`, `max_cpu` and unnamed `thresholds`.
    pub load_thresholds: Vec<Threshold>,
    /// `thresholds = ["http_req_duration{name:x}: ..."]`: bounds per request name.
    pub named: Vec<(String, Threshold)>,
    /// `max_queries = N`.
    pub max_queries: Option<u64>,
    /// `n_plus_one = "deny"`.
    pub n_plus_one: bool,
    /// `workers = N`: the generator threads.
    pub workers: Option<u64>,
    /// What `setup` returns, as the body's parameter says.
    pub setup: LoadSetup,
    /// `teardown = stop_it`, named in the spec.
    pub teardown: Option<syn::Path>,
}

/// A load test's model and the keys that belong to it.
pub enum Arrivals {
    /// `users = N`: each user loops (closed model).
    Closed {
        /// `users = N`.
        users: u64,
        /// When the test stops, besides `duration`.
        iterations: Option<Iterations>,
        /// `think = "1s"`: the pause between a user's iterations.
        think_ns: Option<u64>,
        /// `duration = "30s"`.
        duration_ns: Option<u64>,
    },
    /// `rate = "N/s"`: iterations start on a schedule (open model).
    Open {
        /// Iterations started per second.
        rate_per_s: f64,
        /// `max_users = N`: the most users started to keep the rate.
        max_users: Option<u64>,
        /// `iterations = N`, shared.
        iterations: Option<u64>,
        /// `duration = "30s"`.
        duration_ns: Option<u64>,
    },
    /// `stages` of users (closed model over time).
    UserStages {
        /// The stages; they set the duration.
        steps: Vec<StageValue>,
        /// `iterations = N`, shared.
        iterations: Option<u64>,
        /// `think = "1s"`.
        think_ns: Option<u64>,
    },
    /// `stages` of rates ending in `/s` (open model over time).
    RateStages {
        /// The stages; they set the duration.
        steps: Vec<StageValue>,
        /// `max_users = N`.
        max_users: Option<u64>,
        /// `iterations = N`, shared.
        iterations: Option<u64>,
    },
}

/// A closed-model test's iteration count.
pub enum Iterations {
    /// `iterations = N`: shared by all users.
    Shared(u64),
    /// `iterations_per_user = N`: each user runs that many.
    PerUser(u64),
}

/// What a load test's `setup` gives, as the body's parameter says.
pub enum LoadSetup {
    /// No `setup`: the body uses `--base-url` or its own target.
    None,
    /// `setup` starts the service; the users get its URL (`&mut User`).
    Service(syn::Path),
    /// `setup` returns the `S` that the users share (`&mut User<S>`).
    State {
        /// `setup = make_it`.
        setup: syn::Path,
        /// `S` in `User<S>`.
        state: Box<syn::Type>,
    },
}

/// A bound on a latency distribution.
pub struct TimeLimit {
    /// Which statistic.
    pub stat: Stat,
    /// The bound in nanoseconds.
    pub limit_ns: u64,
}

impl TimeLimit {
    /// The attribute's latency thresholds (`p95 = "50ms"`, ...) as bounds.
    pub fn all(thresholds: &[crate::attr::ThresholdArg]) -> Vec<TimeLimit> {
        thresholds
            .iter()
            .map(|t| TimeLimit {
                stat: Stat::of_key(&t.key),
                limit_ns: t.limit_ns,
            })
            .collect()
    }
}

/// A statistic of a latency distribution.
#[derive(Clone, Copy)]
pub enum Stat {
    /// `mean`.
    Mean,
    /// `median`.
    Median,
    /// `max`.
    Max,
    /// `p95`, `p(99.9)`, ...
    Percentile(f64),
}

impl Stat {
    /// The statistic of a threshold key: `mean`, `p95`, or `p:99.9` from a k6 expression.
    pub fn of_key(key: &str) -> Stat {
        match key {
            "mean" => Stat::Mean,
            "median" => Stat::Median,
            "max" => Stat::Max,
            key => Stat::Percentile(
                key.strip_prefix("p:")
                    .and_then(|v| v.parse::<f64>().ok())
                    .or_else(|| keys::percentile_of(key))
                    .unwrap_or(50.0),
            ),
        }
    }
}

impl Central {
    /// The same statistic, as any latency distribution has it.
    pub fn stat(self) -> Stat {
        match self {
            Central::Mean => Stat::Mean,
            Central::Median => Stat::Median,
        }
    }
}
