//! The cargo project: which packages are selected and which of them can hold perf tests.

use std::path::PathBuf;

use cargo_metadata::{Metadata, MetadataCommand, Package, PackageId};

use crate::cli::Args;
use crate::error::PerfError;

/// The name users add as a dependency to write perf tests.
pub const HARNESS_CRATE: &str = "perf-harness";

/// The selected packages that depend on perf-harness, and where output goes.
pub struct Project {
    /// Packages to build and probe.
    pub packages: Vec<Package>,
    /// Cargo's target directory.
    pub target_dir: PathBuf,
    /// The workspace root (rustc's working directory: dep-info paths are relative to it).
    pub workspace_root: PathBuf,
    /// Workspace members that depend on perf-harness but are not selected (their tests are
    /// not discovered; perf.toml patterns naming them are not checked).
    pub unselected: Vec<String>,
}

impl Project {
    /// The package an artifact belongs to, if it is one of ours.
    pub fn package(&self, id: &PackageId) -> Option<&Package> {
        self.packages.iter().find(|p| &p.id == id)
    }
}

/// Reads `cargo metadata` and applies `-p` / `--workspace` the way `cargo test` does.
pub fn load(args: &Args) -> Result<Project, PerfError> {
    let mut cmd = MetadataCommand::new();
    cmd.no_deps();
    if let Some(path) = &args.manifest_path {
        cmd.manifest_path(path);
    }
    let meta = cmd.exec().map_err(|e| {
        let message = metadata_message(e);
        let hint = if message.contains("could not find `Cargo.toml`") {
            "
hint: run `cargo perf` inside a crate or workspace, or pass --manifest-path PATH/Cargo.toml"
        } else {
            ""
        };
        PerfError::Metadata { message, hint }
    })?;
    let selected = select(&meta, args)?;
    let (with, without): (Vec<&Package>, Vec<&Package>) =
        selected.into_iter().partition(|p| depends_on_harness(p));
    if with.is_empty() {
        let names: Vec<String> = without.iter().map(|p| format!("`{}`", p.name)).collect();
        let members = meta
            .workspace_packages()
            .into_iter()
            .filter(|p| depends_on_harness(p))
            .map(|p| format!("`{}`", p.name))
            .collect::<Vec<_>>();
        let also = if members.is_empty() {
            String::new()
        } else {
            format!(
                " (packages that do: {}; select one with -p)",
                members.join(", ")
            )
        };
        return Err(PerfError::NoPerfPackages(format!(
            "{} {} not depend on {HARNESS_CRATE}{also}",
            names.join(", "),
            if names.len() == 1 { "does" } else { "do" },
        )));
    }
    if !args.packages.is_empty() {
        if let Some(p) = without.first() {
            return Err(PerfError::NoPerfPackages(format!(
                "package `{}` does not depend on {HARNESS_CRATE}",
                p.name
            )));
        }
    }
    let unselected = meta
        .workspace_packages()
        .into_iter()
        .filter(|p| depends_on_harness(p) && !with.iter().any(|w| w.id == p.id))
        .map(|p| p.name.to_string())
        .collect();
    Ok(Project {
        unselected,
        packages: with.into_iter().cloned().collect(),
        target_dir: meta.target_directory.clone().into_std_path_buf(),
        workspace_root: meta.workspace_root.clone().into_std_path_buf(),
    })
}

fn manifest_in_use(args: &Args) -> Option<PathBuf> {
    let path = match &args.manifest_path {
        Some(path) => path.clone(),
        None => std::env::current_dir()
            .ok()?
            .ancestors()
            .map(|dir| dir.join("Cargo.toml"))
            .find(|candidate| candidate.is_file())?,
    };
    path.canonicalize().ok()
}

fn metadata_message(e: cargo_metadata::Error) -> String {
    match e {
        cargo_metadata::Error::CargoMetadata { stderr } => {
            stderr.trim().trim_start_matches("error: ").to_string()
        }
        other => other.to_string(),
    }
}

fn depends_on_harness(p: &Package) -> bool {
    p.dependencies.iter().any(|d| d.name == HARNESS_CRATE)
}

fn select<'m>(meta: &'m Metadata, args: &Args) -> Result<Vec<&'m Package>, PerfError> {
    let members = meta.workspace_packages();
    if args.workspace {
        return Ok(members);
    }
    if !args.packages.is_empty() {
        return args
            .packages
            .iter()
            .map(|name| {
                members
                    .iter()
                    .find(|p| p.name.as_str() == name.as_str())
                    .copied()
                    .ok_or_else(|| {
                        let names: Vec<&str> = members.iter().map(|p| p.name.as_str()).collect();
                        PerfError::UnknownPackage {
                            name: name.clone(),
                            hint: crate::project::suggest::did_you_mean(
                                name,
                                names.iter().copied(),
                            )
                            .map(|n| format!("; did you mean `{n}`?"))
                            .unwrap_or_default(),
                            members: names.join(", "),
                        }
                    })
            })
            .collect();
    }
    // Like cargo: the package whose manifest is the one in use (--manifest-path, or the nearest
    // Cargo.toml above the current directory); a virtual manifest means the default members.
    if let Some(manifest) = manifest_in_use(args) {
        let same = |p: &&&Package| {
            p.manifest_path.as_std_path().canonicalize().ok() == Some(manifest.clone())
        };
        if let Some(p) = members.iter().find(same) {
            return Ok(vec![p]);
        }
    }
    if !meta.workspace_default_members.is_available() {
        return Ok(members);
    }
    let defaults = meta.workspace_default_packages();
    Ok(if defaults.is_empty() {
        members
    } else {
        defaults
    })
}
