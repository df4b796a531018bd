//! The two builds of a paired run (`--against REF`), kept apart and fingerprinted.
//!
//! Both builds share one target directory (so dependencies are compiled once), and cargo names a
//! test executable by a hash of its package's path *relative to the workspace root*: the same in
//! this tree and in REF's worktree. The second build therefore overwrites the first one's
//! executables. Right after each build we copy its executables to
//! `<target>/cargo-perf/builds/<role>/` and fingerprint them:
//! - `sha256` of each executable, checked again before and after the rounds: an executable that
//!   changed in between (another build wrote over it) stops the run with exit 2;
//! - `inputs_sha256`, a hash of every source of this workspace that went into it (the dep-info
//!   rustc wrote for the executable and for each of the workspace's own libraries, proc macros
//!   and build scripts, read right after the build, before the other build can rewrite it), with
//!   paths relative to the tree so the same sources in two checkouts hash alike;
//! - every source path must belong to the build's own tree: a source from the other checkout
//!   stops the run with exit 2.
//!
//! Both fingerprints go into the summary (`compared_with.builds`), so a reader can see which
//! commit each role ran and whether its executables differed.
//!
//! Byte-identical executables whose inputs differ are *not* an error: a commit that changes only
//! code no perf test links (an unused function, a comment above it) leaves the test executable
//! byte for byte the same. Such tests still run their rounds (they may read changed files at run
//! time) and their comparison says the executables were identical.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use perf_schema::summary::{BuiltExecutable, RoleBuild};
use sha2::{Digest as _, Sha256};

use crate::error::PerfError;
use crate::project::compile::{Binary, Build};

/// Which build of a paired run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The reference build: REF, checked out in a worktree.
    Base,
    /// This tree, as it is on disk.
    New,
}

impl Role {
    /// `base` or `new`, as in the summary.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Base => "base",
            Role::New => "new",
        }
    }
}

/// Where a build's sources may come from.
pub struct Tree<'a> {
    /// The workspace root the build ran in (relative dep-info paths are relative to it).
    pub root: &'a Path,
    /// The shared target directory (build-script output lives there; it belongs to no tree).
    pub target_dir: &'a Path,
    /// Checkouts whose sources must not appear in this build.
    pub foreign: &'a [PathBuf],
    /// The commit the tree is at, if known.
    pub commit: Option<String>,
    /// Whether the tree has uncommitted changes to tracked files.
    pub dirty: bool,
}

/// A build's executables, copied where the other build cannot overwrite them.
#[derive(Debug, Clone)]
pub struct Kept {
    /// Fingerprints, as the summary records them.
    pub fingerprint: RoleBuild,
    /// The binaries, pointing at the copies.
    pub binaries: Vec<Binary>,
}

/// Holds the target directory's paired-run lock: two `cargo perf --against` runs sharing a
/// target directory would replace each other's kept executables.
#[derive(Debug)]
pub struct Lock(#[allow(dead_code)] std::fs::File);

/// Takes the paired-run lock of `target_dir`, waiting (and saying so) while another run has it.
pub fn lock(target_dir: &Path) -> Result<Lock, PerfError> {
    let dir = target_dir.join("cargo-perf");
    let path = dir.join("paired.lock");
    let io = |e: std::io::Error| PerfError::Builds(format!("cannot lock {}: {e}", path.display()));
    std::fs::create_dir_all(&dir).map_err(io)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            eprintln!(
                "cargo perf: waiting for another `cargo perf --against` that uses {}",
                target_dir.display()
            );
            file.lock().map_err(io)?;
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
    }
    Ok(Lock(file))
}

/// The directory a role's executables are copied to.
pub fn folder(target_dir: &Path, role: Role) -> PathBuf {
    target_dir
        .join("cargo-perf")
        .join("builds")
        .join(role.as_str())
}

/// Copies `build`'s executables aside and fingerprints them and their inputs.
pub fn keep(build: &Build, role: Role, tree: &Tree<'_>) -> Result<Kept, PerfError> {
    let dir = folder(tree.target_dir, role);
    let io = |what: &str, path: &Path, e: std::io::Error| {
        PerfError::Builds(format!("cannot {what} {}: {e}", path.display()))
    };
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| io("clear", &dir, e))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| io("create", &dir, e))?;

    let mut sources = Sources::new(tree, role);
    let shared = sources.read_all(&build.local_dep_info)?;
    let mut binaries = Vec::new();
    let mut executables = Vec::new();
    for b in &build.binaries {
        let name = b.exe.file_name().unwrap_or_default();
        let copy = dir.join(name);
        std::fs::copy(&b.exe, &copy).map_err(|e| io("copy", &b.exe, e))?;
        let own = sources.read_all(std::slice::from_ref(&b.dep_info))?;
        let inputs: BTreeMap<String, String> = shared
            .iter()
            .chain(&own)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        executables.push(BuiltExecutable {
            package: b.package.clone(),
            target: b.target.clone(),
            file: copy.display().to_string(),
            sha256: hash_file(&copy).map_err(|e| io("read", &copy, e))?,
            inputs_sha256: hash_inputs(&inputs),
        });
        binaries.push(Binary {
            exe: copy,
            ..b.clone()
        });
    }
    Ok(Kept {
        fingerprint: RoleBuild {
            role: role.as_str().into(),
            commit: tree.commit.clone(),
            dirty: tree.dirty,
            executables,
        },
        binaries,
    })
}

/// Checks that every kept executable is still the one its build produced.
pub fn verify(kept: &Kept, when: &str) -> Result<(), PerfError> {
    for e in &kept.fingerprint.executables {
        let path = Path::new(&e.file);
        let now = hash_file(path).map_err(|err| {
            PerfError::Builds(format!(
                "the {} build's executable {} is gone {when}: {err}",
                kept.fingerprint.role,
                path.display()
            ))
        })?;
        if now != e.sha256 {
            return Err(PerfError::Builds(format!(
                "the {} build's executable {} changed between its build and {when} (sha256 {} \
                 after the build, {} now): something wrote into {} during the run, so the \
                 rounds would not compare the code they claim to; run `cargo perf` again, \
                 without another cargo perf sharing this target directory",
                kept.fingerprint.role,
                path.display(),
                short(&e.sha256),
                short(&now),
                path.parent()
                    .map_or_else(String::new, |p| p.display().to_string()),
            )));
        }
    }
    Ok(())
}

/// Targets whose executables are byte-identical in both builds although their inputs differ
/// (`(package, target) → sha256`): the change does not reach their code.
pub fn identical_despite_changes(
    new: &RoleBuild,
    base: &RoleBuild,
) -> Vec<(String, String, String)> {
    new.executables
        .iter()
        .filter_map(|n| {
            let b = base
                .executables
                .iter()
                .find(|b| b.package == n.package && b.target == n.target)?;
            (b.sha256 == n.sha256 && b.inputs_sha256 != n.inputs_sha256)
                .then(|| (n.package.clone(), n.target.clone(), n.sha256.clone()))
        })
        .collect()
}

/// The first 12 hex digits of a hash, for messages.
pub fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

/// Reads dep-info files and hashes the sources they name, once per file.
struct Sources<'a> {
    tree: &'a Tree<'a>,
    role: Role,
    hashed: BTreeMap<PathBuf, String>,
}

impl<'a> Sources<'a> {
    fn new(tree: &'a Tree<'a>, role: Role) -> Self {
        Sources {
            tree,
            role,
            hashed: BTreeMap::new(),
        }
    }

    /// `normalized path → content hash` (and `env:NAME → value`) for every entry of `files`.
    fn read_all(&mut self, files: &[PathBuf]) -> Result<BTreeMap<String, String>, PerfError> {
        let mut out = BTreeMap::new();
        for file in files {
            let text = std::fs::read_to_string(file).map_err(|e| {
                PerfError::Builds(format!(
                    "cannot read the dep-info {} cargo wrote for this build: {e}",
                    file.display()
                ))
            })?;
            let info = parse_dep_info(&text);
            for source in info.sources {
                let (key, path) = self.place(&source)?;
                let hash = match self.hashed.get(&path) {
                    Some(h) => h.clone(),
                    // A source deleted since the build still counts, as "missing".
                    None => hash_file(&path).unwrap_or_else(|_| "missing".into()),
                };
                self.hashed.insert(path, hash.clone());
                out.insert(key, hash);
            }
            for (name, value) in info.env {
                out.insert(format!("env:{name}"), self.normalize_text(&value));
            }
        }
        Ok(out)
    }

    /// The key a source is hashed under (relative to its tree, so two checkouts agree) and its
    /// path on disk; an error when it lies in a foreign checkout.
    fn place(&self, source: &str) -> Result<(String, PathBuf), PerfError> {
        let path = Path::new(source);
        if path.is_relative() {
            return Ok((source.to_string(), self.tree.root.join(path)));
        }
        // The most specific of the roots containing it decides where it belongs.
        let mut best: Option<(usize, &str, &Path)> = None;
        let mut consider = |root: &'a Path, label: &'static str| {
            if path.starts_with(root) {
                let depth = root.components().count();
                if best.is_none_or(|(d, _, _)| depth > d) {
                    best = Some((depth, label, root));
                }
            }
        };
        consider(self.tree.root, "$ROOT");
        consider(self.tree.target_dir, "$TARGET");
        for f in self.tree.foreign {
            consider(f.as_path(), "foreign");
        }
        match best {
            Some((_, "foreign", root)) => Err(PerfError::Builds(format!(
                "the {} build compiled {} from another checkout ({}): the two builds of a paired \
                 run must each use their own sources; this is a bug in cargo perf, please report it",
                self.role.as_str(),
                path.display(),
                root.display()
            ))),
            Some((_, label, root)) => {
                let rel = path.strip_prefix(root).unwrap_or(path);
                Ok((format!("{label}/{}", rel.display()), path.to_path_buf()))
            }
            None => Ok((source.to_string(), path.to_path_buf())),
        }
    }

    /// Replaces the tree's and the target directory's paths in a value (env-deps such as
    /// `CARGO_MANIFEST_DIR`), so two checkouts of the same sources agree.
    fn normalize_text(&self, value: &str) -> String {
        let mut places = [
            (self.tree.target_dir.display().to_string(), "$TARGET"),
            (self.tree.root.display().to_string(), "$ROOT"),
        ];
        // The more specific path first: REF's checkout lies inside the target directory.
        places.sort_by_key(|(path, _)| std::cmp::Reverse(path.len()));
        places.iter().fold(value.to_string(), |v, (path, label)| {
            v.replace(path.as_str(), label)
        })
    }
}

/// What a dep-info file says: the sources of its first rule and the environment it read.
#[derive(Debug, Default, PartialEq)]
struct DepInfo {
    sources: Vec<String>,
    env: Vec<(String, String)>,
}

/// Parses rustc's Makefile-style dep-info: `target: src/a.rs src/b.rs` (spaces in paths escaped
/// as `\ `), then one `src/a.rs:` line per source, then `# env-dep:NAME=value` lines.
fn parse_dep_info(text: &str) -> DepInfo {
    let mut info = DepInfo::default();
    let mut first_rule = true;
    for line in text.lines() {
        if let Some(env) = line.strip_prefix("# env-dep:") {
            let (name, value) = env.split_once('=').unwrap_or((env, ""));
            info.env.push((name.to_string(), value.to_string()));
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() || !first_rule {
            continue;
        }
        let Some(colon) = unescaped_colon(line) else {
            continue;
        };
        first_rule = false;
        info.sources = split_escaped(&line[colon + 1..]);
    }
    info
}

/// The rule's separator: the first `: ` (or a line-ending `:`), skipping a Windows drive's.
fn unescaped_colon(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    (0..bytes.len()).find(|&i| {
        bytes[i] == b':'
            && (i + 1 == bytes.len() || bytes[i + 1] == b' ')
            && (i == 0 || bytes[i - 1] != b'\\')
    })
}

/// Splits on spaces that are not escaped with a backslash.
fn split_escaped(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&' ') => {
                current.push(' ');
                chars.next();
            }
            ' ' => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            _ => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// SHA-256 of a file, lower-case hex.
pub fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// SHA-256 of bytes, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// One hash over `key → hash` entries, in key order.
fn hash_inputs(inputs: &BTreeMap<String, String>) -> String {
    let mut hasher = Sha256::new();
    for (k, v) in inputs {
        hasher.update(k.as_bytes());
        hasher.update([0]);
        hasher.update(v.as_bytes());
        hasher.update([b'\n']);
    }
    hex(&hasher.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dep_info_gives_the_first_rule_sources_and_the_environment() {
        let text = "/t/release/deps/foo-1.d: src/lib.rs src/my\\ file.rs /reg/dep/lib.rs\n\n\
                    /t/release/deps/libfoo-1.rlib: src/lib.rs src/my\\ file.rs /reg/dep/lib.rs\n\n\
                    src/lib.rs:\nsrc/my\\ file.rs:\n/reg/dep/lib.rs:\n\n\
                    # env-dep:CARGO_MANIFEST_DIR=/w/examples\n# env-dep:UNSET\n";
        let info = parse_dep_info(text);
        assert_eq!(
            info.sources,
            vec!["src/lib.rs", "src/my file.rs", "/reg/dep/lib.rs"]
        );
        assert_eq!(
            info.env,
            vec![
                ("CARGO_MANIFEST_DIR".to_string(), "/w/examples".to_string()),
                ("UNSET".to_string(), String::new())
            ]
        );
    }

    fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, text).expect("write");
        p
    }

    /// Two checkouts of the same sources hash alike; a changed source changes the inputs hash,
    /// and an absolute path into the other checkout is refused.
    #[test]
    fn inputs_hash_follows_the_sources_not_the_checkout() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let target = tmp.path().join("a/target");
        let against = target.join("cargo-perf/against/abc");
        let mut hashes = Vec::new();
        for (root, body) in [
            (tmp.path().join("a"), "fn f() {}"),
            (against.clone(), "fn f() {}"),
            (against.clone(), "fn f() { g() }"),
        ] {
            write(&root, "src/lib.rs", body);
            let d = write(
                &target,
                "release/deps/t-1.d",
                &format!(
                    "x: src/lib.rs {}/src/lib.rs\n# env-dep:CARGO_MANIFEST_DIR={}\n",
                    root.display(),
                    root.display()
                ),
            );
            let foreign = [tmp.path().join("a")];
            let tree = Tree {
                root: &root,
                target_dir: &target,
                foreign: if root == against { &foreign } else { &[] },
                commit: None,
                dirty: false,
            };
            let mut s = Sources::new(&tree, Role::Base);
            hashes.push(hash_inputs(&s.read_all(&[d]).expect("reads")));
        }
        assert_eq!(hashes[0], hashes[1], "same sources in two checkouts");
        assert_ne!(hashes[1], hashes[2], "a changed source");

        // The new tree's build must not name a source of REF's checkout.
        write(&against, "src/lib.rs", "fn f() {}");
        let d = write(
            &target,
            "release/deps/t-2.d",
            &format!("x: {}/src/lib.rs\n", against.display()),
        );
        let root = tmp.path().join("a");
        let foreign = [target.join("cargo-perf/against")];
        let tree = Tree {
            root: &root,
            target_dir: &target,
            foreign: &foreign,
            commit: None,
            dirty: false,
        };
        let err = Sources::new(&tree, Role::New)
            .read_all(&[d])
            .expect_err("foreign source");
        assert!(err.to_string().contains("another checkout"), "{err}");
    }

    fn role(execs: &[(&str, &str, &str)]) -> RoleBuild {
        RoleBuild {
            role: "x".into(),
            commit: None,
            dirty: false,
            executables: execs
                .iter()
                .map(|(t, sha, inputs)| BuiltExecutable {
                    package: "p".into(),
                    target: (*t).into(),
                    file: String::new(),
                    sha256: (*sha).into(),
                    inputs_sha256: (*inputs).into(),
                })
                .collect(),
        }
    }

    #[test]
    fn identical_executables_are_reported_only_when_their_inputs_differ() {
        let new = role(&[("a", "1", "i"), ("b", "2", "j"), ("c", "3", "k")]);
        let base = role(&[("a", "1", "i"), ("b", "2", "J"), ("c", "4", "K")]);
        assert_eq!(
            identical_despite_changes(&new, &base),
            vec![("p".to_string(), "b".to_string(), "2".to_string())]
        );
    }

    #[test]
    fn a_kept_executable_that_changes_is_an_error() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let target = tmp.path().join("target");
        let exe = write(&target, "release/deps/t-1", "binary one");
        let dep = write(&target, "release/deps/t-1.d", "x: src/t.rs\n");
        write(tmp.path(), "src/t.rs", "fn main() {}");
        let build = Build {
            binaries: vec![Binary {
                exe: exe.clone(),
                package: "p".into(),
                target: "t".into(),
                package_dir: tmp.path().into(),
                dep_info: dep,
            }],
            local_dep_info: Vec::new(),
        };
        let tree = Tree {
            root: tmp.path(),
            target_dir: &target,
            foreign: &[],
            commit: Some("abc".into()),
            dirty: false,
        };
        let kept = keep(&build, Role::New, &tree).expect("kept");
        assert_ne!(kept.binaries[0].exe, exe, "runs from the copy");
        // The original being rebuilt (what the other build does) does not touch the copy.
        std::fs::write(&exe, "binary two").expect("overwrite");
        verify(&kept, "the rounds").expect("the copy is intact");
        std::fs::write(&kept.binaries[0].exe, "binary two").expect("tamper");
        let err = verify(&kept, "the rounds").expect_err("changed");
        assert!(
            err.to_string().contains("changed between its build"),
            "{err}"
        );
    }
}
