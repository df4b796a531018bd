//! Saved runs: `--save-baseline NAME`, the previous run (`base`, as in criterion), and reading
//! them back with the raw evidence a statistical comparison needs.
//!
//! A baseline keeps each test's whole record (spec, raw samples, the HDR histogram in V2 format),
//! the machine and the git commit. Files are written atomically; a corrupt or foreign-version
//! file is an error naming it and is never overwritten.

use std::path::{Path, PathBuf};

use perf_schema::document::{parse_versioned, write_atomic, SchemaError};
use perf_schema::record::{Record, Status, TestId};
use perf_schema::summary::Machine;

pub use perf_schema::baseline::{Baseline, BASELINE_SCHEMA};

/// The baseline every run updates and, without `--baseline`, compares against: the previous run.
pub const PREVIOUS: &str = "base";

/// A baseline that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// `--baseline NAME` names no saved baseline.
    #[error("no baseline `{name}` at {path}{saved}\nhint: save one first with `cargo perf --save-baseline {name}`")]
    Missing {
        /// What the user typed.
        name: String,
        /// Where we looked.
        path: PathBuf,
        /// `; saved baselines: a, b` or empty.
        saved: String,
    },
    /// Not JSON, not a baseline, or another version.
    #[error("{source}\nhint: the file is left untouched; delete it, or pass another --baseline")]
    Corrupt {
        /// The parser's complaint (it names the file).
        source: SchemaError,
    },
    /// A name with characters that do not belong in a file name.
    #[error("baseline name `{0}` is not a plain name (letters, digits, `-`, `_`, `.`); pass a path ending in .json to use a file elsewhere")]
    BadName(String),
    /// Reading or writing failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The folder of named baselines: `target/criterion/cargo-perf/baselines`.
pub fn folder(criterion_home: &Path) -> PathBuf {
    criterion_home.join("cargo-perf").join("baselines")
}

/// The file for `name_or_path`: a path when it contains a separator or ends in `.json`, else
/// `<folder>/<name>.json`.
pub fn locate(name_or_path: &str, criterion_home: &Path) -> Result<PathBuf, BaselineError> {
    if name_or_path.contains(std::path::MAIN_SEPARATOR) || name_or_path.ends_with(".json") {
        return Ok(PathBuf::from(name_or_path));
    }
    let plain = !name_or_path.is_empty()
        && !name_or_path.starts_with('.')
        && name_or_path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !plain {
        return Err(BaselineError::BadName(name_or_path.to_string()));
    }
    Ok(folder(criterion_home).join(format!("{name_or_path}.json")))
}

/// Reads a baseline file; `Ok(None)` when it does not exist.
pub fn read(path: &Path) -> Result<Option<Baseline>, BaselineError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(BaselineError::Io {
                action: "read",
                path: path.to_path_buf(),
                source,
            })
        }
    };
    parse_versioned(&text, BASELINE_SCHEMA, &path.display().to_string())
        .map(Some)
        .map_err(|source| BaselineError::Corrupt { source })
}

/// Reads the baseline `--baseline` names; a missing one is an error listing the saved ones.
pub fn read_required(name_or_path: &str, criterion_home: &Path) -> Result<Baseline, BaselineError> {
    let path = locate(name_or_path, criterion_home)?;
    read(&path)?.ok_or_else(|| {
        let saved = saved_names(criterion_home);
        BaselineError::Missing {
            name: name_or_path.to_string(),
            path,
            saved: if saved.is_empty() {
                String::new()
            } else {
                format!("; saved baselines: {}", saved.join(", "))
            },
        }
    })
}

/// Names of the baselines in the folder, sorted.
pub fn saved_names(criterion_home: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder(criterion_home))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".json"))
                .filter(|n| !n.starts_with('.'))
                .map(String::from)
        })
        .collect();
    names.sort();
    names
}

/// What a new save consists of.
pub struct Snapshot<'a> {
    /// The run's records (failed ones are not saved).
    pub records: &'a [Record],
    /// Where they were measured.
    pub machine: &'a Machine,
    /// The commit measured.
    pub git_commit: Option<&'a str>,
    /// The profile built.
    pub profile: &'a str,
    /// Unix time, seconds.
    pub now: u64,
}

/// Saves a run under `name_or_path`, keeping the entries of tests this run did not measure
/// (a filtered run updates only its tests) when the old file is from the same machine and
/// profile. A corrupt existing file is an error, never silently replaced.
pub fn save(
    name_or_path: &str,
    criterion_home: &Path,
    snapshot: &Snapshot<'_>,
) -> Result<PathBuf, BaselineError> {
    let path = locate(name_or_path, criterion_home)?;
    let old = read(&path)?;
    let measured: Vec<Record> = snapshot
        .records
        .iter()
        .filter(|r| r.status == Status::Measured)
        .cloned()
        .collect();
    let mut records: Vec<Record> = old
        .filter(|b| &b.machine == snapshot.machine && b.profile == snapshot.profile)
        .map(|b| b.records)
        .unwrap_or_default()
        .into_iter()
        .filter(|old| !measured.iter().any(|new| same_test(&new.test, &old.test)))
        .collect();
    records.extend(measured);
    let name = path
        .file_stem()
        .map_or_else(|| name_or_path.to_string(), |s| s.to_string_lossy().into());
    let baseline = Baseline {
        schema: BASELINE_SCHEMA.into(),
        name,
        saved_at: snapshot.now,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        git_commit: snapshot.git_commit.map(String::from),
        machine: snapshot.machine.clone(),
        profile: snapshot.profile.into(),
        records,
    };
    let io = |source| BaselineError::Io {
        action: "write",
        path: path.clone(),
        source,
    };
    let bytes = serde_json::to_vec(&baseline).map_err(|e| io(std::io::Error::other(e)))?;
    write_atomic(&path, &bytes).map_err(io)?;
    Ok(path)
}

/// Whether two ids name the same test (file and line may move).
pub fn same_test(a: &TestId, b: &TestId) -> bool {
    a.package == b.package && a.target == b.target && a.name == b.name
}

/// Looking a test up in a baseline.
pub trait BaselineExt {
    /// The saved record of a test.
    fn find(&self, id: &TestId) -> Option<&Record>;
}

impl BaselineExt for Baseline {
    fn find(&self, id: &TestId) -> Option<&Record> {
        self.records.iter().find(|r| same_test(&r.test, id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use perf_schema::spec::Spec;

    fn machine() -> Machine {
        Machine {
            cpu: "Test CPU".into(),
            cores: 2,
            os: "Linux".into(),
            arch: "x86_64".into(),
        }
    }

    fn record(name: &str, samples: Vec<u64>, status: Status) -> Record {
        Record {
            samples_ns: samples,
            ..Record::new(
                TestId {
                    package: "p".into(),
                    target: "t".into(),
                    name: name.into(),
                    file: "tests/t.rs".into(),
                    line: 1,
                },
                Spec::MICRO,
                status,
            )
        }
    }

    fn snapshot<'a>(records: &'a [Record], machine: &'a Machine) -> Snapshot<'a> {
        Snapshot {
            records,
            machine,
            git_commit: Some("abc"),
            profile: "bench",
            now: 7,
        }
    }

    #[test]
    fn names_go_in_the_folder_and_paths_are_used_as_given() {
        let home = Path::new("/t/criterion");
        assert_eq!(
            locate("main", home).expect("name"),
            Path::new("/t/criterion/cargo-perf/baselines/main.json")
        );
        assert_eq!(
            locate("x/y.json", home).expect("path"),
            Path::new("x/y.json")
        );
        assert_eq!(
            locate("old.json", home).expect("path"),
            Path::new("old.json")
        );
        assert!(matches!(
            locate("a b", home),
            Err(BaselineError::BadName(_))
        ));
    }

    #[test]
    fn a_save_keeps_other_tests_and_replaces_measured_ones() {
        let home = tempfile::tempdir().expect("tempdir");
        let m = machine();
        let first = [
            record("a", vec![1, 2], Status::Measured),
            record("b", vec![3], Status::Measured),
        ];
        save("main", home.path(), &snapshot(&first, &m)).expect("saved");
        let failed = Status::Failed {
            message: "x".into(),
        };
        let second = [
            record("a", vec![9], Status::Measured),
            record("b", vec![], failed),
        ];
        let path = save("main", home.path(), &snapshot(&second, &m)).expect("saved");
        let b = read(&path).expect("reads").expect("exists");
        assert_eq!(b.schema, BASELINE_SCHEMA);
        assert_eq!(b.name, "main");
        assert_eq!(b.git_commit.as_deref(), Some("abc"));
        let a = b.find(&second[0].test).expect("a");
        assert_eq!(a.samples_ns, vec![9]);
        let kept = b.find(&first[1].test).expect("b kept from the first save");
        assert_eq!(kept.samples_ns, vec![3]);
        assert_eq!(saved_names(home.path()), vec!["main".to_string()]);
    }

    #[test]
    fn a_corrupt_or_foreign_baseline_is_an_error_naming_the_file_and_is_not_overwritten() {
        let home = tempfile::tempdir().expect("tempdir");
        let path = locate("main", home.path()).expect("path");
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        std::fs::write(&path, "{ not json").expect("write");
        let m = machine();
        let records = [record("a", vec![1], Status::Measured)];
        let err = save("main", home.path(), &snapshot(&records, &m)).expect_err("corrupt");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(&path).expect("still there"),
            "{ not json"
        );
        std::fs::write(&path, r#"{"schema":"cargo-perf/baseline/v9"}"#).expect("write");
        let err = read_required("main", home.path()).expect_err("foreign");
        assert!(
            err.to_string().contains("`cargo-perf/baseline/v9`"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_named_baseline_lists_the_saved_ones() {
        let home = tempfile::tempdir().expect("tempdir");
        let m = machine();
        let records = [record("a", vec![1], Status::Measured)];
        save("main", home.path(), &snapshot(&records, &m)).expect("saved");
        let err = read_required("mian", home.path()).expect_err("missing");
        let text = err.to_string();
        assert!(text.contains("no baseline `mian`"), "{text}");
        assert!(text.contains("saved baselines: main"), "{text}");
        assert!(text.contains("--save-baseline mian"), "{text}");
    }
}
