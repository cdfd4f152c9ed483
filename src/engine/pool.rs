//! Worker threads for threaded servers: each takes a connection with a complete request head,
//! serves it (and any requests pipelined behind it), writes the responses and hands the
//! connection back to the loop.
//!
//! What a request costs between the loop and a worker is kept to what the work needs:
//! - Each worker attaches to Python once, for its whole life, and then only takes and releases
//!   the GIL around each request: one thread state per worker, so `threading.local` data (a
//!   framework's database connection, say) lives from one request to the next, and no thread
//!   state is made and torn down per request.
//! - The loop queues the requests of a round together and wakes a worker only when no worker is
//!   on the queue: none is active, or each active one has been on its request for longer than
//!   [`HAND_OFF`] while the process has left the CPU mostly idle (they are blocked: a database,
//!   a remote call, a sleep). A burst of requests is served by one thread in turn, with no
//!   hand-over between threads each, as the single-threaded loop serves them.
//! - A worker that had to wait for the GIL (another worker held it) goes back to waiting after
//!   its request while other workers are busy: requests that keep the GIL busy gain nothing from
//!   more threads taking it from each other, and lose a context switch each time it changes
//!   hands.
//! - The worker writes what it answered; it gives the connection back without waking the loop,
//!   unless the loop saw the connection readable while the worker had it (or the loop is
//!   draining, or the connection is closed).
//!
//! Workers wait for jobs with the GIL released and take it only inside `request::serve`.

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::Waker;
use parking_lot::{Condvar, Mutex, MutexGuard};
use pyo3::prelude::*;

use crate::engine::http::parse::RequestHead;
use crate::engine::net::conn::Conn;
use crate::engine::wsgi::request::serve_pipelined;
use crate::engine::wsgi::scoreboard::Watch;
use crate::engine::wsgi::settings::Settings;

/// How long a request may keep its worker, with the CPU mostly idle, before the queue is handed
/// to another worker.
pub const HAND_OFF: Duration = Duration::from_millis(1);

/// Below this share of one CPU used by the whole process over a `HAND_OFF` window, the busy
/// workers are taken to be blocked.
const IDLE_SHARE: f64 = 0.5;

/// Longer than this to take the GIL means another thread held it (an uncontended acquisition
/// takes well under a microsecond).
const GIL_CONTENDED: Duration = Duration::from_micros(50);

pub struct Job {
    pub slot: usize,
    pub conn: Box<Conn>,
    pub head: RequestHead,
}

/// A connection coming back to the loop: None when it is closed; `read` when the loop must read
/// it at once (it was readable while the worker had it).
pub struct Returned {
    pub slot: usize,
    pub conn: Option<Box<Conn>>,
    pub read: bool,
}

#[derive(Clone, Copy)]
enum Worker {
    /// Not yet at the queue: it takes a job when it gets there, with no need to be woken.
    Starting,
    /// Waiting for the loop to wake it (or woken, and counted in `waking`).
    Idle,
    /// On a request since then.
    Busy(Instant),
}

struct State {
    jobs: VecDeque<Job>,
    closing: bool,
    workers: Vec<Worker>,
    /// Workers woken that have not taken the lock since: they are about to take a job. (A worker
    /// is marked idle only as it waits, so a wake-up always finds one.)
    waking: usize,
    returned: Vec<Returned>,
    /// By slot: the loop saw the connection readable while a worker had it.
    missed: Vec<bool>,
    /// Every connection given back wakes the loop (a graceful stop counts them).
    draining: bool,
    /// The loop stopped accepting because every worker was taken: a worker that finishes
    /// wakes it, to accept again.
    accept_paused: bool,
}

impl State {
    /// Whether a worker other than `me` is on a request.
    fn others_busy(&self, me: usize) -> bool {
        self.workers
            .iter()
            .enumerate()
            .any(|(i, w)| i != me && matches!(w, Worker::Busy(_)))
    }

    /// Takes a connection a worker is done with; answers whether the loop must be woken: it saw
    /// the connection readable meanwhile, the connection is closed (its slot is to be released),
    /// or a graceful stop counts connections.
    fn give_back(&mut self, slot: usize, conn: Option<Box<Conn>>) -> bool {
        let read = self.missed.get_mut(slot).is_some_and(std::mem::take);
        let wake = read || conn.is_none() || self.draining || self.accept_paused;
        self.returned.push(Returned { slot, conn, read });
        wake
    }

    /// The loop saw `slot` readable while a worker had it: its connection if the worker has
    /// given it back since; else the worker is to wake the loop when it does. One given back
    /// closed stays in `returned`, where the loop releases its slot.
    fn missed(&mut self, slot: usize) -> Option<Box<Conn>> {
        if let Some(i) = self.returned.iter().position(|r| r.slot == slot) {
            return match self.returned[i].conn {
                Some(_) => self.returned.swap_remove(i).conn,
                None => None,
            };
        }
        if self.missed.len() <= slot {
            self.missed.resize(slot + 1, false);
        }
        self.missed[slot] = true;
        None
    }

    fn idle(&self) -> usize {
        self.workers
            .iter()
            .filter(|w| matches!(w, Worker::Idle))
            .count()
            .saturating_sub(self.waking)
    }
}

struct Shared {
    state: Mutex<State>,
    ready: Condvar,
    settings: Arc<Settings>,
    waker: Arc<Waker>,
}

impl Shared {
    /// The next job for worker `me`, or None when the pool closes; `contended`: it waited for
    /// the GIL on its last request. Waits with the GIL released.
    fn next_job(&self, me: usize, mut contended: bool) -> Option<Job> {
        let mut s = self.state.lock();
        loop {
            // Closing, every worker helps finish the queue: no one is left to wake them.
            let retire = contended && !s.closing && s.others_busy(me);
            if !s.jobs.is_empty() && !retire {
                if let Some(job) = s.jobs.pop_front() {
                    self.show_queued(&s);
                    s.workers[me] = Worker::Busy(Instant::now());
                    return Some(job);
                }
            }
            if s.closing && s.jobs.is_empty() {
                return None;
            }
            s.workers[me] = Worker::Idle;
            self.ready.wait(&mut s);
            // Woken by the loop (it counted us in `waking`) or by a close.
            s.waking = s.waking.saturating_sub(1);
            contended = false;
        }
    }

    /// Shows the supervisor how many requests wait for a worker thread (with metrics on).
    fn show_queued(&self, s: &State) {
        if let Some(board) = &self.settings.scoreboard {
            board.show_queued(s.jobs.len());
        }
    }

    /// Gives a served connection back to the loop, waking it only when it must look at once.
    fn give_back(&self, slot: usize, conn: Option<Box<Conn>>) {
        let wake = self.state.lock().give_back(slot, conn);
        if wake {
            let _ = self.waker.wake();
        }
    }

    fn work(&self, me: usize) {
        let mut contended = false;
        while let Some(job) = self.next_job(me, contended) {
            let asked = Instant::now();
            // Signals reach only the main thread; anything else that would stop the server is
            // reported here, and the connection closed.
            let served = Python::attach(|py| {
                contended = asked.elapsed() > GIL_CONTENDED;
                serve_pipelined(py, &self.settings, job.conn, job.head).unwrap_or_else(|e| {
                    e.print(py);
                    None
                })
            });
            let back = served.and_then(|conn| conn.send_out(self.settings.timeout));
            self.give_back(job.slot, back);
        }
    }
}

pub struct Pool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    /// The process's CPU time when the loop last looked, for [`Pool::cpu_mostly_idle`].
    cpu_seen: Cell<(Instant, Duration)>,
}

impl Pool {
    pub fn new(
        threads: usize,
        settings: Arc<Settings>,
        waker: Arc<Waker>,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                jobs: VecDeque::new(),
                closing: false,
                workers: vec![Worker::Starting; threads],
                waking: 0,
                returned: Vec::new(),
                missed: Vec::new(),
                draining: false,
                accept_paused: false,
            }),
            ready: Condvar::new(),
            settings,
            waker,
        });
        let mut workers = Vec::with_capacity(threads);
        for me in 0..threads {
            let shared = shared.clone();
            let worker = std::thread::Builder::new()
                .name(format!("wsgiref-rs-worker-{me}"))
                // Attached once for the thread's life (its thread state stays); the GIL is
                // released at once, and taken again for each request.
                .spawn(move || {
                    let _batch = BatchScheduling::begin();
                    let _watch = Watch::attach(shared.settings.scoreboard.as_ref(), me);
                    Python::attach(|py| py.detach(|| shared.work(me)))
                })?;
            workers.push(worker);
        }
        Ok(Pool {
            shared,
            workers,
            cpu_seen: Cell::new((Instant::now(), process_cpu_time())),
        })
    }

    /// Queues the requests of a round, and wakes a worker if none is on the queue.
    pub fn submit(&self, jobs: &mut Vec<Job>) {
        if jobs.is_empty() {
            return;
        }
        let mut s = self.shared.state.lock();
        s.jobs.extend(jobs.drain(..));
        self.shared.show_queued(&s);
        self.dispatch(&mut s, Instant::now());
    }

    /// Wakes a worker when requests wait and no worker is on the queue; answers how soon to look
    /// again (None: not before something happens).
    pub fn rebalance(&self, now: Instant) -> Option<Duration> {
        let mut s = self.shared.state.lock();
        self.dispatch(&mut s, now)
    }

    fn dispatch(&self, s: &mut MutexGuard<'_, State>, now: Instant) -> Option<Duration> {
        if s.jobs.is_empty() || s.idle() == 0 {
            return None;
        }
        if s.waking > 0 || s.workers.iter().any(|w| matches!(w, Worker::Starting)) {
            return Some(HAND_OFF); // on their way to the queue
        }
        let mut busy = s.workers.iter().filter_map(|w| match w {
            Worker::Busy(since) => Some(now.saturating_duration_since(*since)),
            _ => None,
        });
        let first = busy.next();
        let all_long = first.is_some_and(|d| d >= HAND_OFF) && busy.all(|d| d >= HAND_OFF);
        if first.is_none() || (all_long && self.cpu_mostly_idle(now)) {
            s.waking += 1;
            self.shared.ready.notify_one();
        }
        Some(HAND_OFF)
    }

    /// Whether the process has used less than IDLE_SHARE of a CPU since the loop last looked
    /// (at least HAND_OFF ago; sooner, the answer is no, and it does not look).
    fn cpu_mostly_idle(&self, now: Instant) -> bool {
        let (then, cpu_then) = self.cpu_seen.get();
        let wall = now.saturating_duration_since(then);
        if wall < HAND_OFF {
            return false;
        }
        let cpu = process_cpu_time();
        self.cpu_seen.set((now, cpu));
        cpu.saturating_sub(cpu_then).as_secs_f64() < wall.as_secs_f64() * IDLE_SHARE
    }

    /// Whether a worker is free for another request: not every one is on a request or has one
    /// queued for it. If none is, `accept_paused` is set: the next worker to finish wakes the
    /// loop.
    pub fn has_free_worker(&self) -> bool {
        let mut s = self.shared.state.lock();
        let busy = s
            .workers
            .iter()
            .filter(|w| matches!(w, Worker::Busy(_)))
            .count();
        let free = busy + s.jobs.len() < s.workers.len();
        s.accept_paused = !free;
        free
    }

    /// The connections the workers are done with.
    pub fn returned(&self) -> Vec<Returned> {
        let mut s = self.shared.state.lock();
        if s.returned.is_empty() {
            return Vec::new();
        }
        std::mem::take(&mut s.returned)
    }

    /// See [`State::missed`].
    pub fn missed(&self, slot: usize) -> Option<Box<Conn>> {
        self.shared.state.lock().missed(slot)
    }

    /// From now on every connection given back wakes the loop.
    pub fn drain(&self) {
        self.shared.state.lock().draining = true;
    }

    /// Closes the connections still queued and lets the workers go without waiting for the
    /// requests they are running (a graceful stop out of time): each ends its request on its
    /// own, bounded by the engine's socket timeout, then exits.
    pub fn abandon(&mut self) {
        {
            let mut s = self.shared.state.lock();
            s.closing = true;
            s.jobs.clear();
            self.shared.show_queued(&s);
        }
        self.shared.ready.notify_all();
        self.workers.clear();
    }

    /// Lets the workers finish what they have, then waits for them. Call without the GIL.
    pub fn close(&mut self) {
        self.shared.state.lock().closing = true;
        self.shared.ready.notify_all();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

/// The CPU time of the whole process so far (zero if the clock cannot be read).
fn process_cpu_time() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec for the call's duration.
    let read = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    if read != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// While it lives, the calling thread is scheduled as a batch thread (Linux `SCHED_BATCH`): woken,
/// it does not preempt the thread running on its CPU, but runs when that one waits or its time
/// slice ends. The loop of a threaded server is woken by every request that arrives; preempting
/// the worker that runs the application each time would cost two context switches a request,
/// where waiting for the worker to finish its queue lets the loop read a whole round of
/// requests at once. (On an idle CPU it runs at once, as before.) Dropping it restores the
/// thread's policy. Elsewhere than Linux it does nothing.
pub struct BatchScheduling {
    #[cfg(target_os = "linux")]
    before: Option<libc::c_int>,
}

impl BatchScheduling {
    pub fn begin() -> Self {
        #[cfg(target_os = "linux")]
        {
            let param = libc::sched_param { sched_priority: 0 };
            // SAFETY: pid 0 is the calling thread; `param` is valid for the calls.
            let before = unsafe { libc::sched_getscheduler(0) };
            let switched = before == libc::SCHED_OTHER
                // SAFETY: as above.
                && unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) } == 0;
            BatchScheduling {
                before: switched.then_some(before),
            }
        }
        #[cfg(not(target_os = "linux"))]
        BatchScheduling {}
    }
}

impl Drop for BatchScheduling {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        if let Some(policy) = self.before {
            let param = libc::sched_param { sched_priority: 0 };
            // SAFETY: pid 0 is the calling thread; `param` is valid for the call.
            unsafe { libc::sched_setscheduler(0, policy, &param) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::net::peer::Peer;
    use crate::engine::net::stream::Stream;

    fn state() -> State {
        State {
            jobs: VecDeque::new(),
            closing: false,
            workers: vec![Worker::Idle; 2],
            waking: 0,
            returned: Vec::new(),
            missed: Vec::new(),
            draining: false,
            accept_paused: false,
        }
    }

    fn conn() -> Box<Conn> {
        let (ours, _theirs) = mio::net::UnixStream::pair().expect("a socket pair");
        Conn::new(Stream::Unix(ours), Peer::Unix)
    }

    #[test]
    fn a_connection_given_back_quietly_is_taken_back_at_the_next_round() {
        let mut s = state();
        assert!(!s.give_back(3, Some(conn())));
        assert!(matches!(
            s.returned.as_slice(),
            [Returned {
                slot: 3,
                conn: Some(_),
                read: false
            }]
        ));
    }

    #[test]
    fn readable_while_out_makes_the_give_back_wake_the_loop_and_read() {
        let mut s = state();
        assert!(s.missed(3).is_none());
        assert!(s.give_back(3, Some(conn())));
        assert!(matches!(
            s.returned.as_slice(),
            [Returned {
                slot: 3,
                read: true,
                ..
            }]
        ));
        // Once: the next give-back of the slot is quiet again.
        s.returned.clear();
        assert!(!s.give_back(3, Some(conn())));
    }

    #[test]
    fn readable_after_the_give_back_takes_the_connection_at_once() {
        let mut s = state();
        s.give_back(3, Some(conn()));
        s.give_back(4, Some(conn()));
        assert!(s.missed(3).is_some());
        assert!(matches!(s.returned.as_slice(), [Returned { slot: 4, .. }]));
        assert!(!s.missed.get(3).copied().unwrap_or(false));
    }

    #[test]
    fn a_closed_connection_stays_for_the_loop_to_release_its_slot() {
        let mut s = state();
        assert!(s.give_back(3, None));
        assert!(s.missed(3).is_none());
        assert!(matches!(
            s.returned.as_slice(),
            [Returned {
                slot: 3,
                conn: None,
                ..
            }]
        ));
    }

    #[test]
    fn draining_every_give_back_wakes_the_loop() {
        let mut s = state();
        s.draining = true;
        assert!(s.give_back(3, Some(conn())));
    }
}
