//! The scoreboard: what a worker process shows its supervisor, in memory they share.
//!
//! The supervisor makes a `Scoreboard` before it forks a worker (an anonymous shared mapping,
//! inherited by the fork) and the worker's engine writes to it: the event loop's heartbeat, the
//! count of requests begun, and for each thread that runs the application (the loop's own
//! thread when `threads` is 0, else each worker thread) the request it is on, since when, and
//! when the application last made progress. The supervisor reads it to tell a hung request or
//! a stuck loop (`--timeout`), and a worker due for recycling (`--max-requests`), without
//! asking the worker anything: a worker that is stuck could not answer.
//!
//! "Progress" is the application moving or its client moving: the application is called, reads
//! a piece of the request body, writes, or hands over a chunk of its result. While the engine
//! itself sends a response, the thread is out of the application and no time counts (a slow
//! client is the engine's `engine_timeout`'s business).
//!
//! Writing costs a few stores and a coarse clock read (no syscall on Linux); the times are in
//! nanoseconds of the system's monotonic clock, the same in every process. Each slot's request
//! text is guarded by a sequence number, so a reader never sees half of one request and half of
//! another. Nothing here takes the GIL but the Python-facing methods.
//!
//! A board made for `--metrics-bind` also counts what each slot's thread answers (see
//! `metrics.rs`), and the loop shows its open connections, those queued for a worker thread,
//! and the bytes of connections no request took.

use std::cell::RefCell;
use std::net::{Ipv6Addr, SocketAddr};
use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::sync::Arc;

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::engine::http::parse::RequestHead;
use crate::engine::net::conn::Tally;
use crate::engine::net::peer::Peer;
use crate::engine::wsgi::metrics::{Counters, Served, Totals};

/// Bytes of a request's description ("GET /path HTTP/1.1") kept on the board.
const TEXT_WORDS: usize = 32;
/// A peer's kind in `Slot::peer_port` (above the port's 16 bits).
const PEER_V4: u64 = 4 << 16;
const PEER_V6: u64 = 6 << 16;
const PEER_UNIX: u64 = 1 << 16;

#[repr(C)]
struct Header {
    /// When the event loop last went round; 0: not yet.
    heartbeat: AtomicU64,
    /// Requests begun since the worker started.
    requests: AtomicU64,
    /// Connections open, and those with a request waiting for a worker thread (metrics only).
    open: AtomicU64,
    queued: AtomicU64,
    /// Bytes of closed connections that no request counted (metrics only).
    received: AtomicU64,
    sent: AtomicU64,
}

#[repr(C)]
struct Slot {
    /// The thread on this slot (`pthread_self`, Python's `threading.get_ident()`); 0: none.
    thread: AtomicU64,
    /// Odd while the request text below is being written.
    seq: AtomicU64,
    /// When the current request began; 0: no request.
    started: AtomicU64,
    /// When the application last made progress; 0: not in the application.
    progress: AtomicU64,
    text: [AtomicU64; TEXT_WORDS],
    /// The peer's address, as its 16 bytes (an IPv4 address in the first 4), and its port with
    /// its kind: written as numbers, made text only when the supervisor reads them.
    peer_ip: [AtomicU64; 2],
    peer_port: AtomicU64,
    /// What this slot's thread has answered (metrics only).
    counters: Counters,
}

/// The shared mapping: a header, then `slots` slots.
pub struct Board {
    base: NonNull<u8>,
    len: usize,
    slots: usize,
    /// Whether the requests are counted (`--metrics-bind`).
    metrics: bool,
}

// SAFETY: the mapping is only ever accessed through atomics (see `header` and `slot`), which
// are safe to use from any thread; `base` is never written after creation.
unsafe impl Send for Board {}
// SAFETY: as above: shared access goes through atomics only.
unsafe impl Sync for Board {}

impl Board {
    fn new(slots: usize, metrics: bool) -> std::io::Result<Board> {
        let len = std::mem::size_of::<Header>() + slots * std::mem::size_of::<Slot>();
        // SAFETY: a fresh anonymous mapping; no existing memory is touched. The kernel zeroes
        // it, which is every field's "nothing yet".
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANON,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let base = NonNull::new(base.cast::<u8>()).ok_or_else(std::io::Error::last_os_error)?;
        Ok(Board {
            base,
            len,
            slots,
            metrics,
        })
    }

    fn header(&self) -> &Header {
        // SAFETY: the mapping starts with a Header, is page-aligned, lives as long as `self`,
        // and is only accessed through the atomics it is made of.
        unsafe { &*self.base.as_ptr().cast::<Header>() }
    }

    fn slot(&self, index: usize) -> Option<&Slot> {
        if index >= self.slots {
            return None;
        }
        let offset = std::mem::size_of::<Header>() + index * std::mem::size_of::<Slot>();
        // SAFETY: `index < slots`, so the slot lies inside the mapping; Header and Slot are
        // made of u64s, so the offset keeps the alignment; atomics only, as above.
        Some(unsafe { &*self.base.as_ptr().add(offset).cast::<Slot>() })
    }

    pub fn slots(&self) -> usize {
        self.slots
    }

    /// The loop went round.
    pub fn beat(&self) {
        self.header().heartbeat.store(now(), Ordering::Relaxed);
    }

    /// Whether the requests are counted.
    pub fn counting(&self) -> bool {
        self.metrics
    }

    /// The loop has `n` connections open.
    pub fn show_open(&self, n: usize) {
        if self.metrics {
            self.header().open.store(n as u64, Ordering::Relaxed);
        }
    }

    /// `n` requests wait for a worker thread.
    pub fn show_queued(&self, n: usize) {
        if self.metrics {
            self.header().queued.store(n as u64, Ordering::Relaxed);
        }
    }

    /// Everything counted so far, summed over the slots.
    fn totals(&self) -> Totals {
        let mut totals = Totals::default();
        for index in 0..self.slots {
            if let Some(s) = self.slot(index) {
                totals.add(&s.counters);
                if s.started.load(Ordering::Relaxed) != 0 {
                    totals.in_flight += 1;
                }
            }
        }
        let h = self.header();
        totals.received = totals
            .received
            .wrapping_add(h.received.load(Ordering::Relaxed));
        totals.sent = totals.sent.wrapping_add(h.sent.load(Ordering::Relaxed));
        totals.open = h.open.load(Ordering::Relaxed);
        totals.queued = h.queued.load(Ordering::Relaxed);
        totals
    }
}

impl Tally for Board {
    /// Closed connections are dropped on any thread: these counts have many writers.
    fn closed(&self, received: u64, sent: u64) {
        let h = self.header();
        h.received.fetch_add(received, Ordering::Relaxed);
        h.sent.fetch_add(sent, Ordering::Relaxed);
    }
}

impl Drop for Board {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, unmapped once: nothing refers to it any more (the
        // Board is owned by an Arc that every user holds).
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.len);
        }
    }
}

/// Now on the monotonic clock, in nanoseconds: the coarse one where there is one (a read of
/// shared memory, precise to a few milliseconds: plenty for timeouts of seconds).
fn now() -> u64 {
    #[cfg(target_os = "linux")]
    const CLOCK: libc::clockid_t = libc::CLOCK_MONOTONIC_COARSE;
    #[cfg(not(target_os = "linux"))]
    const CLOCK: libc::clockid_t = libc::CLOCK_MONOTONIC;
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec for the call's duration.
    unsafe { libc::clock_gettime(CLOCK, &mut t) };
    let nanos = (t.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(t.tv_nsec as u64);
    nanos.max(1) // 0 means "none"
}

fn seconds_since(then: u64) -> f64 {
    now().saturating_sub(then) as f64 / 1e9
}

fn store_peer(s: &Slot, peer: &Peer) {
    let (ip, port) = match peer {
        Peer::Ip(SocketAddr::V4(a)) => {
            let mut bytes = [0u8; 16];
            bytes[..4].copy_from_slice(&a.ip().octets());
            (bytes, PEER_V4 | u64::from(a.port()))
        }
        Peer::Ip(SocketAddr::V6(a)) => (a.ip().octets(), PEER_V6 | u64::from(a.port())),
        Peer::Unix => ([0u8; 16], PEER_UNIX),
    };
    for (word, chunk) in s.peer_ip.iter().zip(ip.chunks_exact(8)) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        word.store(u64::from_ne_bytes(w), Ordering::Relaxed);
    }
    s.peer_port.store(port, Ordering::Relaxed);
}

fn load_peer(s: &Slot) -> String {
    let mut ip = [0u8; 16];
    for (chunk, word) in ip.chunks_exact_mut(8).zip(&s.peer_ip) {
        chunk.copy_from_slice(&word.load(Ordering::Relaxed).to_ne_bytes());
    }
    let value = s.peer_port.load(Ordering::Relaxed);
    let port = (value & 0xffff) as u16;
    let peer = match value & !0xffff {
        PEER_V4 => Peer::Ip(SocketAddr::from(([ip[0], ip[1], ip[2], ip[3]], port))),
        PEER_V6 => Peer::Ip(SocketAddr::from((Ipv6Addr::from(ip), port))),
        _ => Peer::Unix,
    };
    peer.to_string()
}

fn store_text(words: &[AtomicU64], parts: &[&[u8]]) {
    let mut bytes = [0u8; TEXT_WORDS * 8];
    let capacity = words.len() * 8;
    let mut at = 0;
    for part in parts {
        let take = part.len().min(capacity - at);
        bytes[at..at + take].copy_from_slice(&part[..take]);
        at += take;
    }
    for (word, chunk) in words.iter().zip(bytes.chunks_exact(8)) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        word.store(u64::from_ne_bytes(w), Ordering::Relaxed);
    }
}

fn load_text(words: &[AtomicU64]) -> String {
    let mut bytes = Vec::with_capacity(words.len() * 8);
    for word in words {
        bytes.extend_from_slice(&word.load(Ordering::Relaxed).to_ne_bytes());
    }
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    bytes.truncate(end);
    String::from_utf8_lossy(&bytes).into_owned()
}

thread_local! {
    /// The board and slot of the thread running the application, if it is watched.
    static WATCHED: RefCell<Option<(Arc<Board>, usize)>> = const { RefCell::new(None) };
}

/// While alive, the current thread's requests are shown on `slot` of `board` (None: not
/// watched, and nothing is written).
pub struct Watch(bool);

impl Watch {
    pub fn attach(board: Option<&Arc<Board>>, slot: usize) -> Watch {
        let Some(board) = board.filter(|b| slot < b.slots) else {
            return Watch(false);
        };
        if let Some(s) = board.slot(slot) {
            // SAFETY: pthread_self has no preconditions.
            let me = unsafe { libc::pthread_self() } as u64;
            s.thread.store(me, Ordering::Relaxed);
        }
        WATCHED.with(|w| *w.borrow_mut() = Some((board.clone(), slot)));
        Watch(true)
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if self.0 {
            WATCHED.with(|w| {
                if let Some((board, slot)) = w.borrow_mut().take() {
                    if let Some(s) = board.slot(slot) {
                        s.started.store(0, Ordering::Relaxed);
                        s.progress.store(0, Ordering::Relaxed);
                    }
                }
            });
        }
    }
}

fn with_slot(f: impl FnOnce(&Header, &Slot)) {
    WATCHED.with(|w| {
        if let Some((board, slot)) = w.borrow().as_ref() {
            if let Some(s) = board.slot(*slot) {
                f(board.header(), s);
            }
        }
    });
}

/// A request begins on this thread: its description goes on the board, and the application is
/// about to run.
pub fn request_begins(head: &RequestHead, peer: &Peer) {
    with_slot(|header, s| {
        header.requests.fetch_add(1, Ordering::Relaxed);
        let seq = s.seq.load(Ordering::Relaxed);
        s.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        store_text(
            &s.text,
            &[
                head.method.as_bytes(),
                b" ",
                &head.target,
                b" ",
                head.version.as_str().as_bytes(),
            ],
        );
        store_peer(s, peer);
        s.seq.store(seq.wrapping_add(2), Ordering::Release);
        let t = now();
        s.started.store(t, Ordering::Relaxed);
        s.progress.store(t, Ordering::Relaxed);
    });
}

/// The application (or its client) made progress, and the application runs on.
pub fn progress() {
    with_slot(|_, s| s.progress.store(now(), Ordering::Relaxed));
}

/// Back in the engine: the time it spends sending does not count.
pub fn out_of_application() {
    with_slot(|_, s| s.progress.store(0, Ordering::Relaxed));
}

/// The request is over; `served` says what it was, to be counted (None: not counted).
pub fn request_ends(served: Option<&Served<'_>>) {
    with_slot(|_, s| {
        if let Some(served) = served {
            s.counters.record(served);
        }
        s.progress.store(0, Ordering::Relaxed);
        s.started.store(0, Ordering::Relaxed);
    });
}

/// A worker's scoreboard, shared with the supervisor that made it (see the module's notes).
#[pyclass(module = "wsgiref_rs._native", frozen)]
pub struct Scoreboard {
    pub(crate) board: Arc<Board>,
}

#[pymethods]
impl Scoreboard {
    /// A board for a worker whose application runs on `slots` threads (1 for a worker without
    /// threads: its loop's own). Make it before the fork: the worker inherits it. `metrics`:
    /// the worker counts its requests, connections and bytes on it too (see `metrics()`).
    #[new]
    #[pyo3(signature = (slots, metrics=false))]
    fn new(slots: usize, metrics: bool) -> PyResult<Self> {
        if slots == 0 {
            return Err(PyValueError::new_err(
                "a scoreboard needs at least one slot",
            ));
        }
        let board = Board::new(slots, metrics).map_err(|e| PyOSError::new_err(e.to_string()))?;
        Ok(Scoreboard {
            board: Arc::new(board),
        })
    }

    /// The number of application threads it has room for.
    #[getter]
    fn slots(&self) -> usize {
        self.board.slots
    }

    /// Requests begun on the worker so far.
    #[getter]
    fn requests(&self) -> u64 {
        self.board.header().requests.load(Ordering::Relaxed)
    }

    /// What the worker has counted (zeroes unless made with `metrics`): a dict of
    /// `requests` (`{(method, "2xx"): count}`, methods as METRICS_METHODS), `duration_buckets`
    /// (counts by request duration: at most each of METRICS_BUCKETS seconds, then more; not
    /// cumulative), `duration_sum` (seconds), `received_bytes`, `sent_bytes` (every byte read
    /// from and written to its clients, heads and files included), `in_flight` (requests being
    /// served now), `queued` (requests waiting for a worker thread) and `open` (connections).
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.board.totals().to_dict(py)
    }

    /// Seconds since the worker's event loop last went round; None before it first did.
    fn heartbeat_age(&self) -> Option<f64> {
        match self.board.header().heartbeat.load(Ordering::Relaxed) {
            0 => None,
            t => Some(seconds_since(t)),
        }
    }

    /// The requests being served now: a list of `(thread, stalled, running, request, peer)`:
    /// the thread's `threading.get_ident()`, seconds since the application's last progress
    /// (None while the engine, not the application, has the request: sending its response),
    /// seconds since the request began, "METHOD TARGET VERSION" and the peer's address.
    fn busy(&self) -> Vec<(u64, Option<f64>, f64, String, String)> {
        let mut found = Vec::new();
        for index in 0..self.board.slots {
            let Some(s) = self.board.slot(index) else {
                continue;
            };
            for _ in 0..100 {
                let before = s.seq.load(Ordering::Acquire);
                if before % 2 == 1 {
                    std::hint::spin_loop();
                    continue;
                }
                let (progress, started) = (
                    s.progress.load(Ordering::Relaxed),
                    s.started.load(Ordering::Relaxed),
                );
                let text = load_text(&s.text);
                let peer = load_peer(s);
                fence(Ordering::Acquire);
                if s.seq.load(Ordering::Relaxed) != before {
                    continue;
                }
                if started != 0 {
                    let thread = s.thread.load(Ordering::Relaxed);
                    found.push((
                        thread,
                        (progress != 0).then(|| seconds_since(progress)),
                        seconds_since(started),
                        text,
                        peer,
                    ));
                }
                break;
            }
        }
        found
    }
}

/// The resident memory of process `pid` in bytes, or None where it cannot be known (the process
/// is gone, or the platform has no way here). Releases the GIL while it reads.
#[pyfunction]
pub fn resident_memory(py: Python<'_>, pid: i32) -> Option<u64> {
    py.detach(|| resident(pid))
}

#[cfg(target_os = "linux")]
fn resident(pid: i32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: u64 = text.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages.saturating_mul(u64::try_from(page).ok()?))
}

#[cfg(target_os = "macos")]
fn resident(pid: i32) -> Option<u64> {
    // SAFETY: proc_taskinfo is plain data: all zeroes is a valid value.
    let mut info: libc::proc_taskinfo = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::proc_taskinfo>() as libc::c_int;
    // SAFETY: `info` is a writable buffer of `size` bytes for the call's duration.
    let got = unsafe {
        libc::proc_pidinfo(
            pid,
            libc::PROC_PIDTASKINFO,
            0,
            (&mut info as *mut libc::proc_taskinfo).cast(),
            size,
        )
    };
    (got == size).then_some(info.pti_resident_size)
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn resident(_pid: i32) -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::http::limits::Limits;
    use crate::engine::http::parse::parse_head;
    use crate::engine::wsgi::settings::testing::with_python;

    /// POST's place in a status class's row of counts.
    const METHOD_POST: usize = 2;

    fn head(bytes: &[u8]) -> RequestHead {
        parse_head(bytes, &Limits::default()).unwrap().unwrap().0
    }

    fn peer() -> Peer {
        Peer::Ip("127.0.0.1:4321".parse().unwrap())
    }

    #[test]
    fn a_watched_thread_shows_its_request_until_it_ends() {
        let board = Arc::new(Board::new(2, false).unwrap());
        let sb = Scoreboard {
            board: board.clone(),
        };
        assert!(sb.busy().is_empty());
        let watch = Watch::attach(Some(&board), 1);
        request_begins(&head(b"GET /slow?x=1 HTTP/1.1\r\nHost: h\r\n\r\n"), &peer());
        let busy = sb.busy();
        assert_eq!(busy.len(), 1);
        let (thread, stalled, running, text, peer_text) = busy[0].clone();
        // SAFETY: no preconditions.
        assert_eq!(thread, unsafe { libc::pthread_self() } as u64);
        assert!(stalled.is_some_and(|s| s < 1.0) && running < 1.0);
        assert_eq!(text, "GET /slow?x=1 HTTP/1.1");
        assert_eq!(peer_text, "127.0.0.1:4321");
        for peer in [Peer::Ip("[2001:db8::7]:65535".parse().unwrap()), Peer::Unix] {
            request_begins(&head(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"), &peer);
            assert_eq!(sb.busy()[0].4, peer.to_string());
        }
        assert_eq!(sb.requests(), 3);
        out_of_application();
        assert_eq!(sb.busy()[0].1, None, "the engine's sending does not count");
        progress();
        assert!(sb.busy()[0].1.is_some());
        request_ends(None);
        assert!(sb.busy().is_empty());
        drop(watch);
        request_begins(&head(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"), &peer());
        assert_eq!(sb.requests(), 3, "an unwatched thread writes nothing");
    }

    #[test]
    fn a_counting_board_sums_its_slots_and_the_bytes_of_closed_connections() {
        let board = Arc::new(Board::new(2, true).unwrap());
        let sb = Scoreboard {
            board: board.clone(),
        };
        let served = |status, received| Served {
            method: "POST",
            status,
            elapsed: std::time::Duration::from_millis(30),
            received,
            sent: 7,
        };
        let other = {
            let board = board.clone();
            std::thread::spawn(move || {
                let _watch = Watch::attach(Some(&board), 1);
                request_begins(&head(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"), &peer());
                request_ends(Some(&served(201, 5)));
            })
        };
        other.join().unwrap();
        let _watch = Watch::attach(Some(&board), 0);
        request_begins(&head(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"), &peer());
        assert_eq!(board.totals().in_flight, 1);
        request_ends(Some(&served(503, 3)));
        request_begins(&head(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"), &peer());
        request_ends(None);
        board.show_open(4);
        board.show_queued(2);
        board.closed(100, 1000);
        let t = board.totals();
        assert_eq!(
            t.requests.iter().sum::<u64>(),
            2,
            "the uncounted one is not"
        );
        assert_eq!(t.requests[METHOD_POST + 8], 1, "POST 2xx");
        assert_eq!(t.requests[METHOD_POST + 8 * 4], 1, "POST 5xx");
        assert_eq!(t.durations[5], 2, "30 ms: le=0.05");
        assert_eq!(t.duration_nanos, 60_000_000);
        assert_eq!((t.received, t.sent), (108, 1014));
        assert_eq!((t.in_flight, t.open, t.queued), (0, 4, 2));
        with_python(|py| {
            let dict = sb.metrics(py).unwrap();
            let requests = dict.get_item("requests").unwrap().unwrap();
            assert_eq!(requests.len().unwrap(), 2);
            let n: u64 = requests
                .get_item(("POST", "5xx"))
                .unwrap()
                .extract()
                .unwrap();
            assert_eq!(n, 1);
        });
        let quiet = Board::new(1, false).unwrap();
        quiet.show_open(3);
        assert_eq!(
            quiet.totals().open,
            0,
            "a board without metrics shows nothing"
        );
    }

    #[test]
    fn a_long_target_is_cut_and_the_heartbeat_ages() {
        let board = Arc::new(Board::new(1, false).unwrap());
        let sb = Scoreboard {
            board: board.clone(),
        };
        assert_eq!(sb.heartbeat_age(), None);
        board.beat();
        assert!(sb.heartbeat_age().is_some_and(|a| a < 1.0));
        let _watch = Watch::attach(Some(&board), 0);
        let long = format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "a".repeat(1000));
        request_begins(&head(long.as_bytes()), &peer());
        let text = &sb.busy()[0].3;
        assert_eq!(text.len(), TEXT_WORDS * 8);
        assert!(text.starts_with("GET /aaa"));
        assert!(!Watch::attach(Some(&board), 1).0, "no such slot");
    }

    #[test]
    fn a_forked_child_writes_what_the_parent_reads() {
        let board = Arc::new(Board::new(1, false).unwrap());
        // SAFETY: the child only stores to the shared mapping and exits at once.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            board.header().requests.store(42, Ordering::Relaxed);
            // SAFETY: ends the child without running the parent's destructors or test harness.
            unsafe { libc::_exit(0) };
        }
        let mut status = 0;
        // SAFETY: waits for the child made above.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(board.header().requests.load(Ordering::Relaxed), 42);
    }

    #[test]
    fn this_process_has_resident_memory() {
        let here = resident(std::process::id() as i32);
        assert!(here.is_some_and(|bytes| bytes > 1 << 20), "{here:?}");
        assert_eq!(resident(-1), None);
    }
}
