//! The load generator: resolves the service, drives users or arrivals on N generator threads
//! (workers), stops gracefully, merges what the workers measured, and turns it into a
//! `LoadReport`.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::mpsc::{self, Sender};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::alarm::Alarm;
use super::report::{Latency, LoadReport, Model, Tick, WsReport};
use super::resources::Resources;
use super::shard::Shard;
use super::statements::{Iteration, StatementsPerIteration};
use super::timeline::{self, Beat, StartLine};
use super::{LoadBody, Plan, Scenario, Service, ENV_BASE_URL};
use crate::db::capture::Capture;
use crate::db::observer;
use crate::db::QueryStats;
use crate::engine::latency::BodyFuture;
use crate::engine::{Measurement, Mode, Subject};
use crate::outcome::Failure;
use crate::spec::format_ns;
use crate::user::metrics::{ErrorKind, IterationTimes, Metrics};
use crate::user::User;

/// Runs a load test in `mode`; a smoke run returns `Ok(None)` when every iteration succeeded.
pub fn run<S: 'static>(
    test: &Subject<'_>,
    scenario: Scenario<S>,
    mode: &Mode,
) -> Result<Option<Measurement>, Failure> {
    let started = Instant::now();
    let smoke = matches!(mode, Mode::Smoke);
    let plan = plan(test, mode)?;
    crate::fd_limit::raise();
    let Some(setup) = set_up(test, &scenario, smoke)? else {
        return Ok(None);
    };
    let workers = workers::<S>(test, &plan, setup.service.is_some(), smoke)?;
    let load = generate(&plan, &scenario, setup, workers, smoke)?;
    if smoke {
        return smoke_verdict(&load.metrics, &load.driven);
    }
    Ok(Some(measurement(&plan, load, started)))
}

/// The test's shape in `mode`; under `--shard I/N` (full runs only), this shard's part of it.
fn plan(test: &Subject<'_>, mode: &Mode) -> Result<Plan, Failure> {
    let plan = Plan::new(test.spec, mode);
    if matches!(mode, Mode::Smoke) {
        return Ok(plan);
    }
    match std::env::var(perf_schema::protocol::ENV_SHARD) {
        Ok(text) => text
            .parse::<crate::record::shard::Shard>()
            .and_then(|s| plan.shard(s))
            .map_err(Failure::Infrastructure),
        Err(_) => Ok(plan),
    }
}

/// How many generator threads drive the load: the test's `workers` (or `--workers`), else the
/// machine's cores less the service runtime's threads when the test started its service
/// in-process; one for a smoke run and for a `User<S>` test (its users share one `S`); never
/// more than the plan has users or shared iterations to give each.
fn workers<S: 'static>(
    test: &Subject<'_>,
    plan: &Plan,
    in_process: bool,
    smoke: bool,
) -> Result<usize, Failure> {
    if smoke || is_stateful::<S>() {
        return Ok(1);
    }
    let cores = cores() as u64;
    let asked = match test.spec.workers {
        Some(n) if n > cores => {
            return Err(Failure::Infrastructure(format!(
                "`workers = {n}` asks for {n} generator threads, but this machine has {cores} \
                 cores: lower `workers`, or pass `cargo perf --workers {cores}`"
            )))
        }
        Some(n) => n,
        None if in_process => cores.saturating_sub(service_threads() as u64).max(1),
        None => cores,
    };
    Ok(asked.min(plan.most_workers()) as usize)
}

/// The cores this process may run on (its CPU affinity: `taskset -c 1` is one).
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Threads of the runtime a service started in-process (and the state's connections) run on:
/// half the cores, at least one; the generator workers get the rest by default.
fn service_threads() -> usize {
    (cores() / 2).max(1)
}

/// What the load runs against, made before it starts; fields drop in this order.
struct Setup<S> {
    /// The users' shared state (`()` for a plain `User`).
    state: Rc<S>,
    /// The service the test's `setup` started, kept alive until the load is over.
    service: Option<Service>,
    /// The service's base URL; empty for a `User<S>` test without one.
    base: String,
    /// Time spent starting the service and making the state.
    setup_ns: Option<u64>,
    /// The runtime the service and the state's connections run on.
    service_rt: tokio::runtime::Runtime,
}

/// Starts the service runtime, finds the service (and checks that it listens), makes the
/// users' state; `None` when a smoke run has no service to load.
fn set_up<S: 'static>(
    test: &Subject<'_>,
    scenario: &Scenario<S>,
    smoke: bool,
) -> Result<Option<Setup<S>>, Failure> {
    let service_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(service_threads())
        .thread_name("perf-service")
        .enable_all()
        .build()
        .map_err(runtime_error)?;
    let http = !is_stateful::<S>();
    let (base, service, setup_ns) = match resolve(scenario, &service_rt)? {
        Some(found) => found,
        // A `User<S>` test needs no HTTP service: its users share the setup's state.
        None if !http => (String::new(), None, None),
        None if smoke => {
            eprintln!(
                "perf-harness: `{}` not run: no service to load (set {ENV_BASE_URL} or give the \
                 test a `setup` that starts one)",
                test.name
            );
            return Ok(None);
        }
        None => {
            return Err(Failure::Infrastructure(format!(
                "no service to load: pass `--base-url URL` to cargo perf (or set {ENV_BASE_URL}), \
                 or give the test a `setup = start_service` that returns its address"
            )))
        }
    };
    if !base.is_empty() {
        probe(&base)?;
    }
    let state_start = Instant::now();
    let state = {
        let _guard = service_rt.enter();
        (scenario.state)()?
    };
    let setup_ns = match (setup_ns, http) {
        (s, true) => s,
        (s, false) => Some(s.unwrap_or(0) + state_start.elapsed().as_nanos() as u64),
    };
    Ok(Some(Setup {
        state: Rc::new(state),
        service,
        base,
        setup_ns,
        service_rt,
    }))
}

impl<S> Setup<S> {
    /// Drops the state before the runtime that drives its connections, samples CPU and
    /// memory, stops the service; gives back the base URL and the setup time.
    fn tear_down(self) -> (String, Option<u64>, Resources) {
        let Setup {
            state,
            service,
            base,
            setup_ns,
            service_rt,
        } = self;
        drop(state);
        let mut resources = Resources::new();
        resources.sample();
        drop(service);
        service_rt.shutdown_timeout(Duration::from_secs(1));
        (base, setup_ns, resources)
    }
}

/// What generating the load gave: the workers' metrics merged, how the drive went, and the
/// timeline with its CPU and memory samples.
struct Generated {
    base: String,
    setup_ns: Option<u64>,
    metrics: Metrics,
    driven: Driven,
    /// Generator threads the load ran on.
    workers: usize,
    /// One point per second (full runs).
    timeline: Vec<Tick>,
    /// CPU and memory sampled each second (full runs).
    sampled: Option<Resources>,
    /// CPU and memory after the load.
    resources: Resources,
    /// Statements per iteration, when a database client reported any.
    queries: Option<QueryStats>,
}

/// One generator worker's part: its plan, where its users' numbers start, and where it sends
/// its beats (full runs).
struct Job<'a, S: 'static> {
    plan: Plan,
    body: LoadBody<S>,
    base: &'a str,
    /// The worker's number, from 0.
    worker: usize,
    /// The number of its first user: users are numbered across workers.
    first_user: u64,
    start: &'a StartLine,
    beats: Option<Sender<Beat>>,
    full: bool,
}

/// Drives the load on `workers` threads (this one, with the setup's state, and `workers - 1`
/// more, each on its own current-thread runtime; see `drive`) with the statement capture
/// around them, merges what they measured, then tears the setup down.
fn generate<S: 'static>(
    plan: &Plan,
    scenario: &Scenario<S>,
    setup: Setup<S>,
    workers: usize,
    smoke: bool,
) -> Result<Generated, Failure> {
    // One test per process under `cargo perf`: the capture sees every statement of the run.
    let capture = if smoke { None } else { Capture::open() };
    if let Some(c) = &capture {
        c.begin_call();
    }
    let full = !smoke;
    let start = StartLine::new(workers + usize::from(full));
    let jobs = jobs(plan, scenario.body, &setup.base, workers, &start, full);
    let (results, timeline, sampled) = std::thread::scope(|scope| {
        let (beats, received) = mpsc::channel();
        let collector = full.then(|| {
            let start = &start;
            let total = plan.duration;
            scope.spawn(move || {
                // The first CPU reading has nothing before it: taken before the start.
                let resources = Resources::new();
                let t0 = start.wait();
                timeline::collect(received, workers, t0, total, resources)
            })
        });
        let mut jobs = jobs.into_iter().map(|mut job| {
            job.beats = full.then(|| beats.clone());
            job
        });
        let first = jobs.next();
        let state_of = scenario.state;
        let others: Vec<_> = jobs
            .map(|job| {
                std::thread::Builder::new()
                    .name(format!("perf-load-{}", job.worker))
                    .spawn_scoped(scope, move || run_worker(job, state_of().map(Rc::new)))
            })
            .collect();
        drop(beats);
        let mut results: Vec<_> = first
            .map(|job| run_worker(job, Ok(setup.state.clone())))
            .into_iter()
            .collect();
        for handle in others {
            results.push(match handle {
                Ok(h) => h.join().unwrap_or_else(|p| {
                    Err(Failure::Harness(format!(
                        "a generator thread panicked: {}",
                        crate::outcome::panic_message(p.as_ref())
                    )))
                }),
                Err(e) => Err(Failure::Harness(format!(
                    "cannot start a generator thread: {e}"
                ))),
            });
        }
        let (timeline, sampled) = match collector.map(|c| c.join()) {
            Some(Ok((t, r))) => (t, Some(r)),
            _ => (Vec::new(), None),
        };
        (results, timeline, sampled)
    });
    // Statements of dropping the state (a fixture's cleanup) are not the load's.
    if let Some(c) = &capture {
        c.end_call();
    }
    let (base, setup_ns, resources) = setup.tear_down();
    let (metrics, driven) = merged(results)?;
    let iterations = metrics.iterations;
    let queries = capture.and_then(|c| per_iteration(c.finish()?, &driven, iterations));
    Ok(Generated {
        base,
        setup_ns,
        metrics,
        driven,
        workers,
        timeline,
        sampled,
        resources,
        queries,
    })
}

/// The workers' jobs: worker `w` of `n` gets `plan.worker(w/n)`, its users numbered after the
/// users of the workers before it.
fn jobs<'a, S: 'static>(
    plan: &Plan,
    body: LoadBody<S>,
    base: &'a str,
    workers: usize,
    start: &'a StartLine,
    full: bool,
) -> Vec<Job<'a, S>> {
    let count = workers as u32;
    let mut first_user = 0;
    (0..workers)
        .map(|worker| {
            let part = plan.worker(Shard {
                index: worker as u32 + 1,
                count,
            });
            let job = Job {
                first_user,
                plan: part,
                body,
                base,
                worker,
                start,
                beats: None,
                full,
            };
            first_user += job.plan.max_users;
            job
        })
        .collect()
}

/// Runs one worker on this thread: its own current-thread runtime and `LocalSet`, its users
/// sharing its metrics through a `RefCell`. Waits at the start line even when it cannot run,
/// so the others are not left waiting.
fn run_worker<S: 'static>(
    job: Job<'_, S>,
    state: Result<Rc<S>, Failure>,
) -> Result<(Metrics, Driven), Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(runtime_error);
    let (rt, state) = match (runtime, state) {
        (Ok(rt), Ok(state)) => (rt, state),
        (Err(e), _) | (_, Err(e)) => {
            job.start.wait();
            return Err(e);
        }
    };
    let local = tokio::task::LocalSet::new();
    let metrics = Rc::new(RefCell::new(Metrics::default()));
    let driven = local.block_on(&rt, drive(job, metrics.clone(), state));
    drop(local);
    drop(rt);
    let metrics = std::mem::take(&mut *metrics.borrow_mut());
    Ok((metrics, driven?))
}

/// The workers' metrics and drives added up; the first worker's failure, if any.
fn merged(results: Vec<Result<(Metrics, Driven), Failure>>) -> Result<(Metrics, Driven), Failure> {
    let mut all: Option<(Metrics, Driven)> = None;
    for result in results {
        let (metrics, driven) = result?;
        match &mut all {
            Some((m, d)) => {
                m.merge(metrics);
                d.merge(driven);
            }
            None => all = Some((metrics, driven)),
        }
    }
    all.ok_or_else(|| Failure::Harness("no generator worker ran".into()))
}

/// The captured statements counted per iteration. When no iteration ran them itself, they ran
/// on the threads of a service the setup started in this process (its own sqlx pool, say):
/// those are averaged over the load's iterations (their total would grow with the duration and
/// could not be gated), and `max_queries` holds the mean, rounded: the statements of the few
/// requests still in flight at the end cannot turn a 1 into a 2.
fn per_iteration(mut q: QueryStats, driven: &Driven, iterations: u64) -> Option<QueryStats> {
    match driven.statements_per_iteration {
        Some(per) => {
            q.calls = per.iterations;
            q.min_per_call = per.min;
            q.max_per_call = per.max;
            q.mean_per_call = per.total as f64 / per.iterations as f64;
        }
        None if iterations > 0 && q.statements > 0 => {
            q.calls = iterations;
            q.mean_per_call = q.statements as f64 / iterations as f64;
            q.min_per_call = q.mean_per_call.round() as u64;
            q.max_per_call = q.min_per_call;
            q.averaged = true;
        }
        None => return None,
    }
    Some(q)
}

/// A smoke run passes when every iteration succeeded (and at least one finished).
fn smoke_verdict(m: &Metrics, driven: &Driven) -> Result<Option<Measurement>, Failure> {
    if !m.threshold_errors.is_empty() {
        return Err(Failure::Harness(format!(
            "the body declares a threshold that does not parse: {}",
            m.threshold_errors.join("; ")
        )));
    }
    match m.messages.first() {
        Some(first) if m.failed_iterations > 0 => Err(Failure::Harness(format!(
            "{} of {} iterations failed: {first}",
            m.failed_iterations, m.iterations
        ))),
        _ if m.iterations == 0 => Err(Failure::Harness(format!(
            "no iteration finished ({} interrupted)",
            driven.interrupted_iterations
        ))),
        _ => Ok(None),
    }
}

/// A full run's measurement: the load report, the iteration statistics, and the reason the
/// test fails although it was measured, if any.
fn measurement(plan: &Plan, load: Generated, started: Instant) -> Measurement {
    let report = report(plan, &load);
    let failure = measured_failure(&load.metrics, &load.driven);
    let m = load.metrics;
    let stats = crate::stats::iteration_stats(&m.iteration, report.iterations_per_s);
    Measurement {
        stats,
        samples_ns: Vec::new(),
        histogram: m.iteration,
        criterion: None,
        setup_ns: load.setup_ns,
        elapsed_ns: started.elapsed().as_nanos() as u64,
        queries: load.queries,
        load: Some(report),
        failure,
    }
}

/// Why a measured run still fails: a threshold in the body that does not parse, a panic,
/// every iteration failed, none finished, or Ctrl-C.
fn measured_failure(m: &Metrics, driven: &Driven) -> Option<String> {
    if !m.threshold_errors.is_empty() {
        Some(format!(
            "the body declares a threshold that does not parse: {}",
            m.threshold_errors.join("; ")
        ))
    } else if m.panics > 0 {
        Some(format!(
            "{} of {} iterations panicked: {}",
            m.panics,
            m.iterations,
            m.messages.first().map_or("", String::as_str)
        ))
    } else if m.iterations > 0 && m.failed_iterations == m.iterations {
        Some(format!(
            "every iteration failed ({}); first error: {}",
            m.iterations,
            m.messages.first().map_or("-", String::as_str)
        ))
    } else if m.iterations == 0 {
        Some(format!(
            "no iteration finished in {:.1}s ({} dropped, {} interrupted)",
            driven.elapsed.as_secs_f64(),
            driven.dropped,
            driven.interrupted_iterations
        ))
    } else if driven.interrupted {
        Some(format!(
            "interrupted (Ctrl-C) after {:.1}s; partial results are kept",
            driven.elapsed.as_secs_f64()
        ))
    } else {
        None
    }
}

fn runtime_error(e: std::io::Error) -> Failure {
    Failure::Harness(format!("cannot start a tokio runtime: {e}"))
}

type Resolved = (String, Option<Service>, Option<u64>);

/// Whether `S` is a real shared state (`User<S>`), not the `()` of a plain `User`.
fn is_stateful<S: 'static>() -> bool {
    std::any::TypeId::of::<S>() != std::any::TypeId::of::<()>()
}

/// The base URL: `PERF_BASE_URL` (from `--base-url`) wins; else the test's `setup`.
fn resolve<S>(
    routine: &Scenario<S>,
    service_rt: &tokio::runtime::Runtime,
) -> Result<Option<Resolved>, Failure> {
    if let Some(url) = std::env::var(ENV_BASE_URL)
        .ok()
        .filter(|u| !u.trim().is_empty())
    {
        return Ok(Some((
            url.trim().trim_end_matches('/').to_string(),
            None,
            None,
        )));
    }
    let Some(setup) = routine.service else {
        return Ok(None);
    };
    let _guard = service_rt.enter();
    let start = Instant::now();
    let service = setup()?;
    let took = start.elapsed().as_nanos() as u64;
    let url = service.url().trim_end_matches('/').to_string();
    Ok(Some((url, Some(service), Some(took))))
}

/// Fails fast, as an infrastructure error, when nothing listens at the base URL.
fn probe(base: &str) -> Result<(), Failure> {
    let url = reqwest::Url::parse(base).map_err(|e| {
        Failure::Infrastructure(format!(
            "base URL `{base}` is not a URL ({e}); expected e.g. http://127.0.0.1:8080"
        ))
    })?;
    if url.scheme() != "http" {
        return Err(Failure::Infrastructure(format!(
            "base URL `{base}`: only http:// is supported by this build (no TLS stack)"
        )));
    }
    let addrs = url.socket_addrs(|| Some(80)).map_err(|e| {
        Failure::Infrastructure(format!("cannot resolve the host of `{base}`: {e}"))
    })?;
    let mut last = None;
    for addr in &addrs {
        match std::net::TcpStream::connect_timeout(addr, Duration::from_secs(2)) {
            Ok(_) => return Ok(()),
            Err(e) => last = Some(e),
        }
    }
    Err(Failure::Infrastructure(format!(
        "cannot connect to the service at {base}: {}; is it running? Pass `--base-url URL` \
         (or set {ENV_BASE_URL}), or give the test a `setup` that starts it",
        last.map_or_else(|| "no address".to_string(), |e| e.to_string())
    )))
}

/// State shared by the users of one worker (single thread: `Cell`s, no atomics or locks).
struct Ctx<S: 'static> {
    body: LoadBody<S>,
    metrics: Rc<RefCell<Metrics>>,
    timeout: Option<Duration>,
    deadline: Instant,
    stop: Cell<bool>,
    /// Iterations that may still start.
    budget: Cell<u64>,
    in_flight: Cell<u64>,
    dropped: Cell<u64>,
    /// Closed model: users wanted now.
    target: Cell<u64>,
    /// Statements the finished iterations issued (database load tests).
    statements: Cell<StatementsPerIteration>,
}

impl<S> Ctx<S> {
    /// The context of a load that starts at `t0`.
    fn new(plan: &Plan, body: LoadBody<S>, metrics: Rc<RefCell<Metrics>>, t0: Instant) -> Ctx<S> {
        Ctx {
            body,
            metrics,
            timeout: plan.timeout,
            deadline: t0 + plan.duration,
            stop: Cell::new(false),
            budget: Cell::new(plan.iterations.unwrap_or(u64::MAX)),
            in_flight: Cell::new(0),
            dropped: Cell::new(0),
            target: Cell::new(0),
            statements: Cell::new(StatementsPerIteration::default()),
        }
    }

    fn take_budget(&self) -> bool {
        let b = self.budget.get();
        if b == 0 {
            return false;
        }
        self.budget.set(b - 1);
        true
    }
}

/// How a worker's drive went (or the workers' together, once merged).
struct Driven {
    elapsed: Duration,
    dropped: u64,
    interrupted_iterations: u64,
    interrupted: bool,
    peak_users: u64,
    /// Statements per finished iteration; `None` when no iteration issued one.
    statements_per_iteration: Option<StatementsPerIteration>,
}

impl Driven {
    /// Adds another worker's drive: counts summed, the longest time, interrupted if either was.
    fn merge(&mut self, other: Driven) {
        self.elapsed = self.elapsed.max(other.elapsed);
        self.dropped += other.dropped;
        self.interrupted_iterations += other.interrupted_iterations;
        self.interrupted |= other.interrupted;
        self.peak_users += other.peak_users;
        self.statements_per_iteration = match (
            self.statements_per_iteration,
            other.statements_per_iteration,
        ) {
            (Some(mut a), Some(b)) => {
                a.merge(b);
                Some(a)
            }
            (a, b) => a.or(b),
        };
    }
}

/// Resolves when the run is interrupted (Ctrl-C; full runs only).
type Interrupt = Pin<Box<dyn Future<Output = ()>>>;

/// Generates one worker's load: starts its users (closed model) or arrivals (open model),
/// follows the stages until the deadline, drains the running iterations, and sends its beats.
async fn drive<S: 'static>(
    job: Job<'_, S>,
    metrics: Rc<RefCell<Metrics>>,
    state: Rc<S>,
) -> Result<Driven, Failure> {
    let plan = &job.plan;
    let users = Users {
        base: job.base.into(),
        metrics: metrics.clone(),
        state,
        first: job.first_user,
    };
    // What takes milliseconds is done before the clock starts, or the first slots would be late:
    // the open model's first user (its HTTP client).
    let first = match plan.model {
        Model::Open if plan.max_users > 0 => Some(users.make(0)),
        _ => None,
    };
    let mut interrupt = interrupt(job.full);
    // Blocks this thread until every worker is ready; nothing runs on it before the start.
    let t0 = job.start.wait();
    let first = first.transpose()?;
    let ctx = Rc::new(Ctx::new(plan, job.body, metrics, t0));
    let pulse = Pulse::start(&ctx, plan.model, t0, job.worker, job.beats);
    let mut set: JoinSet<()> = JoinSet::new();
    let (peak_users, interrupted) = match plan.model {
        Model::Closed => closed_users(plan, &ctx, &users, &mut set, &mut interrupt, t0).await?,
        Model::Open => {
            open_arrivals(plan, &ctx, (&users, first), &mut set, &mut interrupt, t0).await?
        }
    };
    let (interrupted, interrupted_iterations) =
        drain(plan, &ctx, &mut set, &mut interrupt, interrupted).await;
    let elapsed = t0.elapsed();
    pulse.finish(&ctx, plan.model);
    let statements = ctx.statements.get();
    let statements_per_iteration = (statements.total > 0).then_some(statements);
    Ok(Driven {
        elapsed,
        dropped: ctx.dropped.get(),
        interrupted_iterations,
        interrupted,
        peak_users,
        statements_per_iteration,
    })
}

/// Ctrl-C in a full run; never in a smoke run (libtest owns the terminal there).
fn interrupt(full: bool) -> Interrupt {
    if full {
        Box::pin(async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    } else {
        Box::pin(std::future::pending())
    }
}

/// Makes a worker's virtual users: each with its own client, all sharing the worker's metrics
/// and the test's state.
struct Users<S> {
    base: Rc<str>,
    metrics: Rc<RefCell<Metrics>>,
    state: Rc<S>,
    /// The number of the worker's first user (users are numbered across workers).
    first: u64,
}

impl<S> Users<S> {
    /// The worker's user number `index` (from 0).
    fn make(&self, index: u64) -> Result<User<S>, Failure> {
        User::new(
            self.first + index,
            self.base.clone(),
            self.metrics.clone(),
            self.state.clone(),
        )
        .map_err(client_error)
    }
}

/// Closed model: starts every user, then follows the stages' user count until the deadline
/// (or until every user is done). Returns the peak users and whether Ctrl-C came.
async fn closed_users<S: 'static>(
    plan: &Plan,
    ctx: &Rc<Ctx<S>>,
    users: &Users<S>,
    set: &mut JoinSet<()>,
    interrupt: &mut Interrupt,
    t0: Instant,
) -> Result<(u64, bool), Failure> {
    ctx.target.set(plan.users_at(0));
    for i in 0..plan.max_users {
        let user = users.make(i)?;
        set.spawn_local(user_loop(
            ctx.clone(),
            (user, i),
            plan.think,
            plan.iterations_per_user,
        ));
    }
    let mut interrupted = false;
    loop {
        let now = Instant::now();
        if now >= ctx.deadline || set.is_empty() {
            break;
        }
        ctx.target.set(plan.users_at((now - t0).as_nanos() as u64));
        let step = Duration::from_millis(50).min(ctx.deadline - now);
        tokio::select! {
            _ = tokio::time::sleep(step) => {}
            Some(_) = set.join_next() => {}
            _ = &mut *interrupt => { interrupted = true; break; }
        }
    }
    Ok((plan.max_users, interrupted))
}

/// Open model: starts each iteration at its slot in the schedule on a free user (`first`, made
/// before the clock started, then one spare made after each slot that left none free, up to
/// `max_users`; an arrival that finds none is dropped). Returns the users made and whether
/// Ctrl-C came.
async fn open_arrivals<S: 'static>(
    plan: &Plan,
    ctx: &Rc<Ctx<S>>,
    (users, first): (&Users<S>, Option<User<S>>),
    set: &mut JoinSet<()>,
    interrupt: &mut Interrupt,
    t0: Instant,
) -> Result<(u64, bool), Failure> {
    let duration_ns = plan.duration.as_nanos() as u64;
    let mut created = u64::from(first.is_some());
    let pool: Rc<RefCell<Vec<User<S>>>> = Rc::new(RefCell::new(first.into_iter().collect()));
    let mut interrupted = false;
    // Wakes at each slot to within microseconds, so the generator's lateness does not pollute
    // the latency measured from the schedule.
    let mut alarm = Alarm::new();
    // A free user waits before each slot: making one (its HTTP client) takes longer than a
    // slot may be late, so it is made after the previous slot, not on the next one's time.
    let spare = |created: &mut u64| -> Result<(), Failure> {
        let user = users.make(*created)?;
        *created += 1;
        pool.borrow_mut().push(user);
        Ok(())
    };
    for offset in plan.profile.arrivals().map(|o| o + plan.phase_ns) {
        if offset >= duration_ns || ctx.budget.get() == 0 {
            break;
        }
        let at = t0 + Duration::from_nanos(offset);
        tokio::select! {
            _ = alarm.until(at) => {}
            _ = &mut *interrupt => { interrupted = true; break; }
        }
        while set.try_join_next().is_some() {}
        let Some(mut user) = pool.borrow_mut().pop() else {
            ctx.dropped.set(ctx.dropped.get() + 1);
            continue;
        };
        ctx.budget.set(ctx.budget.get() - 1);
        let (c, p) = (ctx.clone(), pool.clone());
        let sink = Iteration::new(ctx.metrics.clone());
        set.spawn_local(async move {
            run_iteration(&c, &mut user, &sink, at).await;
            p.borrow_mut().push(user);
        });
        if pool.borrow().is_empty() && created < plan.max_users {
            // The iteration just spawned starts first; then the next slot's user is made.
            tokio::task::yield_now().await;
            spare(&mut created)?;
        }
    }
    Ok((created, interrupted))
}

/// Graceful stop: no new iterations; running ones get `grace` to finish (unless Ctrl-C
/// came), then are cancelled. Returns whether Ctrl-C came and the iterations cut off.
async fn drain<S>(
    plan: &Plan,
    ctx: &Ctx<S>,
    set: &mut JoinSet<()>,
    interrupt: &mut Interrupt,
    mut interrupted: bool,
) -> (bool, u64) {
    ctx.stop.set(true);
    if !interrupted {
        let grace_end = tokio::time::Instant::now() + plan.grace;
        tokio::select! {
            _ = async { while set.join_next().await.is_some() {} } => {}
            _ = tokio::time::sleep_until(grace_end) => {}
            _ = &mut *interrupt => { interrupted = true; }
        }
    }
    let interrupted_iterations = ctx.in_flight.get();
    set.abort_all();
    while set.join_next().await.is_some() {}
    (interrupted, interrupted_iterations)
}

/// A worker's part of the timeline (full runs): a beat every second and a last one at the end.
struct Pulse {
    beats: Option<Sender<Beat>>,
    task: Option<tokio::task::JoinHandle<()>>,
    worker: usize,
}

impl Pulse {
    /// Starts beating when `beats` is given.
    fn start<S: 'static>(
        ctx: &Rc<Ctx<S>>,
        model: Model,
        t0: Instant,
        worker: usize,
        beats: Option<Sender<Beat>>,
    ) -> Pulse {
        let task = beats
            .clone()
            .map(|tx| tokio::task::spawn_local(pulse(ctx.clone(), model, t0, worker, tx)));
        Pulse {
            beats,
            task,
            worker,
        }
    }

    /// Stops beating and sends the last beat: what finished since the previous one.
    fn finish<S>(self, ctx: &Ctx<S>, model: Model) {
        if let Some(t) = self.task {
            t.abort();
        }
        if let Some(tx) = self.beats {
            let _ = tx.send(beat(ctx, model, self.worker, true));
        }
    }
}

/// Sends a beat each second after `t0` (a channel send: no I/O on the generator's thread).
async fn pulse<S>(ctx: Rc<Ctx<S>>, model: Model, t0: Instant, worker: usize, beats: Sender<Beat>) {
    let mut interval =
        tokio::time::interval_at((t0 + Duration::from_secs(1)).into(), Duration::from_secs(1));
    loop {
        interval.tick().await;
        if beats.send(beat(&ctx, model, worker, false)).is_err() {
            return;
        }
    }
}

/// The worker's counts now, and the iterations finished since its previous beat (recorded
/// apart as they finished: subtracting cumulative histograms here took up to 0.85 ms, which
/// delayed slots).
fn beat<S>(ctx: &Ctx<S>, model: Model, worker: usize, last: bool) -> Beat {
    let mut m = ctx.metrics.borrow_mut();
    let since = m.since_tick.clone();
    m.since_tick.reset();
    Beat {
        worker,
        last,
        users: match model {
            Model::Closed => ctx.target.get(),
            Model::Open => ctx.in_flight.get(),
        },
        iterations: m.iterations,
        requests: m.requests,
        failed_iterations: m.failed_iterations,
        dropped: ctx.dropped.get(),
        since,
    }
}

fn client_error(e: reqwest::Error) -> Failure {
    Failure::Harness(format!(
        "cannot build an HTTP client for a virtual user: {e}"
    ))
}

/// A closed-model user's loop; `slot` is its number in its worker, which the stages' user
/// count (this worker's part) is compared with.
async fn user_loop<S: 'static>(
    ctx: Rc<Ctx<S>>,
    (mut user, slot): (User<S>, u64),
    think: Option<Duration>,
    own: Option<u64>,
) {
    let sink = Iteration::new(ctx.metrics.clone());
    let mut scheduled = Instant::now();
    loop {
        if ctx.stop.get() || Instant::now() >= ctx.deadline {
            break;
        }
        if own.is_some_and(|n| user.iteration() >= n) {
            break;
        }
        if slot >= ctx.target.get() {
            // Ramped down (or not yet up): wait for the stage to want this user again.
            tokio::time::sleep(Duration::from_millis(20)).await;
            scheduled = Instant::now();
            continue;
        }
        if !ctx.take_budget() {
            break;
        }
        run_iteration(&ctx, &mut user, &sink, scheduled).await;
        match think {
            Some(t) => {
                scheduled = (Instant::now() + t).min(ctx.deadline);
                tokio::time::sleep_until(scheduled.into()).await;
            }
            None => {
                // A body that never waits must not starve the controller and the ticker.
                tokio::task::yield_now().await;
                scheduled = Instant::now();
            }
        }
    }
}

/// Runs one iteration; `scheduled` is when it should have started (open model: its slot in
/// the schedule), so a late start counts against the service, not silently for it.
async fn run_iteration<S>(
    ctx: &Ctx<S>,
    user: &mut User<S>,
    sink: &Rc<Iteration>,
    scheduled: Instant,
) {
    let started = Instant::now();
    let lag = started.saturating_duration_since(scheduled);
    user.begin_iteration(lag.as_nanos() as u64);
    sink.begin(lag.as_nanos() as u64);
    ctx.in_flight.set(ctx.in_flight.get() + 1);
    let result = {
        let future = CatchUnwind((ctx.body)(user), sink);
        match ctx.timeout {
            Some(limit) => tokio::time::timeout(limit, future).await.ok(),
            None => Some(future.await),
        }
    };
    let end = Instant::now();
    if result.is_some() {
        let mut statements = ctx.statements.get();
        statements.add(sink.statements());
        ctx.statements.set(statements);
    }
    let request_failure = user.end_iteration();
    let mut m = ctx.metrics.borrow_mut();
    let failed = match result {
        None => {
            let limit = ctx.timeout.unwrap_or_default();
            m.record_failure(ErrorKind::IterationTimeout, || {
                format!(
                    "an iteration ran over the timeout of {}",
                    format_ns(limit.as_nanos() as f64)
                )
            });
            true
        }
        Some(Err(panic)) => {
            m.record_failure(ErrorKind::Panic, || format!("the body panicked: {panic}"));
            true
        }
        // An `Err` carrying a failure already counted (a request or socket error returned with
        // `?`) is that failure, not a second one.
        Some(Ok(Err(_))) if request_failure.is_some() => true,
        Some(Ok(Err(message))) => {
            m.record_failure(ErrorKind::Error, || {
                format!("the body returned an error: {message}")
            });
            true
        }
        Some(Ok(Ok(()))) => request_failure.is_some(),
    };
    let times = IterationTimes {
        corrected_ns: end.saturating_duration_since(scheduled).as_nanos() as u64,
        service_ns: (end - started).as_nanos() as u64,
        lag_ns: lag.as_nanos() as u64,
    };
    m.record_iteration(times, failed);
    drop(m);
    ctx.in_flight.set(ctx.in_flight.get() - 1);
}

/// Turns a panic inside the body into a value, so one bad iteration does not end its user;
/// marks its iteration as the one polled, so the statements it runs are attributed to it.
struct CatchUnwind<'a>(BodyFuture<'a, Result<(), String>>, &'a Rc<Iteration>);

impl Future for CatchUnwind<'_> {
    type Output = Result<Result<(), String>, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let iteration: Rc<dyn observer::Observer> = self.1.clone();
        let _polled = observer::enter(iteration);
        let inner = &mut self.0;
        match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(crate::outcome::panic_message(payload.as_ref()))),
        }
    }
}

/// The load report of a full run.
fn report(plan: &Plan, load: &Generated) -> LoadReport {
    let (m, d, end) = (&load.metrics, &load.driven, &load.resources);
    let secs = d.elapsed.as_secs_f64().max(1e-9);
    let open = plan.model == Model::Open;
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let sampled = load.sampled.as_ref();
    let cpu = sampled.map_or(&[][..], |r| &r.cpu[..]);
    LoadReport {
        model: plan.model,
        base_url: load.base.clone(),
        duration_s: d.elapsed.as_secs_f64(),
        iterations: m.iterations,
        failed_iterations: m.failed_iterations,
        dropped_iterations: d.dropped,
        interrupted_iterations: d.interrupted_iterations,
        requests: m.requests,
        failed_requests: m.failed_requests,
        iterations_per_s: m.iterations as f64 / secs,
        requests_per_s: m.requests as f64 / secs,
        error_rate: ratio(m.failed_iterations, m.iterations),
        request_error_rate: ratio(m.failed_requests, m.requests),
        errors: m
            .errors
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), *v))
            .collect(),
        statuses: m
            .statuses
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        checks: m.check_reports(),
        iteration: Latency::of(&m.iteration),
        iteration_ok: Some(Latency::of(&m.iteration_ok)),
        iteration_service: open.then(|| Latency::of(&m.iteration_service)),
        schedule_lag: Some(Latency::of(&m.schedule_lag)),
        requests_by_name: m.name_reports(open),
        bytes_sent: m.bytes_sent,
        bytes_received: m.bytes_received,
        peak_users: d.peak_users,
        workers: Some(load.workers as u64),
        timeline: load.timeline.clone(),
        // Skip the first reading (no interval behind it) when there are others.
        cpu_percent: (!cpu.is_empty()).then(|| cpu.iter().sum::<f64>() / cpu.len() as f64),
        peak_rss_bytes: match (sampled.and_then(|r| r.peak_rss), end.peak_rss) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        },
        first_errors: m.messages.clone(),
        interrupted: d.interrupted,
        shard: plan.shard,
        request_thresholds: m.request_thresholds.clone(),
        service_process: sampled.and_then(Resources::service_summary).map(|mut s| {
            s.exited_after_s = load
                .timeline
                .iter()
                .find(|t| t.service.is_none())
                .map(|t| t.t_s);
            s
        }),
        websocket: m.ws.map(|ws| WsReport {
            ws_connects: ws.connects,
            ws_sessions: ws.sessions,
            ws_msgs_sent: ws.msgs_sent,
            ws_msgs_received: ws.msgs_received,
            ws_msgs_sent_per_s: ws.msgs_sent as f64 / secs,
            ws_msgs_received_per_s: ws.msgs_received as f64 / secs,
        }),
    }
}
