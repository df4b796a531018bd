//! `cargo perf merge`: checks that the summaries of `--shard I/N` runs form one whole (every
//! shard once, the same tests and specs), adds each load test's shards into one record, judges
//! the thresholds on the merged data and writes the summaries like a run.

use crate::judge::verdict::Judge;
use crate::judge::verdict::NewSummary;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
mod shards;

use perf_schema::document::parse_versioned;
use perf_schema::record::shard::Shard;
use perf_schema::record::Record;
use perf_schema::spec::Kind;
use perf_schema::summary::{Summary, TestResult, SUMMARY_SCHEMA};

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
        results.push(TestResult::judge(record));
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
