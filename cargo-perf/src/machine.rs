//! Where and from what a run measured: the machine (CPU, cores, OS) and the git commit.

use std::path::Path;
use std::process::Command;

use perf_harness::record::Machine;

/// The machine this process runs on, via sysinfo.
pub fn current() -> Machine {
    let mut sys = sysinfo::System::new();
    sys.refresh_cpu_list(sysinfo::CpuRefreshKind::nothing());
    let cpu = sys
        .cpus()
        .first()
        .map(|c| c.brand().trim().to_string())
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = sys.cpus().len().max(1);
    let os = sysinfo::System::long_os_version()
        .or_else(sysinfo::System::name)
        .unwrap_or_else(|| std::env::consts::OS.into());
    Machine {
        cpu,
        cores,
        os,
        arch: std::env::consts::ARCH.into(),
    }
}

/// `git rev-parse HEAD` in `dir`; `None` outside a repository or without git (never an error).
pub fn git_commit(dir: &Path) -> Option<String> {
    git_line(dir, &["rev-parse", "HEAD"])
}

/// The top directory of the git checkout holding `dir`, if any.
pub fn git_toplevel(dir: &Path) -> Option<std::path::PathBuf> {
    git_line(dir, &["rev-parse", "--show-toplevel"]).map(std::path::PathBuf::from)
}

fn git_line(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let commit = text.trim();
    (!commit.is_empty()).then(|| commit.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_machine_has_a_cpu_and_cores() {
        let m = current();
        assert!(m.cores >= 1);
        assert!(!m.cpu.is_empty());
        assert!(!m.os.is_empty());
    }

    #[test]
    fn no_repository_means_no_commit() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A temp dir may sit inside a repository on some machines; only check it never fails.
        let _ = git_commit(dir.path());
        assert_eq!(git_commit(Path::new("/nonexistent/dir")), None);
    }
}
