//! The load generator: resolves the service, drives users or arrivals on one thread, stops
//! gracefully, samples CPU and memory, and turns the worker's metrics into a `LoadReport`.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io::IsTerminal;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::alarm::Alarm;
use super::report::{Latency, LoadReport, Model, ProcessTick, Tick, WsReport};
use super::resources::{Resources, Sample};
use super::statements::{Iteration, StatementsPerIteration};
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
    let load = generate(&plan, scenario.body, setup, smoke)?;
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
        .worker_threads(1)
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

/// What generating the load gave: the worker's metrics and how the drive went.
struct Generated {
    base: String,
    setup_ns: Option<u64>,
    metrics: Metrics,
    driven: Driven,
    /// CPU and memory after the load.
    resources: Resources,
    /// Statements per iteration, when a database client reported any.
    queries: Option<QueryStats>,
}

/// Drives the load on this thread (see `drive`) with the statement capture around it, then
/// tears the setup down.
fn generate<S: 'static>(
    plan: &Plan,
    body: LoadBody<S>,
    setup: Setup<S>,
    smoke: bool,
) -> Result<Generated, Failure> {
    // One test per process under `cargo perf`: the capture sees every statement of the run.
    let capture = if smoke { None } else { Capture::open() };
    if let Some(c) = &capture {
        c.begin_call();
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(runtime_error)?;
    let local = tokio::task::LocalSet::new();
    let metrics = Rc::new(RefCell::new(Metrics::default()));
    let driven = local.block_on(
        &rt,
        drive(
            plan,
            body,
            setup.base.as_str().into(),
            metrics.clone(),
            setup.state.clone(),
            !smoke,
        ),
    );
    drop(local);
    drop(rt);
    // Statements of dropping the state (a fixture's cleanup) are not the load's.
    if let Some(c) = &capture {
        c.end_call();
    }
    let (base, setup_ns, resources) = setup.tear_down();
    let driven = driven?;
    let metrics = std::mem::take(&mut *metrics.borrow_mut());
    let iterations = metrics.iterations;
    let queries = capture.and_then(|c| per_iteration(c.finish()?, &driven, iterations));
    Ok(Generated {
        base,
        setup_ns,
        metrics,
        driven,
        resources,
        queries,
    })
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
    let Generated {
        base,
        setup_ns,
        metrics: m,
        driven,
        resources,
        queries,
    } = load;
    let report = report(plan, &base, &m, &driven, &resources);
    let failure = measured_failure(&m, &driven);
    let stats = crate::stats::iteration_stats(&m.iteration, report.iterations_per_s);
    Measurement {
        stats,
        samples_ns: Vec::new(),
        histogram: m.iteration.clone(),
        criterion: None,
        setup_ns,
        elapsed_ns: started.elapsed().as_nanos() as u64,
        queries,
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

struct Driven {
    elapsed: Duration,
    dropped: u64,
    interrupted_iterations: u64,
    interrupted: bool,
    peak_users: u64,
    timeline: Vec<Tick>,
    resources: Resources,
    /// Statements per finished iteration; `None` when no iteration issued one.
    statements_per_iteration: Option<StatementsPerIteration>,
}

/// Resolves when the run is interrupted (Ctrl-C; full runs only).
type Interrupt = Pin<Box<dyn Future<Output = ()>>>;

/// Generates the load: starts the users (closed model) or the arrivals (open model), follows
/// the stages until the deadline, drains the running iterations, and gathers the timeline.
async fn drive<S: 'static>(
    plan: &Plan,
    body: LoadBody<S>,
    base: Rc<str>,
    metrics: Rc<RefCell<Metrics>>,
    state: Rc<S>,
    full: bool,
) -> Result<Driven, Failure> {
    let users = Users {
        base,
        metrics: metrics.clone(),
        state,
    };
    // What takes milliseconds is done before the clock starts, or the first slots would be late:
    // the first sample of /proc, and the open model's first user (its HTTP client).
    let resources = Resources::new();
    let first = match plan.model {
        Model::Open if plan.max_users > 0 => Some(users.make(0)?),
        _ => None,
    };
    let mut interrupt = interrupt(full);
    let t0 = Instant::now();
    let ctx = Rc::new(Ctx::new(plan, body, metrics, t0));
    let ticker = Ticker::start(&ctx, plan, t0, full, resources);
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
    let (timeline, resources) = ticker.finish(&ctx, plan.model, t0, full);
    let statements = ctx.statements.get();
    let statements_per_iteration = (statements.total > 0).then_some(statements);
    Ok(Driven {
        elapsed,
        dropped: ctx.dropped.get(),
        interrupted_iterations,
        interrupted,
        peak_users,
        timeline,
        resources,
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

/// Makes the virtual users: each with its own client, all sharing the worker's metrics and
/// the test's state.
struct Users<S> {
    base: Rc<str>,
    metrics: Rc<RefCell<Metrics>>,
    state: Rc<S>,
}

impl<S> Users<S> {
    /// User number `index`.
    fn make(&self, index: u64) -> Result<User<S>, Failure> {
        User::new(
            index,
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
            user,
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

/// The once-a-second sampler of a full run: the timeline, CPU and memory, the live line.
struct Ticker {
    timeline: Rc<RefCell<Vec<Tick>>>,
    /// Shared with the blocking thread that samples it (reading /proc takes ~2 ms, which must
    /// not delay the schedule's slots on this thread).
    resources: Arc<Mutex<Resources>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Ticker {
    /// Starts ticking (full runs only).
    fn start<S: 'static>(
        ctx: &Rc<Ctx<S>>,
        plan: &Plan,
        t0: Instant,
        full: bool,
        resources: Resources,
    ) -> Ticker {
        let timeline = Rc::new(RefCell::new(Vec::new()));
        let resources = Arc::new(Mutex::new(resources));
        let task = full.then(|| {
            tokio::task::spawn_local(tick(
                ctx.clone(),
                plan.model,
                t0,
                timeline.clone(),
                resources.clone(),
                plan.duration,
            ))
        });
        Ticker {
            timeline,
            resources,
            task,
        }
    }

    /// Stops ticking, records the last point, clears the live line; gives the timeline and
    /// the CPU and memory samples.
    fn finish<S>(
        self,
        ctx: &Ctx<S>,
        model: Model,
        t0: Instant,
        full: bool,
    ) -> (Vec<Tick>, Resources) {
        if let Some(t) = self.task {
            t.abort();
        }
        // The load is over: sampling on this thread delays nothing now.
        let mut resources = lock(&self.resources);
        let sample = resources.sample();
        let service = resources.sample_service();
        record_tick(ctx, model, t0, &self.timeline, sample, service);
        if full && std::io::stderr().is_terminal() {
            eprint!("\r\x1b[2K");
        }
        let timeline = std::mem::take(&mut *self.timeline.borrow_mut());
        let resources = std::mem::replace(&mut *resources, Resources::new());
        (timeline, resources)
    }
}

fn client_error(e: reqwest::Error) -> Failure {
    Failure::Harness(format!(
        "cannot build an HTTP client for a virtual user: {e}"
    ))
}

async fn user_loop<S: 'static>(
    ctx: Rc<Ctx<S>>,
    mut user: User<S>,
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
        if user.index() >= ctx.target.get() {
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

async fn tick<S>(
    ctx: Rc<Ctx<S>>,
    model: Model,
    t0: Instant,
    timeline: Rc<RefCell<Vec<Tick>>>,
    resources: Arc<Mutex<Resources>>,
    total: Duration,
) {
    // `cargo perf` shows the line in its own progress bar (the test's stderr is a pipe there);
    // a test binary run by hand on a terminal draws it itself.
    let to_file =
        std::env::var_os(perf_schema::protocol::ENV_PROGRESS).map(std::path::PathBuf::from);
    let to_terminal = to_file.is_none() && std::io::stderr().is_terminal();
    let mut interval =
        tokio::time::interval_at((t0 + Duration::from_secs(1)).into(), Duration::from_secs(1));
    loop {
        interval.tick().await;
        let sampling = resources.clone();
        let (sample, service) = tokio::task::spawn_blocking(move || {
            let mut resources = lock(&sampling);
            (resources.sample(), resources.sample_service())
        })
        .await
        .unwrap_or_default();
        record_tick(&ctx, model, t0, &timeline, sample, service);
        if to_file.is_none() && !to_terminal {
            continue;
        }
        let Some(line) = timeline
            .borrow()
            .last()
            .map(|t| progress_line(t, total, &ctx.metrics.borrow()))
        else {
            continue;
        };
        match &to_file {
            // Best effort, off this thread and without fsync (a reader needs the rename's
            // atomicity, not durability): file I/O here would delay the slots of the schedule.
            Some(path) => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || {
                    let _ = perf_schema::document::replace(&path, line.as_bytes());
                });
            }
            None => eprint!("\r\x1b[2K  {line}"),
        }
    }
}

/// k6-style live line: `load 12s/30s  users 20  iterations 1234 (98/s)  requests 2468
/// (196/s)  failed 0  dropped 0  p95 3.200ms`.
pub fn progress_line(t: &Tick, total: Duration, m: &Metrics) -> String {
    let secs = t.t_s.max(1e-9);
    let p95 = if m.iteration.is_empty() {
        "-".to_string()
    } else {
        format_ns(m.iteration.value_at_quantile(0.95) as f64)
    };
    format!(
        "load {:.0}s/{}  users {}  iterations {} ({:.0}/s)  requests {} ({:.0}/s)  failed {}  \
         dropped {}  p95 {p95}",
        t.t_s,
        if total >= super::MAX_DURATION {
            "-".to_string()
        } else {
            format!("{:.0}s", total.as_secs_f64())
        },
        t.users,
        t.iterations,
        t.iterations as f64 / secs,
        t.requests,
        t.requests as f64 / secs,
        t.failed_iterations,
        t.dropped,
    )
}

fn record_tick<S>(
    ctx: &Ctx<S>,
    model: Model,
    t0: Instant,
    timeline: &RefCell<Vec<Tick>>,
    sample: Sample,
    service: Option<Option<ProcessTick>>,
) {
    let mut m = ctx.metrics.borrow_mut();
    // The iterations completed since the previous point, recorded apart as they finished:
    // subtracting cumulative histograms here took up to 0.85 ms, which delayed slots.
    let (p50_ns, p95_ns) = {
        let fresh = !m.since_tick.is_empty();
        let q = |p: f64| fresh.then(|| m.since_tick.value_at_quantile(p) as f64);
        let quantiles = (q(0.50), q(0.95));
        m.since_tick.reset();
        quantiles
    };
    timeline.borrow_mut().push(Tick {
        t_s: t0.elapsed().as_secs_f64(),
        users: match model {
            Model::Closed => ctx.target.get(),
            Model::Open => ctx.in_flight.get(),
        },
        iterations: m.iterations,
        requests: m.requests,
        failed_iterations: m.failed_iterations,
        dropped: ctx.dropped.get(),
        cpu_percent: sample.cpu_percent,
        rss_bytes: sample.rss_bytes,
        open_fds: sample.open_fds,
        threads: sample.threads,
        p50_ns,
        p95_ns,
        service: service.flatten(),
    });
}

/// The resources, also after a sampling thread panicked (a sample is then simply missing).
fn lock(resources: &Mutex<Resources>) -> std::sync::MutexGuard<'_, Resources> {
    resources
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn report(plan: &Plan, base: &str, m: &Metrics, d: &Driven, end: &Resources) -> LoadReport {
    let secs = d.elapsed.as_secs_f64().max(1e-9);
    let open = plan.model == Model::Open;
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let cpu = &d.resources.cpu;
    LoadReport {
        model: plan.model,
        base_url: base.to_string(),
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
        timeline: d.timeline.clone(),
        // Skip the first reading (no interval behind it) when there are others.
        cpu_percent: (!cpu.is_empty()).then(|| cpu.iter().sum::<f64>() / cpu.len() as f64),
        peak_rss_bytes: match (d.resources.peak_rss, end.peak_rss) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        },
        first_errors: m.messages.clone(),
        interrupted: d.interrupted,
        shard: plan.shard,
        request_thresholds: m.request_thresholds.clone(),
        service_process: d.resources.service_summary().map(|mut s| {
            s.exited_after_s = d
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_live_line_reads_like_k6() {
        let mut m = Metrics::default();
        for ms in 1..=100u64 {
            let ns = ms * 1_000_000;
            let times = IterationTimes {
                corrected_ns: ns,
                service_ns: ns,
                lag_ns: 0,
            };
            m.record_iteration(times, false);
        }
        let t = Tick {
            t_s: 2.0,
            users: 20,
            iterations: 100,
            requests: 300,
            failed_iterations: 1,
            ..Tick::default()
        };
        assert_eq!(
            progress_line(&t, Duration::from_secs(30), &m),
            "load 2s/30s  users 20  iterations 100 (50/s)  requests 300 (150/s)  failed 1  \
             dropped 0  p95 95.03ms" // HDR, 3 digits: the bucket of 95ms
        );
        assert!(
            progress_line(&t, super::super::MAX_DURATION, &Metrics::default())
                .starts_with("load 2s/-  users 20")
        );
    }
}
