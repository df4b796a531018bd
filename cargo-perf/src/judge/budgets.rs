//! Budgets: one reviewed file, `perf.toml` at the workspace root, that sets threshold limits for
//! tests by name pattern, and environments (`cargo perf --env ci`, `CARGO_PERF_ENV`) that scale
//! time limits or set limits of their own. Loaded and checked before anything runs; applied to
//! each record as the limits it is judged by, so the test binary and the attribute never change.
//!
//! Order, per metric: the attribute's limit < the first matching `[[budget]]` < the first
//! matching `[[env.NAME.budget]]`; then the environment's `scale` multiplies the time limits that
//! did not come from the environment's own budgets.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use perf_schema::grammar::duration::parse_ns;
use perf_schema::grammar::keys::percentile_of;
use perf_schema::grammar::quantity::{parse_bytes, parse_rate};
use perf_schema::record::ListedTest;
use perf_schema::spec::{Kind, Threshold};
use serde::Deserialize;
use toml::Spanned;

/// The file's name, at the workspace root.
pub const FILE: &str = "perf.toml";
/// The environment variable that chooses an environment when `--env` is not given.
pub const ENV_VAR: &str = "CARGO_PERF_ENV";

/// The keys a budget may set: the attribute's thresholds, with the attribute's values.
pub const KEYS: [&str; 16] = [
    "mean",
    "median",
    "p50",
    "p75",
    "p90",
    "p95",
    "p99",
    "p999",
    "max",
    "max_queries",
    "max_error_rate",
    "min_throughput",
    "max_rss",
    "max_cpu",
    "recovery",
    "max_rss_growth",
];

/// A mistake in `perf.toml` or in the environment asked for; the message names the file, the
/// line and the fix.
#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A syntax error, an unknown key or a value of the wrong type or unit.
    #[error("{file}:{line}: {message}\nhint: {hint}")]
    Invalid {
        /// `perf.toml` as the user knows it.
        file: String,
        /// 1-based.
        line: usize,
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// A pattern that matches no perf test of the workspace.
    #[error(
        "{file}:{line}: `tests = \"{pattern}\"` matches no perf test in the workspace\nhint: \
         patterns are globs over `package::test` (`*` is any text, `?` one character); tests \
         include {examples}; `cargo perf --list` shows them all"
    )]
    Unmatched {
        /// `perf.toml`.
        file: String,
        /// The line of `tests`.
        line: usize,
        /// The pattern.
        pattern: String,
        /// A few test names, quoted.
        examples: String,
    },
    /// `--env NAME` or `CARGO_PERF_ENV` names no `[env.NAME]`.
    #[error("{from} asks for environment `{name}`, but {file} {has}\nhint: add `[env.{name}]` to {file}, or choose one it defines")]
    UnknownEnv {
        /// `--env` or `CARGO_PERF_ENV`.
        from: String,
        /// The name asked for.
        name: String,
        /// The file.
        file: String,
        /// `defines only ci (line 9)` or `defines no environment`.
        has: String,
    },
    /// An environment was asked for and there is no `perf.toml`.
    #[error("{from} asks for environment `{name}`, but there is no {path}\nhint: create it with an `[env.{name}]` table (see docs/budgets.md), or drop {from}")]
    NoFile {
        /// `--env` or `CARGO_PERF_ENV`.
        from: String,
        /// The name asked for.
        name: String,
        /// Where the file would be.
        path: PathBuf,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileText {
    #[serde(default)]
    budget: Vec<BudgetText>,
    #[serde(default)]
    env: BTreeMap<Spanned<String>, EnvText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvText {
    scale: Option<Spanned<f64>>,
    #[serde(default)]
    budget: Vec<BudgetText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BudgetText {
    tests: Spanned<String>,
    mean: Option<Spanned<String>>,
    median: Option<Spanned<String>>,
    p50: Option<Spanned<String>>,
    p75: Option<Spanned<String>>,
    p90: Option<Spanned<String>>,
    p95: Option<Spanned<String>>,
    p99: Option<Spanned<String>>,
    p999: Option<Spanned<String>>,
    max: Option<Spanned<String>>,
    max_queries: Option<Spanned<i64>>,
    max_error_rate: Option<Spanned<f64>>,
    min_throughput: Option<Spanned<String>>,
    max_rss: Option<Spanned<String>>,
    max_cpu: Option<Spanned<f64>>,
    recovery: Option<Spanned<String>>,
    max_rss_growth: Option<Spanned<String>>,
}

/// One limit a budget sets, and the line of its key.
#[derive(Debug, Clone, PartialEq)]
struct Limit {
    threshold: Threshold,
    line: usize,
}

/// A `[[budget]]` table: a pattern and the limits it sets.
#[derive(Debug, Clone, PartialEq)]
struct Budget {
    pattern: String,
    line: usize,
    limits: Vec<Limit>,
}

/// An `[env.NAME]` table.
#[derive(Debug, Clone, PartialEq)]
struct Env {
    line: usize,
    scale: Option<f64>,
    budgets: Vec<Budget>,
}

/// `perf.toml`, parsed and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Budgets {
    file: String,
    budgets: Vec<Budget>,
    envs: BTreeMap<String, Env>,
}

/// The budgets and the environment a run is judged under.
#[derive(Debug, Clone, Default)]
pub struct Active {
    file: String,
    budgets: Vec<Budget>,
    env: Option<(String, Env)>,
}

/// A threshold as a test is judged by it, and where its limit came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Effective {
    /// The threshold with its effective limit.
    pub threshold: Threshold,
    /// `perf.toml:7` when a budget set the limit.
    pub budget: Option<String>,
    /// The environment's factor, when it scaled this limit.
    pub scale: Option<f64>,
}

impl Budgets {
    /// Reads `perf.toml` in `root`; `None` when there is none.
    pub fn load(root: &Path) -> Result<Option<Budgets>, BudgetError> {
        let path = root.join(FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(BudgetError::Read { path, source }),
        };
        Budgets::parse(FILE, &text).map(Some)
    }

    /// Parses the text of the file named `file`.
    pub fn parse(file: &str, text: &str) -> Result<Budgets, BudgetError> {
        let raw: FileText = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| line_of(text, s.start));
            let message = e.message().trim().to_string();
            let hint = if message.contains("expected a sequence") {
                "write `[[budget]]` and `[[env.NAME.budget]]` with double brackets: each budget \
                 is one table of a list"
                    .to_string()
            } else {
                format!(
                    "the file holds `[[budget]]` tables (`tests` and the keys {}) and \
                     `[env.NAME]` tables (`scale` and `[[env.NAME.budget]]`); shape keys such as \
                     `users` or `duration` stay in the attribute",
                    KEYS.join(", ")
                )
            };
            BudgetError::Invalid {
                file: file.into(),
                line,
                message,
                hint,
            }
        })?;
        let at = |span: std::ops::Range<usize>| line_of(text, span.start);
        let invalid = |line: usize, message: String, hint: &str| BudgetError::Invalid {
            file: file.into(),
            line,
            message,
            hint: hint.into(),
        };
        let budgets = raw
            .budget
            .into_iter()
            .map(|b| budget(b, &at, &invalid))
            .collect::<Result<_, _>>()?;
        let mut envs = BTreeMap::new();
        for (name, env) in raw.env {
            let line = at(name.span());
            let scale = match env.scale {
                Some(s) if !(s.get_ref().is_finite() && *s.get_ref() > 0.0) => {
                    return Err(invalid(
                        at(s.span()),
                        format!("`scale = {}` must be a number above 0", s.get_ref()),
                        "write e.g. `scale = 1.5` to allow 50 % more time in this environment",
                    ))
                }
                s => s.map(|s| *s.get_ref()),
            };
            let budgets = env
                .budget
                .into_iter()
                .map(|b| budget(b, &at, &invalid))
                .collect::<Result<_, _>>()?;
            envs.insert(
                name.into_inner(),
                Env {
                    line,
                    scale,
                    budgets,
                },
            );
        }
        Ok(Budgets {
            file: file.into(),
            budgets,
            envs,
        })
    }

    /// Every pattern must match a perf test of the workspace (all of them, before filters).
    /// A pattern whose literal package is in `unselected` (not built: `-p` chose others) cannot
    /// be checked and is skipped.
    pub fn check_patterns(
        &self,
        all: &[ListedTest],
        unselected: &[String],
    ) -> Result<(), BudgetError> {
        let names: Vec<String> = all.iter().map(full_name).collect();
        let every = self
            .budgets
            .iter()
            .chain(self.envs.values().flat_map(|e| e.budgets.iter()));
        for b in every {
            let package = b.pattern.split("::").next().unwrap_or_default();
            if unselected.iter().any(|u| u == package) {
                continue;
            }
            if !names.iter().any(|n| glob(&b.pattern, n)) {
                let examples = names
                    .iter()
                    .take(3)
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(BudgetError::Unmatched {
                    file: self.file.clone(),
                    line: b.line,
                    pattern: b.pattern.clone(),
                    examples,
                });
            }
        }
        Ok(())
    }

    /// The budgets with the environment `name` chosen; `from` says who chose it.
    pub fn activate(self, env: Option<(&str, &str)>) -> Result<Active, BudgetError> {
        let env = match env {
            None => None,
            Some((name, from)) => match self.envs.get(name) {
                Some(e) => Some((name.to_string(), e.clone())),
                None => {
                    let has = if self.envs.is_empty() {
                        "defines no environment".to_string()
                    } else {
                        let known: Vec<String> = self
                            .envs
                            .iter()
                            .map(|(n, e)| format!("`{n}` (line {})", e.line))
                            .collect();
                        format!("defines only {}", known.join(", "))
                    };
                    return Err(BudgetError::UnknownEnv {
                        from: from.into(),
                        name: name.into(),
                        file: self.file,
                        has,
                    });
                }
            },
        };
        Ok(Active {
            file: self.file,
            budgets: self.budgets,
            env,
        })
    }
}

/// What a run is judged under: the budgets of `file` (read from `root`) and the chosen
/// environment, or nothing.
pub fn activate(
    file: Option<Budgets>,
    root: &Path,
    env: Option<(&str, &str)>,
) -> Result<Active, BudgetError> {
    match (file, env) {
        (Some(b), env) => b.activate(env),
        (None, None) => Ok(Active::default()),
        (None, Some((name, from))) => Err(BudgetError::NoFile {
            from: from.into(),
            name: name.into(),
            path: root.join(FILE),
        }),
    }
}

impl Active {
    /// The environment's name, when one was chosen.
    pub fn env(&self) -> Option<&str> {
        self.env.as_ref().map(|(n, _)| n.as_str())
    }

    /// `environment ci from perf.toml (time limits ×1.5)`, for the run's header.
    pub fn describe(&self) -> Option<String> {
        let (name, env) = self.env.as_ref()?;
        let scale = env
            .scale
            .map(|s| format!(" (time limits ×{s})"))
            .unwrap_or_default();
        Some(format!(
            "environment `{name}` from {}:{}{scale}",
            self.file, env.line
        ))
    }

    /// The thresholds test `package::name` of `kind` is judged by, given its attribute's.
    pub fn thresholds(
        &self,
        package: &str,
        name: &str,
        kind: Kind,
        attribute: &[Threshold],
    ) -> Vec<Effective> {
        let full = format!("{package}::{name}");
        let mut out: Vec<(Effective, bool)> = attribute
            .iter()
            .map(|&threshold| {
                let e = Effective {
                    threshold,
                    budget: None,
                    scale: None,
                };
                (e, false)
            })
            .collect();
        let env_budgets = self.env.iter().flat_map(|(_, e)| e.budgets.iter());
        let layers = [
            (self.budgets.iter().collect::<Vec<_>>(), false),
            (env_budgets.collect(), true),
        ];
        for (budgets, from_env) in layers {
            // Within a layer the first matching budget sets a metric, as in nextest's overrides.
            let mut set: Vec<String> = Vec::new();
            for b in budgets.into_iter().filter(|b| glob(&b.pattern, &full)) {
                for limit in &b.limits {
                    let key = limit.threshold.key();
                    if set.contains(&key) || !measurable(&limit.threshold, kind) {
                        continue;
                    }
                    set.push(key.clone());
                    let e = Effective {
                        threshold: limit.threshold,
                        budget: Some(format!("{}:{}", self.file, limit.line)),
                        scale: None,
                    };
                    match out.iter_mut().find(|(t, _)| t.threshold.key() == key) {
                        Some(slot) => *slot = (e, from_env),
                        None => out.push((e, from_env)),
                    }
                }
            }
        }
        let scale = self.env.as_ref().and_then(|(_, e)| e.scale);
        out.into_iter()
            .map(|(mut e, from_env)| {
                if let (Some(s), false) = (scale, from_env) {
                    if let Some(t) = scaled(e.threshold, s) {
                        e.threshold = t;
                        e.scale = Some(s);
                    }
                }
                e
            })
            .collect()
    }
}

/// A time limit multiplied by `scale`; other limits are not scaled.
fn scaled(t: Threshold, scale: f64) -> Option<Threshold> {
    let by = |ns: u64| (ns as f64 * scale).round() as u64;
    Some(match t {
        Threshold::Mean { limit_ns } => Threshold::Mean {
            limit_ns: by(limit_ns),
        },
        Threshold::Median { limit_ns } => Threshold::Median {
            limit_ns: by(limit_ns),
        },
        Threshold::Max { limit_ns } => Threshold::Max {
            limit_ns: by(limit_ns),
        },
        Threshold::Percentile {
            percentile,
            limit_ns,
        } => Threshold::Percentile {
            percentile,
            limit_ns: by(limit_ns),
        },
        // A slower machine also drains a spike's queue more slowly.
        Threshold::Recovery { limit_ns } => Threshold::Recovery {
            limit_ns: by(limit_ns),
        },
        _ => return None,
    })
}

/// Whether a test of `kind` measures what `t` bounds (the attribute's own rules).
fn measurable(t: &Threshold, kind: Kind) -> bool {
    match t {
        Threshold::Mean { .. } | Threshold::Median { .. } => true,
        Threshold::Percentile { .. } | Threshold::Max { .. } => kind != Kind::Micro,
        Threshold::MaxQueries { .. } | Threshold::NPlusOne => kind == Kind::Latency,
        Threshold::ErrorRate { .. }
        | Threshold::Throughput { .. }
        | Threshold::Rss { .. }
        | Threshold::Cpu { .. }
        | Threshold::Recovery { .. }
        | Threshold::RssGrowth { .. } => kind == Kind::Load,
    }
}

/// `package::test name`, what patterns match.
fn full_name(t: &ListedTest) -> String {
    format!("{}::{}", t.id.package, t.id.name)
}

/// `*` matches any text (`::` included), `?` one character, anything else itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matching with one backtrack point for the last `*`.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < t.len() {
        if i < p.len() && (p[i] == '?' || p[i] == t[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn budget(
    b: BudgetText,
    at: &impl Fn(std::ops::Range<usize>) -> usize,
    invalid: &impl Fn(usize, String, &str) -> BudgetError,
) -> Result<Budget, BudgetError> {
    let line = at(b.tests.span());
    let pattern = b.tests.get_ref().clone();
    if pattern.trim().is_empty() {
        return Err(invalid(
            line,
            "`tests` is empty".into(),
            "write a glob over `package::test`, e.g. `tests = \"mediashelf::api::*\"`",
        ));
    }
    let mut limits = time_limits(&b, at, invalid)?;
    limits.extend(other_limits(&b, at, invalid)?);
    if limits.is_empty() {
        return Err(invalid(
            line,
            format!("the budget for `{pattern}` sets no limit"),
            &format!("add one of {}", KEYS.join(", ")),
        ));
    }
    Ok(Budget {
        pattern,
        line,
        limits,
    })
}

/// `mean`, `median`, the percentiles and `max`: durations, as in the attribute.
fn time_limits(
    b: &BudgetText,
    at: &impl Fn(std::ops::Range<usize>) -> usize,
    invalid: &impl Fn(usize, String, &str) -> BudgetError,
) -> Result<Vec<Limit>, BudgetError> {
    let mut limits = Vec::new();
    let durations = [
        ("mean", &b.mean),
        ("median", &b.median),
        ("p50", &b.p50),
        ("p75", &b.p75),
        ("p90", &b.p90),
        ("p95", &b.p95),
        ("p99", &b.p99),
        ("p999", &b.p999),
        ("max", &b.max),
    ];
    for (key, value) in durations {
        let Some(value) = value else { continue };
        let line = at(value.span());
        let limit_ns = parse_ns(value.get_ref()).map_err(|e| {
            invalid(
                line,
                format!("`{key}`: {e}"),
                "durations are strings with a unit, as in the attribute: \"200ms\", \"1.5s\"",
            )
        })?;
        let threshold = match key {
            "mean" => Threshold::Mean { limit_ns },
            "median" => Threshold::Median { limit_ns },
            "max" => Threshold::Max { limit_ns },
            _ => Threshold::Percentile {
                percentile: percentile_of(key).unwrap_or(50.0),
                limit_ns,
            },
        };
        limits.push(Limit { threshold, line });
    }
    Ok(limits)
}

/// `max_queries` and the load tests' limits: counts, fractions, rates, sizes, percentages.
fn other_limits(
    b: &BudgetText,
    at: &impl Fn(std::ops::Range<usize>) -> usize,
    invalid: &impl Fn(usize, String, &str) -> BudgetError,
) -> Result<Vec<Limit>, BudgetError> {
    let mut limits = Vec::new();
    if let Some(v) = &b.max_queries {
        let line = at(v.span());
        let limit = u64::try_from(*v.get_ref())
            .ok()
            .filter(|&n| n >= 1)
            .ok_or_else(|| {
                invalid(
                    line,
                    format!("`max_queries = {}` must be at least 1", v.get_ref()),
                    "write a whole number of statements per call, e.g. `max_queries = 3`",
                )
            })?;
        limits.push(Limit {
            threshold: Threshold::MaxQueries { limit },
            line,
        });
    }
    if let Some(v) = &b.max_error_rate {
        let line = at(v.span());
        let max = *v.get_ref();
        if !(0.0..=1.0).contains(&max) {
            return Err(invalid(
                line,
                format!("`max_error_rate = {max}` is not a fraction from 0 to 1"),
                "write e.g. `max_error_rate = 0.01` for 1 %",
            ));
        }
        limits.push(Limit {
            threshold: Threshold::ErrorRate { max },
            line,
        });
    }
    if let Some(v) = &b.min_throughput {
        let line = at(v.span());
        let min_per_s = parse_rate(v.get_ref())
            .map_err(|e| invalid(line, format!("`min_throughput`: {e}"), "e.g. \"190/s\""))?;
        limits.push(Limit {
            threshold: Threshold::Throughput { min_per_s },
            line,
        });
    }
    if let Some(v) = &b.max_rss {
        let line = at(v.span());
        let max_bytes = parse_bytes(v.get_ref())
            .map_err(|e| invalid(line, format!("`max_rss`: {e}"), "e.g. \"512MiB\""))?;
        limits.push(Limit {
            threshold: Threshold::Rss { max_bytes },
            line,
        });
    }
    if let Some(v) = &b.max_cpu {
        let line = at(v.span());
        let max_percent = *v.get_ref();
        if !(max_percent.is_finite() && max_percent >= 0.0) {
            return Err(invalid(
                line,
                format!("`max_cpu = {max_percent}` is not a percentage"),
                "write percent of one core, e.g. `max_cpu = 150`",
            ));
        }
        limits.push(Limit {
            threshold: Threshold::Cpu { max_percent },
            line,
        });
    }
    if let Some(v) = &b.recovery {
        let line = at(v.span());
        let limit_ns = parse_ns(v.get_ref())
            .map_err(|e| invalid(line, format!("`recovery`: {e}"), "e.g. \"30s\""))?;
        limits.push(Limit {
            threshold: Threshold::Recovery { limit_ns },
            line,
        });
    }
    if let Some(v) = &b.max_rss_growth {
        let line = at(v.span());
        let max_bytes_per_h = perf_schema::grammar::quantity::parse_growth(v.get_ref())
            .map_err(|e| invalid(line, format!("`max_rss_growth`: {e}"), "e.g. \"5MiB/h\""))?;
        limits.push(Limit {
            threshold: Threshold::RssGrowth { max_bytes_per_h },
            line,
        });
    }
    Ok(limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE_TEXT: &str = r#"# budgets
[[budget]]
tests = "shop::api::*"
p95 = "200ms"
max_error_rate = 0.01

[[budget]]
tests = "shop::*"
p95 = "900ms"
mean = "50ms"

[env.ci]
scale = 1.5
[[env.ci.budget]]
tests = "shop::api::search"
p95 = "400ms"
"#;

    fn p95(ms: u64) -> Threshold {
        Threshold::Percentile {
            percentile: 95.0,
            limit_ns: ms * 1_000_000,
        }
    }

    fn parse(text: &str) -> Result<Budgets, BudgetError> {
        Budgets::parse("perf.toml", text)
    }

    #[test]
    fn globs_match_package_and_test_name() {
        assert!(glob("shop::api::*", "shop::api::browse"));
        assert!(glob("shop::*", "shop::api::browse"));
        assert!(glob("*::browse", "shop::api::browse"));
        assert!(glob("shop::api::b?owse", "shop::api::browse"));
        assert!(!glob("shop::api", "shop::api::browse"));
        assert!(!glob("shop::api::*", "shop::db::list"));
        assert!(glob("*", "x"));
        assert!(glob("a*b*c", "axxbyyc") && !glob("a*b*c", "axxbyy"));
    }

    #[test]
    fn attribute_then_budget_then_env_budget_then_scale() {
        let b = parse(FILE_TEXT).expect("valid");
        let attr = [p95(300), Threshold::Max { limit_ns: 1_000 }];
        // No environment: the first matching budget sets p95 (line 4); mean is added (line 10).
        let plain = b.clone().activate(None).expect("no env");
        let t = plain.thresholds("shop", "api::browse", Kind::Latency, &attr);
        assert_eq!(t[0].threshold, p95(200));
        assert_eq!(t[0].budget.as_deref(), Some("perf.toml:4"));
        assert_eq!(t[1].budget, None);
        assert_eq!(
            t[2].threshold,
            Threshold::Mean {
                limit_ns: 50_000_000
            }
        );
        assert_eq!(t[2].budget.as_deref(), Some("perf.toml:10"));
        // The error rate is not measured by a latency test: not applied.
        assert_eq!(t.len(), 3);
        // ci: scale ×1.5 on time limits from the attribute and the file's budgets.
        let ci = b.activate(Some(("ci", "--env"))).expect("ci");
        let t = ci.thresholds("shop", "api::browse", Kind::Latency, &attr);
        assert_eq!(t[0].threshold, p95(300));
        assert_eq!(t[0].scale, Some(1.5));
        assert_eq!(t[1].threshold, Threshold::Max { limit_ns: 1_500 });
        // ...but an environment's own budget is its literal limit.
        let t = ci.thresholds("shop", "api::search", Kind::Latency, &attr);
        assert_eq!(t[0].threshold, p95(400));
        assert_eq!(t[0].budget.as_deref(), Some("perf.toml:16"));
        assert_eq!(t[0].scale, None);
        assert_eq!(ci.env(), Some("ci"));
    }

    #[test]
    fn only_time_limits_scale() {
        let b = parse(FILE_TEXT).expect("valid");
        let ci = b.activate(Some(("ci", "--env"))).expect("ci");
        let attr = [
            Threshold::Throughput { min_per_s: 100.0 },
            Threshold::MaxQueries { limit: 2 },
        ];
        let t = ci.thresholds("other", "x", Kind::Load, &attr);
        assert_eq!(t[0].threshold, attr[0]);
        assert_eq!(t[0].scale, None);
        let t = ci.thresholds("shop", "api::x", Kind::Load, &[]);
        assert!(t.contains(&Effective {
            threshold: Threshold::ErrorRate { max: 0.01 },
            budget: Some("perf.toml:5".into()),
            scale: None
        }));
    }

    #[test]
    fn soak_limits_replace_the_attributes_and_recovery_scales() {
        let b = parse(
            "[[budget]]\ntests = \"svc::*\"\nrecovery = \"20s\"\nmax_rss_growth = \"5MiB/h\"\n\n\
             [env.ci]\nscale = 2\n",
        )
        .expect("valid");
        let attr = [
            Threshold::Recovery {
                limit_ns: 30_000_000_000,
            },
            Threshold::RssGrowth {
                max_bytes_per_h: 1e9,
            },
        ];
        let plain = b.clone().activate(None).expect("no env");
        let t = plain.thresholds("svc", "soak", Kind::Load, &attr);
        assert_eq!(
            (t[0].threshold, t[0].budget.as_deref()),
            (
                Threshold::Recovery {
                    limit_ns: 20_000_000_000
                },
                Some("perf.toml:3")
            )
        );
        assert_eq!(
            t[1].threshold,
            Threshold::RssGrowth {
                max_bytes_per_h: 5.0 * 1024.0 * 1024.0
            }
        );
        // A slower environment recovers more slowly; a leak is a leak anywhere.
        let ci = b.activate(Some(("ci", "--env"))).expect("ci");
        let t = ci.thresholds("svc", "soak", Kind::Load, &attr);
        assert_eq!(
            t[0].threshold,
            Threshold::Recovery {
                limit_ns: 40_000_000_000
            }
        );
        assert_eq!((t[1].scale, t[0].scale), (None, Some(2.0)));
        let bad = parse("[[budget]]\ntests = \"svc::*\"\nmax_rss_growth = \"5MiB\"\n");
        let e = bad.expect_err("no rate").to_string();
        assert!(e.starts_with("perf.toml:3: `max_rss_growth`: "), "{e}");
    }

    #[test]
    fn mistakes_name_the_line_and_the_fix() {
        let err = |text: &str| parse(text).expect_err("invalid").to_string();
        let e = err("[[budget]]\ntests = \"a::*\"\np59 = \"1ms\"\n");
        assert!(e.starts_with("perf.toml:3: unknown field `p59`"), "{e}");
        assert!(e.contains("p95"), "{e}");
        let e = err("[[budget]]\ntests = \"a::*\"\n\np95 = \"5 sec\"\n");
        assert!(e.starts_with("perf.toml:4: `p95`:"), "{e}");
        let e = err("[[budget]]\ntests = \"a::*\"\nusers = 10\n");
        assert!(
            e.starts_with("perf.toml:3:") && e.contains("shape keys"),
            "{e}"
        );
        let e = err("[env.ci]\nscale = 0\n");
        assert!(e.starts_with("perf.toml:2: `scale = 0`"), "{e}");
        let e = err("[env.ci]\nscael = 2\n");
        assert!(e.starts_with("perf.toml:2: unknown field `scael`"), "{e}");
        let e = err("[[budget]]\ntests = \"a::*\"\n");
        assert!(
            e.starts_with("perf.toml:2:") && e.contains("sets no limit"),
            "{e}"
        );
        let e = err("[[budget]]\ntests = \"a::*\"\nmax_error_rate = 2\n");
        assert!(e.starts_with("perf.toml:3:"), "{e}");
        let e = err("[[budget]\n");
        assert!(e.starts_with("perf.toml:1:"), "{e}");
        let e = err("[budget]\ntests = \"a::*\"\np95 = \"1ms\"\n");
        assert!(
            e.starts_with("perf.toml:1:") && e.contains("double brackets"),
            "{e}"
        );
    }

    #[test]
    fn unknown_environments_and_unmatched_patterns_are_errors() {
        let b = parse(FILE_TEXT).expect("valid");
        let e = b
            .clone()
            .activate(Some(("nightly", "CARGO_PERF_ENV")))
            .expect_err("unknown")
            .to_string();
        assert!(
            e.contains("CARGO_PERF_ENV asks for environment `nightly`"),
            "{e}"
        );
        assert!(e.contains("defines only `ci` (line 12)"), "{e}");
        let listed = |package: &str, name: &str| ListedTest {
            id: perf_schema::record::TestId {
                package: package.into(),
                target: "t".into(),
                name: name.into(),
                file: "tests/t.rs".into(),
                line: 1,
            },
            spec: perf_schema::spec::Spec::MICRO,
            is_async: false,
        };
        let all = [listed("shop", "api::search"), listed("shop", "api::browse")];
        assert!(b.check_patterns(&all, &[]).is_ok());
        // `-p other`: shop's tests were not discovered, so its patterns cannot be checked.
        assert!(b.check_patterns(&[], &["shop".into()]).is_ok());
        let e = b
            .check_patterns(&[listed("shop", "db::list")], &[])
            .expect_err("unmatched")
            .to_string();
        assert!(
            e.starts_with("perf.toml:3: `tests = \"shop::api::*\"` matches no"),
            "{e}"
        );
        let none = activate(None, Path::new("/nonexistent"), Some(("ci", "--env")))
            .expect_err("no file")
            .to_string();
        assert!(
            none.contains("there is no /nonexistent/perf.toml"),
            "{none}"
        );
    }
}
