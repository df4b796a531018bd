//! The test process's limit on open file descriptors: raised to its hard maximum before a load
//! test (each user's connection is one), and named in the error when it runs out anyway.

/// `errno` of "too many open files" for this process (EMFILE) and for the system (ENFILE).
const OUT_OF_DESCRIPTORS: [i32; 2] = [24, 23];

/// The soft and hard limits (`ulimit -Sn`, `ulimit -Hn`), if the platform tells.
pub fn limits() -> Option<(u64, u64)> {
    #[cfg(target_os = "linux")]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes the struct it is given and reads nothing else.
        let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
        (read == 0).then_some((limit.rlim_cur, limit.rlim_max))
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// Raises the soft limit to the hard one, as Go's runtime does for every program: a shell's
/// default of 1 024 would stop a load test at about a thousand users although the system allows
/// more. Returns the limit in force after.
pub fn raise() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let (soft, hard) = limits()?;
        if soft < hard {
            let limit = libc::rlimit {
                rlim_cur: hard,
                rlim_max: hard,
            };
            // SAFETY: setrlimit reads the struct it is given; raising the soft limit up to the
            // hard one needs no privilege.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } == 0 {
                return Some(hard);
            }
        }
        Some(soft)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// For an error whose cause is "too many open files": what happened and the fix, with the limit;
/// `None` for any other error.
pub fn explain(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut source = Some(e);
    while let Some(s) = source {
        let out = s
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::raw_os_error)
            .is_some_and(|code| OUT_OF_DESCRIPTORS.contains(&code));
        if out {
            return Some(hint(limits().map(|(soft, _)| soft)));
        }
        source = s.source();
    }
    None
}

/// The message for a process out of file descriptors, with its limit when known.
fn hint(limit: Option<u64>) -> String {
    let limit = limit.map_or_else(String::new, |n| format!(" ({n}, `ulimit -n`)"));
    format!(
        "the test process ran out of file descriptors{limit}: each user's connection takes one, \
         and an in-process service one more per connection; raise the limit (`ulimit -n 65536` \
         before cargo perf, or `LimitNOFILE` for a service) or run fewer users"
    )
}

#[cfg(test)]
mod tests {
    use super::{explain, hint};

    #[test]
    fn only_running_out_of_descriptors_is_explained() {
        let emfile = std::io::Error::from_raw_os_error(24);
        assert!(explain(&emfile).is_some_and(|m| m.contains("ran out of file descriptors")));
        let enfile = std::io::Error::from_raw_os_error(23);
        assert!(explain(&enfile).is_some());
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(explain(&refused), None);
    }

    #[test]
    fn the_hint_names_the_limit_when_known() {
        assert!(hint(Some(256)).starts_with(
            "the test process ran out of file descriptors (256, `ulimit -n`): each user's"
        ));
        assert!(hint(None).starts_with("the test process ran out of file descriptors: each"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn raising_leaves_the_soft_limit_at_the_hard_one() {
        let raised = super::raise().expect("a limit");
        let (soft, hard) = super::limits().expect("limits");
        assert_eq!((raised, soft), (hard, hard));
    }
}
