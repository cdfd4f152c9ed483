//! The counts behind `--metrics-bind`: what each application thread of a worker has answered,
//! kept on its slot of the scoreboard (see `scoreboard.rs`), which the supervisor sums over the
//! slots of every worker and serves as Prometheus text.
//!
//! Each slot's [`Counters`] have one writer, the thread on the slot, so a count goes up by a
//! relaxed load and store (no locked instruction, no cache line shared with another writer);
//! the supervisor reads them with relaxed loads, and a count it reads is at worst one request
//! behind. Per request that is a few stores: its method and status class, its duration's
//! bucket and the sum, and the bytes its connection read and wrote for it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The methods counted by name; any other is counted as the last, "other".
pub const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other",
];
/// Status classes 1xx to 5xx.
pub const CLASSES: usize = 5;
/// The request-duration histogram's upper bounds, in seconds (Prometheus's `le`); a last bucket,
/// `+Inf`, takes the rest.
pub const BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
const BUCKET_NANOS: [u64; 13] = [
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
];

/// One thread's counts, in the shared mapping (all zeroes: nothing counted).
#[repr(C)]
pub struct Counters {
    /// By status class (1xx first), then method (as [`METHODS`]).
    requests: [AtomicU64; CLASSES * METHODS.len()],
    /// By duration: [`BUCKETS`], then +Inf; not cumulative (the reader adds them up).
    durations: [AtomicU64; BUCKETS.len() + 1],
    duration_nanos: AtomicU64,
    received: AtomicU64,
    sent: AtomicU64,
}

/// Adds `n` to a count that has one writer: a plain load and store.
fn bump(count: &AtomicU64, n: u64) {
    count.store(
        count.load(Ordering::Relaxed).wrapping_add(n),
        Ordering::Relaxed,
    );
}

fn method_index(method: &str) -> usize {
    match method {
        "GET" => 0,
        "HEAD" => 1,
        "POST" => 2,
        "PUT" => 3,
        "DELETE" => 4,
        "PATCH" => 5,
        "OPTIONS" => 6,
        _ => 7,
    }
}

/// A request served: counted as `method` and `status` (its class; outside 100..=599 as 5xx),
/// taking `elapsed`, and the bytes its connection read and wrote for it. Called only by the
/// slot's own thread.
pub struct Served<'a> {
    pub method: &'a str,
    pub status: u16,
    pub elapsed: Duration,
    pub received: u64,
    pub sent: u64,
}

impl Counters {
    pub fn record(&self, served: &Served<'_>) {
        let class = match served.status {
            100..=599 => usize::from(served.status / 100) - 1,
            _ => CLASSES - 1,
        };
        let at = class * METHODS.len() + method_index(served.method);
        if let Some(count) = self.requests.get(at) {
            bump(count, 1);
        }
        let nanos = u64::try_from(served.elapsed.as_nanos()).unwrap_or(u64::MAX);
        let bucket = BUCKET_NANOS
            .iter()
            .position(|&bound| nanos <= bound)
            .unwrap_or(BUCKETS.len());
        if let Some(count) = self.durations.get(bucket) {
            bump(count, 1);
        }
        bump(&self.duration_nanos, nanos);
        if served.received != 0 {
            bump(&self.received, served.received);
        }
        if served.sent != 0 {
            bump(&self.sent, served.sent);
        }
    }
}

/// Counts summed over slots (and what the loop shows of the process), for the supervisor.
pub struct Totals {
    pub requests: [u64; CLASSES * METHODS.len()],
    pub durations: [u64; BUCKETS.len() + 1],
    pub duration_nanos: u64,
    pub received: u64,
    pub sent: u64,
    pub in_flight: u64,
    pub queued: u64,
    pub open: u64,
}

impl Default for Totals {
    fn default() -> Self {
        Totals {
            requests: [0; CLASSES * METHODS.len()],
            durations: [0; BUCKETS.len() + 1],
            duration_nanos: 0,
            received: 0,
            sent: 0,
            in_flight: 0,
            queued: 0,
            open: 0,
        }
    }
}

impl Totals {
    pub fn add(&mut self, counters: &Counters) {
        for (total, count) in self.requests.iter_mut().zip(&counters.requests) {
            *total = total.wrapping_add(count.load(Ordering::Relaxed));
        }
        for (total, count) in self.durations.iter_mut().zip(&counters.durations) {
            *total = total.wrapping_add(count.load(Ordering::Relaxed));
        }
        let load = |count: &AtomicU64| count.load(Ordering::Relaxed);
        self.duration_nanos = self
            .duration_nanos
            .wrapping_add(load(&counters.duration_nanos));
        self.received = self.received.wrapping_add(load(&counters.received));
        self.sent = self.sent.wrapping_add(load(&counters.sent));
    }

    /// As Python sees them: `{"requests": {(method, "2xx"): n, ...} (those above 0),
    /// "duration_buckets": [n, ...] (not cumulative; BUCKETS then +Inf), "duration_sum":
    /// seconds, "received_bytes", "sent_bytes", "in_flight", "queued", "open"}`.
    pub fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let requests = PyDict::new(py);
        for (at, &n) in self.requests.iter().enumerate() {
            if n != 0 {
                let class = format!("{}xx", at / METHODS.len() + 1);
                requests.set_item((METHODS[at % METHODS.len()], class), n)?;
            }
        }
        let dict = PyDict::new(py);
        dict.set_item("requests", requests)?;
        dict.set_item("duration_buckets", self.durations.to_vec())?;
        dict.set_item("duration_sum", self.duration_nanos as f64 / 1e9)?;
        dict.set_item("received_bytes", self.received)?;
        dict.set_item("sent_bytes", self.sent)?;
        dict.set_item("in_flight", self.in_flight)?;
        dict.set_item("queued", self.queued)?;
        dict.set_item("open", self.open)?;
        Ok(dict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zeroed() -> Box<Counters> {
        // SAFETY: Counters is made of AtomicU64s, for which all zeroes is a valid value (the
        // shared mapping is zeroed by the kernel the same way).
        unsafe { Box::new(std::mem::zeroed()) }
    }

    fn served(method: &str, status: u16, millis: u64) -> Served<'_> {
        Served {
            method,
            status,
            elapsed: Duration::from_millis(millis),
            received: 10,
            sent: 100,
        }
    }

    #[test]
    fn each_request_is_counted_by_method_status_class_and_duration() {
        let c = zeroed();
        for s in [
            served("GET", 200, 0),
            served("GET", 204, 1),
            served("POST", 404, 3),
            served("PROPFIND", 500, 20_000),
            served("get", 101, 10),
            served("DELETE", 999, 10),
        ] {
            c.record(&s);
        }
        let mut t = Totals::default();
        t.add(&c);
        t.add(&c); // a second slot, with the same counts
        let at = |method: usize, class: usize| t.requests[(class - 1) * METHODS.len() + method];
        assert_eq!(at(0, 2), 4, "GET 2xx");
        assert_eq!(at(2, 4), 2, "POST 4xx");
        assert_eq!(at(7, 5), 2, "PROPFIND is other, 5xx");
        assert_eq!(at(7, 1), 2, "methods are case-sensitive: get is other");
        assert_eq!(at(4, 5), 2, "a status out of range counts as 5xx");
        assert_eq!(t.requests.iter().sum::<u64>(), 12);
        // 0 ms and 1 ms go in le=0.001 (a bound is inclusive), 3 ms in le=0.005, 10 ms in
        // le=0.01 (twice), 20 s in +Inf.
        let mut expected = [0u64; 14];
        expected[0] = 4;
        expected[2] = 2;
        expected[3] = 4;
        expected[13] = 2;
        assert_eq!(t.durations, expected);
        assert_eq!(t.duration_nanos, 2 * 20_024_000_000);
        assert_eq!((t.received, t.sent), (120, 1200));
    }

    #[test]
    fn the_bounds_in_nanoseconds_are_the_bounds_in_seconds() {
        for (nanos, seconds) in BUCKET_NANOS.iter().zip(BUCKETS) {
            assert_eq!(*nanos, (seconds * 1e9).round() as u64);
        }
    }
}
