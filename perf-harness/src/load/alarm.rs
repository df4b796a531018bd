//! Waking the open-model scheduler at a slot to within microseconds: on Linux a timerfd that
//! tokio's reactor watches (tokio's own timer has millisecond ticks, and a wake-up up to two
//! ticks late was added to every iteration's latency from the schedule); elsewhere tokio's
//! timer to within a tick, then yielding until the slot.

use std::time::{Duration, Instant};

/// Resolution of tokio's timer: the fallback sleeps to within this of a slot, then yields.
const TIMER_TICK: Duration = Duration::from_millis(1);

/// One scheduler's alarm clock, re-armed for each slot.
pub struct Alarm {
    /// The timerfd, or `None` when the kernel refused one (then the fallback wait is used).
    #[cfg(target_os = "linux")]
    timer: Option<tokio::io::unix::AsyncFd<linux::TimerFd>>,
}

impl Alarm {
    /// An alarm for the current tokio runtime (which must have its IO driver enabled).
    pub fn new() -> Alarm {
        Alarm {
            // `AsyncFd::new` is deprecated in recent tokio for descriptors it cannot know stay
            // open; `TimerFd` owns its descriptor until the `AsyncFd` drops it, and `new` also
            // builds with the older tokio versions a user's lock file may hold.
            #[cfg(target_os = "linux")]
            #[allow(deprecated)]
            timer: linux::TimerFd::new()
                .and_then(tokio::io::unix::AsyncFd::new)
                .ok(),
        }
    }

    /// Returns at `at` or just after it (at once when `at` has passed): sleeps until
    /// [`SPIN_AHEAD`] before it, then yields (other tasks run) until it comes.
    pub async fn until(&mut self, at: Instant) {
        let Some(wait) = at
            .checked_duration_since(Instant::now())
            .filter(|w| !w.is_zero())
        else {
            return;
        };
        #[cfg(target_os = "linux")]
        if let Some(timer) = &self.timer {
            if wait <= SPIN_AHEAD || linux::wait(timer, wait - SPIN_AHEAD).await.is_ok() {
                spin_until(at).await;
                return;
            }
        }
        coarse(at, wait).await;
    }
}

/// How long before a slot the timer wakes the scheduler, which then yields until the slot: an
/// idle core takes up to ~200 µs to run a woken thread (measured on a 2-core VM), so sleeping to
/// the slot itself made the slot that late; the yielding costs the core at most this much per
/// slot.
#[cfg(target_os = "linux")]
const SPIN_AHEAD: Duration = Duration::from_micros(200);

/// Yields until `at`, letting the other tasks of this thread run meanwhile.
async fn spin_until(at: Instant) {
    while Instant::now() < at {
        tokio::task::yield_now().await;
    }
}

/// tokio's timer to within a tick of `at`, then yields (other tasks run) until it comes.
async fn coarse(at: Instant, wait: Duration) {
    if wait > TIMER_TICK {
        tokio::time::sleep_until((at - TIMER_TICK).into()).await;
    }
    spin_until(at).await;
}

#[cfg(target_os = "linux")]
mod linux {
    //! The timerfd: armed relative to now, read once it fires.

    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
    use std::time::Duration;

    use tokio::io::unix::AsyncFd;

    /// A non-blocking `CLOCK_MONOTONIC` timerfd.
    pub struct TimerFd(OwnedFd);

    impl TimerFd {
        /// Creates one, or the kernel's error.
        pub fn new() -> io::Result<TimerFd> {
            // SAFETY: plain syscall; the result is checked before it is used as a descriptor.
            let fd = unsafe {
                libc::timerfd_create(
                    libc::CLOCK_MONOTONIC,
                    libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
                )
            };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: `fd` is a fresh descriptor this function alone owns.
            Ok(TimerFd(unsafe { OwnedFd::from_raw_fd(fd) }))
        }

        /// Arms it to fire once, `after` from now.
        fn arm(&self, after: Duration) -> io::Result<()> {
            let spec = libc::itimerspec {
                it_interval: libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                },
                it_value: libc::timespec {
                    tv_sec: after.as_secs() as libc::time_t,
                    tv_nsec: after.subsec_nanos().max(1) as libc::c_long,
                },
            };
            // SAFETY: `spec` is a valid itimerspec; the old value is not asked for.
            let r = unsafe {
                libc::timerfd_settime(self.0.as_raw_fd(), 0, &spec, std::ptr::null_mut())
            };
            if r < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        }

        /// Reads the expiration count (clears readiness); `WouldBlock` before it fired.
        fn read(&self) -> io::Result<u64> {
            let mut expirations = 0u64;
            // SAFETY: reads at most 8 bytes into a u64 that lives across the call.
            let n = unsafe {
                libc::read(
                    self.0.as_raw_fd(),
                    (&mut expirations as *mut u64).cast(),
                    std::mem::size_of::<u64>(),
                )
            };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(expirations)
        }
    }

    impl AsRawFd for TimerFd {
        fn as_raw_fd(&self) -> RawFd {
            self.0.as_raw_fd()
        }
    }

    /// Arms the timer for `after` and waits until it fires.
    pub async fn wait(timer: &AsyncFd<TimerFd>, after: Duration) -> io::Result<()> {
        timer.get_ref().arm(after)?;
        loop {
            let mut ready = timer.readable().await?;
            match ready.try_io(|t| t.get_ref().read()) {
                Ok(result) => return result.map(drop),
                Err(_would_block) => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Not a timing check (those are in `cargo perf` runs): the alarm returns, never early.
    #[test]
    fn the_alarm_never_returns_before_its_instant() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let mut alarm = Alarm::new();
            for micros in [0u64, 1, 150, 2_500] {
                let at = Instant::now() + Duration::from_micros(micros);
                alarm.until(at).await;
                assert!(Instant::now() >= at, "{micros} µs");
            }
            // An instant in the past returns at once and leaves the alarm usable.
            alarm.until(Instant::now() - Duration::from_millis(1)).await;
            let at = Instant::now() + Duration::from_micros(300);
            alarm.until(at).await;
            assert!(Instant::now() >= at);
        });
    }
}
