//! Merging the shards of a load test (`cargo perf merge`): the records each machine wrote for
//! its part of the load add up into the record of the whole load, histograms included, so the
//! thresholds are judged on the whole.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use perf_schema::histogram::{self as stats, iteration_stats};
use perf_schema::record::load::{CheckReport, Latency, LoadReport, NameReport, Tick, WsReport};
use perf_schema::record::queries::MAX_STATEMENTS_KEPT;
use perf_schema::record::{QueryStats, Record, StatementStats, Status};

/// Adds the records of one load test from every shard into the record of the whole load.
///
/// Histograms are added (HdrHistogram `add`, exact), counts summed, rates summed (the shards
/// ran at the same time), peak memory and mean CPU are the worst shard's (they bound one
/// process), the time series is summed second by second. A shard that failed makes the merged
/// test fail with that shard's message.
pub fn merge(records: &[Record]) -> Result<Record, String> {
    let first = records
        .first()
        .ok_or_else(|| "nothing to merge".to_string())?;
    let name = &first.test.name;
    if let Some(other) = records.iter().find(|r| r.spec != first.spec) {
        return Err(format!(
            "`{name}` has a different attribute in two shards (`{}` and `{}`): every shard must \
             run the same build",
            first.spec, other.spec
        ));
    }
    let loads: Vec<&LoadReport> = records.iter().filter_map(|r| r.load.as_ref()).collect();
    let load = match loads.is_empty() {
        true => None,
        false => Some(merge_reports(&loads).map_err(|e| format!("`{name}`: {e}"))?),
    };
    let messages: Vec<String> = records
        .iter()
        .filter_map(|r| match &r.status {
            Status::Failed { message } => Some(match r.load.as_ref().and_then(|l| l.shard) {
                Some(p) => format!("shard {}: {message}", p.shard),
                None => message.clone(),
            }),
            Status::Measured => None,
        })
        .collect();
    let status = if messages.is_empty() && load.is_some() {
        Status::Measured
    } else if messages.is_empty() {
        Status::Failed {
            message: "no shard measured anything".into(),
        }
    } else {
        Status::Failed {
            message: messages.join("\n"),
        }
    };
    let mut merged = Record::new(first.test.clone(), first.spec.clone(), status);
    if let Some(l) = &load {
        let h = decode(&l.iteration)?;
        merged.histogram = Some(l.iteration.histogram.clone()).filter(|s| !s.is_empty());
        merged.stats = Some(iteration_stats(&h, l.iterations_per_s));
    }
    merged.load = load;
    let queries: Vec<&QueryStats> = records.iter().filter_map(|r| r.queries.as_ref()).collect();
    merged.queries = merge_queries(&queries);
    merged.setup_ns = records.iter().filter_map(|r| r.setup_ns).max();
    merged.elapsed_ns = records.iter().map(|r| r.elapsed_ns).max().unwrap_or(0);
    merged.optimized = records.iter().all(|r| r.optimized);
    merged.quick = records.iter().any(|r| r.quick);
    merged.infrastructure = records.iter().any(|r| r.infrastructure);
    Ok(merged)
}

fn decode(l: &Latency) -> Result<Histogram<u64>, String> {
    if l.histogram.is_empty() {
        return if l.count == 0 {
            Ok(stats::new_histogram())
        } else {
            Err(
                "a shard's record has no histogram to merge (written by an older \
                 perf-harness?); rerun the shards with this version"
                    .into(),
            )
        };
    }
    stats::decode_histogram(&l.histogram)
        .map_err(|e| format!("a shard's histogram cannot be read: {e}"))
}

fn add(into: &mut Histogram<u64>, l: &Latency) -> Result<(), String> {
    let h = decode(l)?;
    into.add(&h)
        .map_err(|e| format!("cannot add the shards' histograms: {e:?}"))
}

fn sum_latency(parts: &[&Latency]) -> Result<Latency, String> {
    let mut h = stats::new_histogram();
    for l in parts {
        add(&mut h, l)?;
    }
    Ok(Latency::of(&h))
}

fn merge_reports(parts: &[&LoadReport]) -> Result<LoadReport, String> {
    let first = parts[0];
    if parts.iter().any(|p| p.model != first.model) {
        return Err("the shards ran different load models (closed and open)".into());
    }
    let sum = |f: fn(&LoadReport) -> u64| parts.iter().map(|p| f(p)).sum::<u64>();
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let mut urls: Vec<String> = Vec::new();
    for p in parts {
        if !urls.contains(&p.base_url) {
            urls.push(p.base_url.clone());
        }
    }
    let counted = |pick: fn(&LoadReport) -> &BTreeMap<String, u64>| {
        let mut out: BTreeMap<String, u64> = BTreeMap::new();
        for p in parts {
            for (k, v) in pick(p) {
                *out.entry(k.clone()).or_insert(0) += v;
            }
        }
        out
    };
    let mut checks: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for c in parts.iter().flat_map(|p| &p.checks) {
        let e = checks.entry(c.name.clone()).or_insert((0, 0));
        e.0 += c.passes;
        e.1 += c.fails;
    }
    let iteration = sum_latency(&parts.iter().map(|p| &p.iteration).collect::<Vec<_>>())?;
    let services: Vec<&Latency> = parts
        .iter()
        .filter_map(|p| p.iteration_service.as_ref())
        .collect();
    let iteration_service = match services.is_empty() {
        true => None,
        false => Some(sum_latency(&services)?),
    };
    // Every shard must have measured these for the merged figure to be the whole run's.
    let oks: Option<Vec<&Latency>> = parts.iter().map(|p| p.iteration_ok.as_ref()).collect();
    let iteration_ok = match oks {
        Some(oks) => Some(sum_latency(&oks)?),
        None => None,
    };
    let lags: Option<Vec<&Latency>> = parts.iter().map(|p| p.schedule_lag.as_ref()).collect();
    let schedule_lag = match lags {
        Some(lags) => Some(sum_latency(&lags)?),
        None => None,
    };
    let mut names: BTreeMap<&str, Vec<&NameReport>> = BTreeMap::new();
    for n in parts.iter().flat_map(|p| &p.requests_by_name) {
        names.entry(&n.name).or_default().push(n);
    }
    let mut requests_by_name = Vec::new();
    for (name, ns) in names {
        let corrected: Vec<&Latency> = ns.iter().filter_map(|n| n.corrected.as_ref()).collect();
        requests_by_name.push(NameReport {
            name: name.to_string(),
            requests: ns.iter().map(|n| n.requests).sum(),
            failed: ns.iter().map(|n| n.failed).sum(),
            latency: sum_latency(&ns.iter().map(|n| &n.latency).collect::<Vec<_>>())?,
            corrected: match corrected.is_empty() {
                true => None,
                false => Some(sum_latency(&corrected)?),
            },
        });
    }
    let longest = parts.iter().map(|p| p.timeline.len()).max().unwrap_or(0);
    let timeline = (0..longest)
        .map(|i| {
            let ticks: Vec<&Tick> = parts.iter().filter_map(|p| p.timeline.get(i)).collect();
            let total = |f: fn(&Tick) -> u64| ticks.iter().map(|t| f(t)).sum::<u64>();
            let opt_sum = |f: fn(&Tick) -> Option<f64>| {
                let v: Vec<f64> = ticks.iter().filter_map(|t| f(t)).collect();
                (!v.is_empty()).then(|| v.iter().sum())
            };
            Tick {
                t_s: ticks.iter().map(|t| t.t_s).fold(0.0, f64::max),
                users: total(|t| t.users),
                iterations: total(|t| t.iterations),
                requests: total(|t| t.requests),
                failed_iterations: total(|t| t.failed_iterations),
                dropped: total(|t| t.dropped),
                cpu_percent: opt_sum(|t| t.cpu_percent),
                rss_bytes: opt_sum(|t| t.rss_bytes.map(|b| b as f64)).map(|b| b as u64),
                open_fds: opt_sum(|t| t.open_fds.map(|n| n as f64)).map(|n| n as u64),
                threads: opt_sum(|t| t.threads.map(|n| n as f64)).map(|n| n as u64),
                // A second's percentiles do not add up across shards, and the shards keep no
                // per-second histograms: the merged timeline has counts only.
                p50_ns: None,
                p95_ns: None,
                // One process, watched by the shard on its machine.
                service: ticks.iter().find_map(|t| t.service),
            }
        })
        .collect();
    let mut first_errors: Vec<String> = Vec::new();
    for m in parts.iter().flat_map(|p| &p.first_errors) {
        if first_errors.len() < 5 && !first_errors.contains(m) {
            first_errors.push(m.clone());
        }
    }
    let iterations = sum(|p| p.iterations);
    let failed_iterations = sum(|p| p.failed_iterations);
    let requests = sum(|p| p.requests);
    let failed_requests = sum(|p| p.failed_requests);
    let mut request_thresholds = Vec::new();
    for t in parts.iter().flat_map(|p| &p.request_thresholds) {
        if !request_thresholds.contains(t) {
            request_thresholds.push(t.clone());
        }
    }
    Ok(LoadReport {
        model: first.model,
        base_url: urls.join(", "),
        duration_s: parts.iter().map(|p| p.duration_s).fold(0.0, f64::max),
        iterations,
        failed_iterations,
        dropped_iterations: sum(|p| p.dropped_iterations),
        interrupted_iterations: sum(|p| p.interrupted_iterations),
        requests,
        failed_requests,
        iterations_per_s: parts.iter().map(|p| p.iterations_per_s).sum(),
        requests_per_s: parts.iter().map(|p| p.requests_per_s).sum(),
        error_rate: ratio(failed_iterations, iterations),
        request_error_rate: ratio(failed_requests, requests),
        errors: counted(|p| &p.errors),
        statuses: counted(|p| &p.statuses),
        checks: checks
            .into_iter()
            .map(|(name, (passes, fails))| CheckReport {
                name,
                passes,
                fails,
            })
            .collect(),
        iteration,
        iteration_ok,
        iteration_service,
        schedule_lag,
        requests_by_name,
        bytes_sent: sum(|p| p.bytes_sent),
        bytes_received: sum(|p| p.bytes_received),
        peak_users: sum(|p| p.peak_users),
        workers: parts.iter().filter_map(|p| p.workers).reduce(|a, b| a + b),
        timeline,
        cpu_percent: parts.iter().filter_map(|p| p.cpu_percent).reduce(f64::max),
        peak_rss_bytes: parts.iter().filter_map(|p| p.peak_rss_bytes).max(),
        first_errors,
        interrupted: parts.iter().any(|p| p.interrupted),
        shard: None,
        request_thresholds,
        // Only the shard on the service's machine can watch its process.
        service_process: parts.iter().find_map(|p| p.service_process.clone()),
        websocket: merge_ws(parts),
    })
}

/// The shards' WebSocket counters summed (each shard's rate is over its own run, so the rates
/// add up as the request rates do); `None` when no shard opened a socket.
fn merge_ws(parts: &[&LoadReport]) -> Option<WsReport> {
    let mut all: Option<WsReport> = None;
    for ws in parts.iter().filter_map(|p| p.websocket) {
        let sum = all.get_or_insert_with(WsReport::default);
        sum.ws_connects += ws.ws_connects;
        sum.ws_sessions += ws.ws_sessions;
        sum.ws_msgs_sent += ws.ws_msgs_sent;
        sum.ws_msgs_received += ws.ws_msgs_received;
        sum.ws_msgs_sent_per_s += ws.ws_msgs_sent_per_s;
        sum.ws_msgs_received_per_s += ws.ws_msgs_received_per_s;
    }
    all
}

/// The statements of one test measured in several processes (the shards of a load test):
/// counts add up exactly and the busiest call is the busiest of all; per statement the
/// count, total, mean and maximum are exact, the p95 is the worst shard's (an upper bound:
/// the shards keep no per-statement histogram), and `distinct` counts the statements kept.
fn merge_queries(parts: &[&QueryStats]) -> Option<QueryStats> {
    let calls: u64 = parts.iter().map(|q| q.calls).sum();
    let statements: u64 = parts.iter().map(|q| q.statements).sum();
    if calls == 0 || statements == 0 {
        return None;
    }
    let mut by_sql: BTreeMap<&str, StatementStats> = BTreeMap::new();
    for s in parts.iter().flat_map(|q| &q.top) {
        let e = by_sql.entry(&s.sql).or_insert_with(|| StatementStats {
            sql: s.sql.clone(),
            count: 0,
            total_ns: 0,
            mean_ns: 0.0,
            p95_ns: 0.0,
            max_ns: 0,
        });
        e.count += s.count;
        e.total_ns += s.total_ns;
        e.mean_ns = e.total_ns as f64 / e.count.max(1) as f64;
        e.p95_ns = e.p95_ns.max(s.p95_ns);
        e.max_ns = e.max_ns.max(s.max_ns);
    }
    let mut top: Vec<StatementStats> = by_sql.into_values().collect();
    top.sort_by(|a, b| b.total_ns.cmp(&a.total_ns).then_with(|| a.sql.cmp(&b.sql)));
    let distinct = parts
        .iter()
        .map(|q| q.distinct)
        .max()
        .unwrap_or(0)
        .max(top.len() as u64);
    top.truncate(MAX_STATEMENTS_KEPT);
    let mean_per_call = statements as f64 / calls as f64;
    // Averaged counts (a service's own threads) merge into the whole load's average.
    let averaged = parts.iter().any(|q| q.averaged);
    let (min_per_call, max_per_call) = match averaged {
        true => (mean_per_call.round() as u64, mean_per_call.round() as u64),
        false => (
            parts.iter().map(|q| q.min_per_call).min().unwrap_or(0),
            parts.iter().map(|q| q.max_per_call).max().unwrap_or(0),
        ),
    };
    Some(QueryStats {
        calls,
        statements,
        min_per_call,
        max_per_call,
        mean_per_call,
        scaling: None,
        distinct,
        averaged,
        top,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use perf_harness::user::metrics::{ErrorKind, IterationTimes, Metrics, RequestOutcome};
    use perf_schema::record::load::Model;
    use perf_schema::record::shard::{Shard, ShardPart};
    use perf_schema::record::TestId;
    use perf_schema::spec::{Kind, Spec};

    fn shard_record(part: u32, outcomes: &[(u16, u64)]) -> (Record, Metrics) {
        let mut m = Metrics::default();
        for &(status, ns) in outcomes {
            m.record_request(
                "login",
                RequestOutcome {
                    status,
                    error: ErrorKind::of_status(status),
                    service_ns: ns,
                    lag_ns: 0,
                    bytes_sent: 10,
                    bytes_received: 20,
                },
            );
            let times = IterationTimes {
                corrected_ns: ns,
                service_ns: ns,
                lag_ns: ns / 100,
            };
            m.record_iteration(times, status >= 400);
        }
        let load = LoadReport {
            model: Model::Closed,
            base_url: "http://127.0.0.1:1".into(),
            duration_s: 2.0 + f64::from(part),
            iterations: m.iterations,
            failed_iterations: m.failed_iterations,
            dropped_iterations: 0,
            interrupted_iterations: 0,
            requests: m.requests,
            failed_requests: m.failed_requests,
            iterations_per_s: m.iterations as f64 / 2.0,
            requests_per_s: m.requests as f64 / 2.0,
            error_rate: 0.0,
            request_error_rate: 0.0,
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
            checks: vec![],
            iteration: Latency::of(&m.iteration),
            iteration_ok: Some(Latency::of(&m.iteration_ok)),
            iteration_service: None,
            schedule_lag: Some(Latency::of(&m.schedule_lag)),
            requests_by_name: m.name_reports(false),
            bytes_sent: m.bytes_sent,
            bytes_received: m.bytes_received,
            peak_users: 2,
            workers: Some(2),
            timeline: vec![],
            cpu_percent: Some(10.0 * f64::from(part)),
            peak_rss_bytes: Some(1000 * u64::from(part)),
            first_errors: vec![],
            interrupted: false,
            shard: Some(ShardPart {
                shard: Shard {
                    index: part,
                    count: 2,
                },
                share: 0.5,
            }),
            request_thresholds: vec![],
            service_process: None,
            websocket: None,
        };
        let test = TestId {
            package: "p".into(),
            target: "t".into(),
            name: "browse".into(),
            file: "tests/load.rs".into(),
            line: 1,
        };
        let spec = Spec {
            kind: Kind::Load,
            users: Some(4),
            ..Spec::MICRO
        };
        let mut r = Record::new(test, spec, Status::Measured);
        r.load = Some(load);
        (r, m)
    }

    #[test]
    fn merging_shards_equals_measuring_everything_in_one_place() {
        let a: Vec<(u16, u64)> = (1..=300).map(|i| (200, i * 1_000)).collect();
        let b: Vec<(u16, u64)> = (1..=200)
            .map(|i| (if i % 50 == 0 { 503 } else { 200 }, i * 7_000))
            .collect();
        let (ra, ma) = shard_record(1, &a);
        let (rb, mb) = shard_record(2, &b);
        let mut whole = ma;
        whole.merge(mb);
        let merged = merge(&[ra, rb]).expect("merges");
        let l = merged.load.as_ref().expect("load");
        assert_eq!(merged.status, Status::Measured);
        assert_eq!((l.iterations, l.requests, l.failed_requests), (500, 500, 4));
        assert_eq!(l.error_rate, 4.0 / 500.0);
        assert_eq!(l.statuses["200"], 496);
        assert_eq!(l.errors["5xx"], 4);
        assert_eq!(l.iterations_per_s, 250.0);
        assert_eq!(l.duration_s, 4.0);
        assert_eq!((l.peak_users, l.workers), (4, Some(4)));
        assert_eq!((l.cpu_percent, l.peak_rss_bytes), (Some(20.0), Some(2000)));
        assert_eq!(l.shard, None);
        assert_eq!(l.iteration, Latency::of(&whole.iteration));
        assert_eq!(l.schedule_lag, Some(Latency::of(&whole.schedule_lag)));
        let ok = l.iteration_ok.as_ref().expect("successes");
        assert_eq!(ok, &Latency::of(&whole.iteration_ok));
        assert_eq!(ok.count, 496);
        assert_eq!(
            l.by_name("login").expect("login").latency,
            Latency::of(&whole.names["login"].service)
        );
        let stats = merged.stats.expect("stats");
        assert_eq!(stats.samples, 500);
        assert_eq!(
            stats.p95_ns,
            whole
                .iteration
                .value_at_quantile(0.95)
                .min(whole.iteration.max()) as f64
        );
    }

    #[test]
    fn a_failed_shard_fails_the_merge_and_different_specs_are_refused() {
        let (ra, _) = shard_record(1, &[(200, 1_000)]);
        let (mut rb, _) = shard_record(2, &[(200, 2_000)]);
        rb.status = Status::Failed {
            message: "boom".into(),
        };
        let merged = merge(&[ra.clone(), rb.clone()]).expect("merges");
        assert_eq!(
            merged.status,
            Status::Failed {
                message: "shard 2/2: boom".into()
            }
        );
        rb.spec.users = Some(5);
        let e = merge(&[ra, rb]).expect_err("specs differ");
        assert!(e.contains("different attribute"), "{e}");
    }

    #[test]
    fn shards_statements_merge_exactly_where_they_can() {
        let stat = |sql: &str, count, total_ns, p95_ns, max_ns| StatementStats {
            sql: sql.into(),
            count,
            total_ns,
            mean_ns: total_ns as f64 / count as f64,
            p95_ns,
            max_ns,
        };
        let a = QueryStats {
            calls: 10,
            statements: 20,
            min_per_call: 2,
            max_per_call: 2,
            mean_per_call: 2.0,
            scaling: None,
            distinct: 2,
            averaged: false,
            top: vec![
                stat("SELECT ?", 10, 1_000, 120.0, 300),
                stat("UPDATE t", 10, 500, 60.0, 90),
            ],
        };
        let b = QueryStats {
            calls: 30,
            statements: 40,
            min_per_call: 1,
            max_per_call: 3,
            mean_per_call: 40.0 / 30.0,
            scaling: None,
            distinct: 1,
            averaged: false,
            top: vec![stat("SELECT ?", 40, 3_000, 100.0, 500)],
        };
        let m = merge_queries(&[&a, &b]).expect("statements");
        assert_eq!(
            (
                m.calls,
                m.statements,
                m.min_per_call,
                m.max_per_call,
                m.distinct
            ),
            (40, 60, 1, 3, 2)
        );
        assert_eq!(m.mean_per_call, 1.5);
        assert_eq!(m.top[0], stat("SELECT ?", 50, 4_000, 120.0, 500));
        assert_eq!(m.top[0].mean_ns, 80.0);
        assert_eq!(m.top[1], a.top[1]);
        assert!(merge_queries(&[]).is_none());
    }
}
