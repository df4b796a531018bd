//! `cargo perf merge`: checks that the summaries of `--shard I/N` runs form one whole (every
//! shard once, the same tests and specs), adds each load test's shards into one record, judges
//! the thresholds on the merged data and writes the summaries like a run.

use crate::judge::budgets::Effective;
use crate::judge::verdict::NewSummary;
use crate::judge::verdict::{Judge, Verdicts};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
mod shards;

use perf_schema::document::parse_versioned;
use perf_schema::record::shard::Shard;
use perf_schema::record::Record;
use perf_schema::spec::{Kind, Threshold};
use perf_schema::summary::{Summary, TestResult, Verdict, SUMMARY_SCHEMA};

use crate::cli::{Format, MergeArgs};
use crate::error::PerfError;

/// Runs the merge; the exit code is a run's: 0 pass, 1 a verdict failed, 2 an error.
pub fn run(args: &MergeArgs) -> anyhow::Result<u8> {
    let report_dir = args
        .report_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("target/criterion/cargo-perf"));
    let mut shards = Vec::new();
    for input in &args.inputs {
        let file = if input.is_dir() {
            input.join("summary.json")
        } else {
            input.clone()
        };
        let text = std::fs::read_to_string(&file).with_context(|| {
            format!(
                "cannot read {}; give each shard's --report-dir or its summary.json",
                file.display()
            )
        })?;
        let summary: Summary = parse_versioned(&text, SUMMARY_SCHEMA, &file.display().to_string())?;
        shards.push((file, summary));
    }
    let out = report_dir.join("summary.json");
    if let Some((file, _)) = shards.iter().find(|(f, _)| same_file(f, &out)) {
        return Err(PerfError::Usage(format!(
            "the merged summary would overwrite the shard summary {}: pass another \
             --report-dir",
            file.display()
        ))
        .into());
    }
    let merged = merge(shards)?;
    let json = crate::write(
        &report_dir,
        "summary.json",
        &serde_json::to_vec_pretty(&merged)?,
    )?;
    crate::write(
        &report_dir,
        "summary.md",
        crate::report::markdown(&merged).as_bytes(),
    )?;
    let infrastructure = merged.results.iter().any(|r| r.record.infrastructure);
    match args.format {
        Format::Human => {
            print!("{}", crate::report::table(&merged));
            println!("summary: {}", json.display());
        }
        Format::Json => println!("{}", serde_json::to_string_pretty(&merged)?),
    }
    Ok(crate::exit_code(&merged, args.fail_on, infrastructure))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The whole run from its shards' summaries (in any order).
pub fn merge(mut shards: Vec<(PathBuf, Summary)>) -> Result<Summary, PerfError> {
    let usage = PerfError::Usage;
    let mut by_index: BTreeMap<u32, &Path> = BTreeMap::new();
    let mut count = None;
    for (file, s) in &shards {
        let shard = s.shard.ok_or_else(|| {
            usage(format!(
                "{} is not a shard's summary: merge the report directories of `cargo perf \
                 --shard I/N` runs",
                file.display()
            ))
        })?;
        match count {
            None => count = Some((shard.count, file.as_path())),
            Some((n, other)) if n != shard.count => {
                return Err(usage(format!(
                    "{} is shard {shard} but {} is one of {n} shards: merge the shards of one run",
                    file.display(),
                    other.display()
                )))
            }
            Some(_) => {}
        }
        if let Some(other) = by_index.insert(shard.index, file) {
            return Err(usage(format!(
                "shard {shard} is given twice ({} and {}): give each shard once",
                other.display(),
                file.display()
            )));
        }
    }
    let n = count.map_or(0, |(n, _)| n);
    let missing: Vec<String> = (1..=n)
        .filter(|i| !by_index.contains_key(i))
        .map(|index| Shard { index, count: n }.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(usage(format!(
            "shard {} missing: a merge needs the summary of every shard (have {})",
            missing.join(", "),
            by_index
                .keys()
                .map(|index| Shard {
                    index: *index,
                    count: n
                }
                .to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    shards.sort_by_key(|(_, s)| s.shard.map(|s| s.index));

    // Tests in the order they first appear, with every shard's record of each.
    let mut order: Vec<(String, String, String)> = Vec::new();
    let mut records: BTreeMap<(String, String, String), Vec<(Shard, Record)>> = BTreeMap::new();
    for (_, s) in &shards {
        let shard = s.shard.unwrap_or(Shard { index: 1, count: 1 });
        for r in &s.results {
            let id = &r.record.test;
            let key = (id.package.clone(), id.target.clone(), id.name.clone());
            if !records.contains_key(&key) {
                order.push(key.clone());
            }
            records
                .entry(key)
                .or_default()
                .push((shard, r.record.clone()));
        }
    }
    let mut budgeted = budgeted_limits(&shards)?;
    let mut results = Vec::new();
    for key in order {
        let parts = records.remove(&key).unwrap_or_default();
        let name = &key.2;
        let is_load = parts.iter().any(|(_, r)| r.spec.kind == Kind::Load);
        let record = if is_load {
            if parts.len() != n as usize {
                let have: Vec<u32> = parts.iter().map(|(s, _)| s.index).collect();
                let lacking: Vec<String> = (1..=n)
                    .filter(|i| !have.contains(i))
                    .map(|index| Shard { index, count: n }.to_string())
                    .collect();
                return Err(usage(format!(
                    "load test `{name}` is missing from shard {}: run every shard with the same \
                     filters and build",
                    lacking.join(", ")
                )));
            }
            let parts: Vec<Record> = parts.into_iter().map(|(_, r)| r).collect();
            shards::merge(&parts).map_err(usage)?
        } else {
            match <[(Shard, Record); 1]>::try_from(parts) {
                Ok([(_, record)]) => record,
                Err(parts) => {
                    let on: Vec<String> = parts.iter().map(|(s, _)| s.to_string()).collect();
                    return Err(usage(format!(
                        "`{name}` ran on shards {}: each test that is not a load test runs on \
                         one shard; run every shard with the same filters and build",
                        on.join(" and ")
                    )));
                }
            }
        };
        // Budgets and the environment judged the shards: the merge keeps their limits.
        let result = match budgeted.remove(&key) {
            Some((limits, env)) => {
                let verdicts = record.verdicts_by(limits, env.as_deref());
                TestResult::judged(record, verdicts)
            }
            None => TestResult::judge(record),
        };
        results.push(result);
    }
    let first = &shards[0].1;
    let mut merged = Summary::new(
        shards.iter().map(|(_, s)| s.started_at).min().unwrap_or(0),
        shards.iter().map(|(_, s)| s.duration_s).fold(0.0, f64::max),
        first.profile.clone(),
        results,
    );
    merged.machine = first.machine.clone();
    merged.git_commit = first.git_commit.clone();
    merged.merged_shards = Some(n);
    Ok(merged)
}

type TestKey = (String, String, String);

/// The limits that judged a test in the shards, and the environment of the run.
type Judged = (Vec<Effective>, Option<String>);

/// The limits perf.toml set in the shards (the first shard's verdicts of each test, a shard's
/// share of `min_throughput` given back), and their environment; only tests a budget or an
/// environment judged. Shards judged under different environments cannot be merged.
fn budgeted_limits(shards: &[(PathBuf, Summary)]) -> Result<BTreeMap<TestKey, Judged>, PerfError> {
    let mut out: BTreeMap<TestKey, Judged> = BTreeMap::new();
    let mut envs: Vec<Option<&str>> = Vec::new();
    for (_, s) in shards {
        for r in &s.results {
            let own: Vec<&Verdict> = r.verdicts.iter().filter(|v| v.scope.is_none()).collect();
            let env = own.first().and_then(|v| v.env.as_deref());
            if !envs.contains(&env) {
                envs.push(env);
            }
            if own.iter().all(|v| v.budget.is_none() && v.env.is_none()) {
                continue;
            }
            let id = &r.record.test;
            let key = (id.package.clone(), id.target.clone(), id.name.clone());
            let share = r
                .record
                .load
                .as_ref()
                .and_then(|l| l.shard)
                .map(|p| p.share);
            let limits = own
                .iter()
                .map(|v| Effective {
                    threshold: match (v.threshold, share) {
                        (Threshold::Throughput { min_per_s }, Some(share)) if share > 0.0 => {
                            Threshold::Throughput {
                                min_per_s: min_per_s / share,
                            }
                        }
                        (t, _) => t,
                    },
                    budget: v.budget.clone(),
                    scale: v.scale,
                })
                .collect();
            out.entry(key).or_insert((limits, env.map(str::to_string)));
        }
    }
    if envs.len() > 1 {
        let names: Vec<String> = envs
            .iter()
            .map(|e| e.map_or("none".to_string(), |e| format!("`{e}`")))
            .collect();
        return Err(PerfError::Usage(format!(
            "the shards were judged under different perf.toml environments ({}): run every \
             shard with the same --env",
            names.join(", ")
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::budgets::Budgets;
    use perf_schema::record::{Stats, Status, TestId};
    use perf_schema::spec::Spec;
    use std::borrow::Cow;

    const LIMITS: &[Threshold] = &[Threshold::Max { limit_ns: 1_000 }];

    fn shard(index: u32, name: &str, env: Option<&str>) -> (PathBuf, Summary) {
        let test = TestId {
            package: "p".into(),
            target: "t".into(),
            name: name.into(),
            file: "tests/t.rs".into(),
            line: 1,
        };
        let spec = Spec {
            kind: Kind::Latency,
            thresholds: Cow::Borrowed(LIMITS),
            samples: Some(10),
            ..Spec::MICRO
        };
        let stats = Stats {
            samples: 10,
            mean_ns: 10.0,
            std_dev_ns: 1.0,
            min_ns: 1.0,
            p50_ns: 10.0,
            p75_ns: 10.0,
            p90_ns: 10.0,
            p95_ns: 10.0,
            p99_ns: 10.0,
            p999_ns: 10.0,
            max_ns: 600.0,
            throughput_per_s: None,
        };
        let record = Record {
            stats: Some(stats),
            ..Record::new(test, spec, Status::Measured)
        };
        let file = "[[budget]]\ntests = \"p::*\"\nmax = \"500ns\"\n[env.ci]\nscale = 2\n";
        let active = Budgets::parse("perf.toml", file)
            .expect("valid")
            .activate(env.map(|e| (e, "--env")))
            .expect("env");
        let result = TestResult::judge_under(record, &active);
        let mut s = Summary::new(0, 1.0, "bench".into(), vec![result]);
        s.shard = Some(Shard { index, count: 2 });
        (PathBuf::from(format!("shard{index}/summary.json")), s)
    }

    #[test]
    fn a_merge_keeps_the_limits_and_environment_that_judged_the_shards() {
        // max 600ns: the budget's 500ns fails it; ci's ×2 (1000ns) passes it.
        let merged = merge(vec![shard(1, "a", None), shard(2, "b", None)]).expect("merges");
        let v = &merged.results[0].verdicts[0];
        assert_eq!(v.threshold, Threshold::Max { limit_ns: 500 });
        assert_eq!(v.budget.as_deref(), Some("perf.toml:3"));
        assert!(!v.passed);
        let merged =
            merge(vec![shard(1, "a", Some("ci")), shard(2, "b", Some("ci"))]).expect("merges");
        let v = &merged.results[1].verdicts[0];
        assert_eq!(v.threshold, Threshold::Max { limit_ns: 1_000 });
        assert_eq!((v.env.as_deref(), v.scale), (Some("ci"), Some(2.0)));
        assert!(v.passed);
        let e = merge(vec![shard(1, "a", Some("ci")), shard(2, "b", None)])
            .expect_err("different environments")
            .to_string();
        assert!(e.contains("different perf.toml environments"), "{e}");
    }
}
