//! How `serve_forever()` is asked to stop: at once, or by a graceful drain with a deadline.
//!
//! Lock-free (two atomics), so `Engine.stop()` is safe from a Python signal handler that runs
//! on the loop's own thread, from another thread, and from the engine's workers; the loop and
//! every response head read it.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::time::{Duration, Instant};

const RUN: u8 = 0;
const DRAIN: u8 = 1;
const NOW: u8 = 2;

/// What the loop is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Run,
    /// Stop accepting, finish what was received, return by the deadline.
    Drain(Instant),
    /// Return at once.
    Now,
}

pub struct StopSignal {
    epoch: Instant,
    mode: AtomicU8,
    /// The drain deadline, in nanoseconds from `epoch`.
    drain_until: AtomicU64,
    /// Set when a serve_forever() that was asked to stop has returned: the next one starts
    /// afresh, unless a new stop is asked for first.
    spent: AtomicBool,
}

impl Default for StopSignal {
    fn default() -> Self {
        StopSignal {
            epoch: Instant::now(),
            mode: AtomicU8::new(RUN),
            drain_until: AtomicU64::new(u64::MAX),
            spent: AtomicBool::new(false),
        }
    }
}

impl StopSignal {
    /// Asks for a stop at once (never undone by a later graceful request).
    pub fn now(&self) {
        self.spent.store(false, Ordering::SeqCst);
        self.mode.fetch_max(NOW, Ordering::SeqCst);
    }

    /// Asks for a graceful drain of at most `timeout`; a second request can only bring the
    /// deadline nearer.
    pub fn drain(&self, timeout: Duration) {
        let at = self.epoch.elapsed().saturating_add(timeout);
        let nanos = u64::try_from(at.as_nanos()).unwrap_or(u64::MAX - 1);
        self.spent.store(false, Ordering::SeqCst);
        // The deadline is in place before the mode says to read it.
        self.drain_until.fetch_min(nanos, Ordering::SeqCst);
        self.mode.fetch_max(DRAIN, Ordering::SeqCst);
    }

    pub fn get(&self) -> Stop {
        match self.mode.load(Ordering::SeqCst) {
            RUN => Stop::Run,
            DRAIN => {
                let nanos = self.drain_until.load(Ordering::SeqCst);
                let deadline = self
                    .epoch
                    .checked_add(Duration::from_nanos(nanos))
                    // Too far to represent: as good as never.
                    .unwrap_or_else(|| Instant::now() + Duration::from_secs(86400 * 365 * 100));
                Stop::Drain(deadline)
            }
            _ => Stop::Now,
        }
    }

    /// Whether a stop of either kind was asked for: responses say `Connection: close`.
    pub fn stopping(&self) -> bool {
        self.mode.load(Ordering::Relaxed) != RUN
    }

    /// At the start of `serve_forever()`: back to running if the stop asked for was the last
    /// run's. A stop asked for before the first run, or between two runs, still holds.
    pub fn begin(&self) {
        if self.spent.swap(false, Ordering::SeqCst) {
            self.drain_until.store(u64::MAX, Ordering::SeqCst);
            self.mode.store(RUN, Ordering::SeqCst);
        }
    }

    /// At the end of `serve_forever()`. The mode stays as it is until the next run begins, so
    /// that requests a graceful stop left running on the workers still end with
    /// `Connection: close`.
    pub fn end(&self) {
        self.spent.store(true, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drain_then_now_and_nearer_deadlines() {
        let s = StopSignal::default();
        assert_eq!(s.get(), Stop::Run);
        assert!(!s.stopping());
        s.drain(Duration::from_secs(60));
        let Stop::Drain(far) = s.get() else {
            panic!("not draining")
        };
        s.drain(Duration::from_secs(3600));
        assert_eq!(
            s.get(),
            Stop::Drain(far),
            "a later, longer drain keeps the deadline"
        );
        s.drain(Duration::from_secs(1));
        let Stop::Drain(near) = s.get() else {
            panic!("not draining")
        };
        assert!(near < far);
        assert!(s.stopping());
        s.now();
        s.drain(Duration::from_secs(1));
        assert_eq!(s.get(), Stop::Now, "a stop at once is never undone");
        s.begin();
        assert_eq!(
            s.get(),
            Stop::Now,
            "a stop asked for before a run holds for it"
        );
        s.end();
        assert_eq!(s.get(), Stop::Now, "until the next run begins");
        s.begin();
        assert_eq!(s.get(), Stop::Run);
        s.end();
        s.drain(Duration::MAX);
        s.begin();
        assert!(
            matches!(s.get(), Stop::Drain(_)),
            "a stop between two runs holds"
        );
    }
}
