//! `--shard I/N` or `--shard auto`: which share of the load this machine runs, and where `auto`
//! finds it (a Kubernetes Indexed Job's `JOB_COMPLETION_INDEX` and `CARGO_PERF_SHARDS`).

use perf_schema::record::shard::Shard;

/// The pod's 0-based index in a Kubernetes Indexed Job (set by Kubernetes).
pub const ENV_JOB_INDEX: &str = "JOB_COMPLETION_INDEX";
/// How many shards share the load, for `--shard auto` (set by the user, e.g. in the Job's pod
/// template, equal to its `completions`).
pub const ENV_SHARDS: &str = "CARGO_PERF_SHARDS";

/// `--shard` as typed: a fixed `I/N`, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardArg {
    /// `--shard 2/3`.
    Fixed(Shard),
    /// `--shard auto`: shard `JOB_COMPLETION_INDEX + 1` of `CARGO_PERF_SHARDS`.
    Auto,
}

/// Parses `I/N` or `auto`; anything else is an error that shows both forms.
pub fn parse(text: &str) -> Result<ShardArg, String> {
    if text.trim() == "auto" {
        return Ok(ShardArg::Auto);
    }
    text.parse::<Shard>().map(ShardArg::Fixed).map_err(|e| {
        format!("{e}; or `--shard auto` to take it from {ENV_JOB_INDEX} and {ENV_SHARDS}")
    })
}

/// The shard this run measures: a fixed one as given, `auto` read through `var` (the process
/// environment, or a map in tests). An error names the variable and the fix.
pub fn resolve(
    arg: Option<ShardArg>,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Option<Shard>, String> {
    match arg {
        None => Ok(None),
        Some(ShardArg::Fixed(shard)) => Ok(Some(shard)),
        Some(ShardArg::Auto) => from_job(&var).map(Some),
    }
}

/// Shard `JOB_COMPLETION_INDEX + 1` of `CARGO_PERF_SHARDS`.
fn from_job(var: &impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
    let index = number(
        var,
        ENV_JOB_INDEX,
        "the pod's index in a Kubernetes Indexed Job",
    )?;
    let count = number(var, ENV_SHARDS, "how many shards share the load")?;
    if count == 0 || index >= count {
        return Err(format!(
            "--shard auto: {ENV_JOB_INDEX}={index} is not an index of {ENV_SHARDS}={count} shards \
             (0 <= index < shards): set {ENV_SHARDS} to the Job's `completions`"
        ));
    }
    Ok(Shard {
        index: index + 1,
        count,
    })
}

/// A whole number from the environment variable `name`, or an error saying what it should hold.
fn number(var: &impl Fn(&str) -> Option<String>, name: &str, what: &str) -> Result<u32, String> {
    let hint = "or give the shard itself: --shard I/N";
    match var(name) {
        None => Err(format!(
            "--shard auto needs {name} ({what}), which is not set; {hint}"
        )),
        Some(text) => text.trim().parse().map_err(|_| {
            format!("--shard auto: {name}=`{text}` is not a whole number ({what}); {hint}")
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn auto_is_the_job_index_plus_one_of_the_shard_count() {
        let shard = resolve(
            Some(ShardArg::Auto),
            env(&[(ENV_JOB_INDEX, "0"), (ENV_SHARDS, "3")]),
        );
        assert_eq!(shard, Ok(Some(Shard { index: 1, count: 3 })));
        let last = resolve(
            Some(ShardArg::Auto),
            env(&[(ENV_JOB_INDEX, "2"), (ENV_SHARDS, "3")]),
        );
        assert_eq!(last, Ok(Some(Shard { index: 3, count: 3 })));
    }

    #[test]
    fn a_fixed_shard_ignores_the_environment() {
        let fixed = Shard { index: 2, count: 4 };
        let shard = resolve(
            Some(ShardArg::Fixed(fixed)),
            env(&[(ENV_JOB_INDEX, "0"), (ENV_SHARDS, "3")]),
        );
        assert_eq!(shard, Ok(Some(fixed)));
        assert_eq!(resolve(None, env(&[(ENV_JOB_INDEX, "0")])), Ok(None));
    }

    #[test]
    fn missing_or_wrong_variables_are_named() {
        let missing =
            resolve(Some(ShardArg::Auto), env(&[(ENV_SHARDS, "3")])).expect_err("an error");
        assert!(missing.contains("JOB_COMPLETION_INDEX") && missing.contains("not set"));
        let count =
            resolve(Some(ShardArg::Auto), env(&[(ENV_JOB_INDEX, "1")])).expect_err("an error");
        assert!(count.contains("CARGO_PERF_SHARDS"), "{count}");
        let text = resolve(
            Some(ShardArg::Auto),
            env(&[(ENV_JOB_INDEX, "one"), (ENV_SHARDS, "3")]),
        )
        .expect_err("an error");
        assert!(text.contains("`one` is not a whole number"), "{text}");
        let beyond = resolve(
            Some(ShardArg::Auto),
            env(&[(ENV_JOB_INDEX, "3"), (ENV_SHARDS, "3")]),
        )
        .expect_err("an error");
        assert!(beyond.contains("JOB_COMPLETION_INDEX=3"), "{beyond}");
        let zero = resolve(
            Some(ShardArg::Auto),
            env(&[(ENV_JOB_INDEX, "0"), (ENV_SHARDS, "0")]),
        )
        .expect_err("an error");
        assert!(zero.contains("CARGO_PERF_SHARDS=0"), "{zero}");
    }

    #[test]
    fn the_argument_is_a_shard_or_auto() {
        assert_eq!(parse("auto"), Ok(ShardArg::Auto));
        assert_eq!(
            parse("2/3"),
            Ok(ShardArg::Fixed(Shard { index: 2, count: 3 }))
        );
        let bad = parse("3/2").expect_err("an error");
        assert!(
            bad.contains("--shard I/N") && bad.contains("--shard auto"),
            "{bad}"
        );
    }
}
