//! The event loop behind `Engine.serve_forever()`.
//!
//! The loop owns its copies of the listening sockets and every connection between requests; it
//! waits in `epoll`/`kqueue` with the GIL released, and takes the GIL only to serve a request
//! (see `wsgi/request.rs`) and, at least every `poll_interval`, to let Python run its signal
//! handlers and to ask whether to stop.
//!
//! A graceful stop (see `stop.rs`) drains: the listeners are closed at once, so that other
//! processes sharing the sockets take the new connections; every connection is read one last
//! time; what has a request (or part of one) is served, with `Connection: close`; idle
//! connections are closed; requests on the workers are waited for. The loop returns when no
//! connection is left, or at the deadline.

use std::collections::VecDeque;
use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token, Waker};
use parking_lot::Mutex;
use pyo3::prelude::*;

use crate::engine::http::parse::{parse_head, RequestHead};
use crate::engine::http::proxy_protocol;
use crate::engine::net::conn::{Conn, Tally};
use crate::engine::net::io::{read_ready, Ready};
use crate::engine::net::listener::{Family, Listener};
use crate::engine::net::peer::Peer;
use crate::engine::net::sendfile::Progress;
use crate::engine::net::stream::Stream;
use crate::engine::net::tls::{Tls, TlsStream};
use crate::engine::pool::{Job, Pool, Returned};
use crate::engine::stop::Stop;
use crate::engine::wsgi::request::{refuse, serve_pipelined};
use crate::engine::wsgi::settings::Settings;

/// Connections have the tokens of their slots; listeners and the waker sit far above.
const WAKER: Token = Token(usize::MAX);
const LISTENERS: usize = usize::MAX / 2;

/// The longest the loop serves requests under one hold of the GIL before it writes what they
/// answered and lets other threads run.
const SERVE_BUDGET: Duration = Duration::from_millis(2);

/// A connection with a complete request head, to be served in this round of the loop.
struct Due {
    slot: usize,
    conn: Box<Conn>,
    head: RequestHead,
    /// Whether the peer has closed its side after sending.
    eof: bool,
}

/// How `run` ended, which says what becomes of the requests still on the workers.
pub enum Ended {
    /// Stopped at once, or drained: wait for the workers.
    Finished,
    /// A graceful stop ran out of time: do not wait for them.
    OutOfTime,
}

pub struct EventLoop {
    poll: Poll,
    listeners: Vec<Listener>,
    conns: Vec<Option<Box<Conn>>>,
    free: Vec<usize>,
    open: usize,
    settings: Arc<Settings>,
    keepalive_timeout: Duration,
    header_timeout: Duration,
    max_connections: usize,
    /// Every connection starts with a PROXY protocol header, from a peer of forwarded_allow_ips.
    proxy_protocol: bool,
    tls: Option<Arc<Tls>>,
    /// True from a connection refused for max_connections until one is accepted again: one
    /// warning per episode, not one per connection.
    saturated: bool,
    /// Where closed connections' uncounted bytes go: the scoreboard, with metrics on.
    tally: Option<Arc<dyn Tally>>,
    /// Where the loop reads connections' bytes before appending them to their own buffers.
    scratch: Box<[u8]>,
    /// The workers of a threaded server; None: requests are served on the loop's thread.
    pub pool: Option<Pool>,
    /// Requests read in this round, for the workers: queued together at the end of the round.
    queued: Vec<Job>,
    /// Set once a graceful stop began.
    draining: bool,
    /// The connections to serve in this round (see [`EventLoop::serve_due`]).
    due: VecDeque<Due>,
    /// Connections sending a file whose last turn left the socket with room: they go on in the
    /// next round (no writable event would come).
    sending: Vec<usize>,
    /// Every worker thread was busy when a listener had connections: they were left to the
    /// other processes sharing the socket, and are taken once a worker is free.
    accept_paused: bool,
}

/// How a loop serves its listeners, as `Engine()` was told.
pub struct LoopConfig {
    /// The caller's listening sockets (`listen_fd` first, then `listen_fds`), and their kind.
    pub listen_fds: Vec<(RawFd, Family)>,
    pub keepalive_timeout: Duration,
    pub header_timeout: Duration,
    pub max_connections: usize,
    /// Worker threads for the application; 0 runs it on the loop's thread.
    pub threads: usize,
    /// Whether every connection starts with a PROXY protocol header (see `proxy_protocol`).
    pub proxy_protocol: bool,
    /// TLS on every connection (`certfile`), after the PROXY protocol header if there is one.
    pub tls: Option<Arc<Tls>>,
}

impl EventLoop {
    /// A loop over `config`'s listeners; its waker is put in `waker_slot` (for `stop()`).
    pub fn new(
        settings: &Arc<Settings>,
        config: &LoopConfig,
        waker_slot: &Mutex<Option<Arc<Waker>>>,
    ) -> PyResult<Self> {
        let poll = Poll::new()?;
        let mut listeners = Vec::with_capacity(config.listen_fds.len());
        for (i, &(fd, family)) in config.listen_fds.iter().enumerate() {
            let mut listener = Listener::dup(fd, family)?;
            poll.registry()
                .register(&mut listener, Token(LISTENERS + i), Interest::READABLE)?;
            listeners.push(listener);
        }
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        *waker_slot.lock() = Some(waker.clone());
        let pool = match config.threads {
            0 => None,
            n => Some(Pool::new(n, settings.clone(), waker)?),
        };
        Ok(EventLoop {
            poll,
            listeners,
            conns: Vec::new(),
            free: Vec::new(),
            open: 0,
            settings: settings.clone(),
            keepalive_timeout: config.keepalive_timeout,
            header_timeout: config.header_timeout,
            max_connections: config.max_connections,
            proxy_protocol: config.proxy_protocol,
            tls: config.tls.clone(),
            saturated: false,
            tally: settings
                .scoreboard
                .as_ref()
                .filter(|b| b.counting())
                .map(|b| b.clone() as Arc<dyn Tally>),
            scratch: vec![0; 64 * 1024].into_boxed_slice(),
            pool,
            queued: Vec::new(),
            draining: false,
            due: VecDeque::new(),
            sending: Vec::new(),
            accept_paused: false,
        })
    }

    pub fn run(&mut self, interval: Duration, should_stop: Option<&Py<PyAny>>) -> PyResult<Ended> {
        let mut events = Events::with_capacity(1024);
        let mut last_check = Instant::now();
        let mut last_sweep = Instant::now();
        loop {
            let mut wait = interval;
            match self.settings.server.stop.get() {
                Stop::Run => {}
                Stop::Now => return Ok(Ended::Finished),
                Stop::Drain(deadline) => {
                    if !self.draining {
                        self.begin_drain()?;
                    }
                    if self.open == 0 {
                        return Ok(Ended::Finished);
                    }
                    let now = Instant::now();
                    if now >= deadline {
                        log::warn!(
                            "graceful stop: out of time with {} connection(s) still open; \
                             closing them",
                            self.open
                        );
                        return Ok(Ended::OutOfTime);
                    }
                    wait = wait.min(deadline - now);
                }
            }
            // Requests waiting for a worker: look again when the queue may need another (a
            // wait that ends for this alone is no time to check for signals).
            let mut rebalancing = false;
            if let Some(soon) = self.pool.as_ref().and_then(|p| p.rebalance(Instant::now())) {
                rebalancing = soon < wait;
                wait = wait.min(soon);
            }
            if !self.due.is_empty() || !self.sending.is_empty() {
                // Connections read after their last round have requests waiting, or files to
                // go on with: look for new events, and serve them all, at once.
                wait = Duration::ZERO;
            }
            let waited = self.poll.poll(&mut events, Some(wait));
            let interrupted = matches!(&waited, Err(e) if e.kind() == io::ErrorKind::Interrupted);
            if let Err(e) = waited {
                if !interrupted {
                    return Err(e.into());
                }
            }
            if self.settings.server.stop.get() == Stop::Now {
                return Ok(Ended::Finished);
            }
            let now = Instant::now();
            if let Some(board) = &self.settings.scoreboard {
                board.beat();
            }
            let timed_out = events.is_empty() && !wait.is_zero() && !rebalancing;
            if interrupted || timed_out || now.duration_since(last_check) >= interval {
                last_check = now;
                let stop = Python::attach(|py| -> PyResult<bool> {
                    py.check_signals()?;
                    match should_stop {
                        Some(f) => f.bind(py).call0()?.is_truthy(),
                        None => Ok(false),
                    }
                })?;
                if stop || self.settings.server.stop.get() == Stop::Now {
                    return Ok(Ended::Finished);
                }
            }
            // Connections the workers gave back, woken for or not: before the events, which
            // may be theirs.
            self.take_back(now);
            if self.accept_paused {
                // Edge-triggered: the connections left waiting bring no new event.
                self.accept_paused = false;
                for index in 0..self.listeners.len() {
                    self.accept(index);
                }
            }
            for event in events.iter() {
                match event.token() {
                    WAKER => {}
                    Token(t) if t >= LISTENERS => self.accept(t - LISTENERS),
                    Token(slot) => self.ready(slot),
                }
            }
            self.serve_due()?;
            self.submit_queued();
            for slot in std::mem::take(&mut self.sending) {
                self.advance_file(slot);
            }
            if now.duration_since(last_sweep) >= Duration::from_secs(1) {
                last_sweep = now;
                self.sweep(now);
            }
        }
    }

    /// The start of a graceful stop: no more accepting, a last read of every connection.
    fn begin_drain(&mut self) -> PyResult<()> {
        self.draining = true;
        for mut listener in self.listeners.drain(..) {
            // Deregistered before it is closed: epoll forgets a descriptor only once every copy
            // of it is closed, and the caller keeps one.
            let _ = self.poll.registry().deregister(&mut listener);
        }
        log::info!(
            "graceful stop: no longer accepting; finishing {} open connection(s)",
            self.open
        );
        if let Some(pool) = &self.pool {
            pool.drain();
        }
        for slot in 0..self.conns.len() {
            if self.conns[slot].is_some() {
                self.readable(slot);
            }
        }
        self.submit_queued();
        self.serve_due()
    }

    /// Hands the requests read in this round to the workers.
    fn submit_queued(&mut self) {
        if let Some(pool) = &self.pool {
            pool.submit(&mut self.queued);
        }
    }

    /// Accepts the connections waiting on a listener; none while every worker thread is busy
    /// (a worker process whose threads are all taken leaves new connections to the others
    /// sharing the socket, rather than queueing them behind its own slow requests).
    fn accept(&mut self, index: usize) {
        loop {
            let Some(listener) = self.listeners.get(index) else {
                return; // closed by a graceful stop since the event
            };
            if self.pool.as_ref().is_some_and(|p| !p.has_free_worker()) {
                self.accept_paused = true;
                return;
            }
            match listener.accept() {
                Ok((mut stream, peer)) => {
                    if self.open >= self.max_connections {
                        if !self.saturated {
                            self.saturated = true;
                            log::warn!(
                                "max_connections ({}) reached: new connections are closed at \
                                 once, from {peer} on",
                                self.max_connections
                            );
                        }
                        continue; // dropped: closed at once
                    }
                    self.saturated = false;
                    if self.proxy_protocol && !self.settings.forwarded.trusts(peer.ip()) {
                        refuse_untrusted(&peer);
                        continue; // dropped: closed at once
                    }
                    let slot = self.free.pop().unwrap_or_else(|| {
                        self.conns.push(None);
                        self.conns.len() - 1
                    });
                    let registered =
                        self.poll
                            .registry()
                            .register(&mut stream, Token(slot), Interest::READABLE);
                    let stream = match (&self.tls, registered) {
                        (_, Err(_)) => None,
                        (None, Ok(())) => Some(stream),
                        (Some(tls), Ok(())) => with_tls(stream, tls, self.proxy_protocol),
                    };
                    if let Some(stream) = stream {
                        let mut conn = Conn::new(stream, peer);
                        conn.tally = self.tally.clone();
                        // With workers, a file goes out from the worker's thread at once.
                        conn.loop_sends_files = self.pool.is_none();
                        if self.proxy_protocol || self.tls.is_some() {
                            // The header (or the handshake) is due at once: header_timeout
                            // counts from now.
                            conn.proxy_header = self.proxy_protocol;
                            conn.head_since = Some(Instant::now());
                        }
                        self.conns[slot] = Some(conn);
                        self.open += 1;
                        self.show_open();
                    } else {
                        self.free.push(slot);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // The socket was shut down (a supervisor stopping, or the caller): it listens
                // no more, in any process; its readiness would only say so again.
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                    if let Some(listener) = self.listeners.get_mut(index) {
                        let _ = self.poll.registry().deregister(listener);
                    }
                    log::debug!("a listening socket was shut down: no longer accepting on it");
                    return;
                }
                // Out of descriptors and the like: try again on the next readiness event.
                Err(e) => {
                    log::warn!("accept failed: {e}");
                    return;
                }
            }
        }
    }

    fn release(&mut self, slot: usize) {
        self.free.push(slot);
        self.open -= 1;
        self.show_open();
    }

    /// Shows the supervisor how many connections are open (with metrics on).
    fn show_open(&self) {
        if let Some(board) = &self.settings.scoreboard {
            board.show_open(self.open);
        }
    }

    /// Reads what arrived on a connection (without the GIL). A connection whose next request
    /// head is complete goes to a worker, or into `due` to be served with the others of this
    /// round; one that has sent something malformed is answered and closed.
    fn readable(&mut self, slot: usize) {
        let here = self.conns.get_mut(slot).and_then(Option::take);
        // Not here: closed, or on a worker, which gives it back to be read (or just has).
        let back = || {
            let mut conn = self.pool.as_ref()?.missed(slot)?;
            conn.answered(Instant::now());
            Some(conn)
        };
        let Some(mut conn) = here.or_else(back) else {
            return;
        };
        if conn.file.is_some() {
            // Read once the file is sent: no request is served before.
            self.conns[slot] = Some(conn);
            return;
        }
        let mut eof = false;
        conn.undrained = false;
        let before = conn.buf.len();
        // What is pending now is no whole head (one would have been served), so a head's end
        // can only be in what is read next, or straddle its start.
        let mut scanned = conn.pending().len().saturating_sub(3);
        let limits = &self.settings.limits;
        let longest_head = limits
            .limit_request_line
            .saturating_add(limits.limit_request_field_size);
        loop {
            match read_ready(&mut conn.stream, &mut conn.buf, &mut self.scratch[..]) {
                Ok(Ready::Eof) => {
                    eof = true;
                    break;
                }
                Err(e) => {
                    if conn.stream.tls().is_some() {
                        tls_failed(&conn, &e);
                    }
                    eof = true;
                    break;
                }
                Ok(Ready::Read { drained: false }) => {
                    let pending = conn.pending();
                    // Enough to serve the request (the rest, a body most likely, is read by
                    // whoever serves it, straight into its own buffers), or to refuse it.
                    let new = pending.get(scanned..).unwrap_or_default();
                    if has_whole_head(new) || pending.len() > longest_head {
                        conn.undrained = true;
                        break;
                    }
                    scanned = pending.len().saturating_sub(3);
                }
                Ok(Ready::Read { drained: true }) | Ok(Ready::Empty) => break,
            }
        }
        conn.received += conn.buf.len().saturating_sub(before) as u64;
        if conn.proxy_header {
            match take_proxy_header(&mut conn, eof) {
                ProxyHeader::Refused => {
                    self.release(slot);
                    return;
                }
                ProxyHeader::Waiting => {
                    self.keep_or_release(slot, conn, eof);
                    return;
                }
                // The loop above may have stopped early: read on, with the header gone.
                ProxyHeader::Taken if conn.undrained && !eof => {
                    self.conns[slot] = Some(conn);
                    return self.readable(slot);
                }
                ProxyHeader::Taken => {}
            }
        }
        if conn.head_since.is_some() && conn.pending().is_empty() && !conn.proxy_header {
            // Only a TLS connection waits so with nothing read: once its handshake is over, it
            // waits for its first request as any new connection does.
            if !conn.stream.handshaking() {
                conn.head_since = None;
            }
        }
        if !conn.pending().is_empty() {
            match parse_head(conn.pending(), &self.settings.limits) {
                Ok(None) => {
                    conn.head_since.get_or_insert_with(Instant::now);
                }
                Ok(Some((head, len))) => {
                    conn.consume(len);
                    conn.head_since = None;
                    match &self.pool {
                        // The slot stays taken until the worker gives the connection back.
                        Some(_) => self.queued.push(Job { slot, conn, head }),
                        None => self.due.push_back(Due {
                            slot,
                            conn,
                            head,
                            eof,
                        }),
                    }
                    return;
                }
                Err(e) => {
                    refuse(&mut conn, e);
                    self.release(slot);
                    return;
                }
            }
        }
        self.keep_or_release(slot, conn, eof);
    }

    /// Puts a connection back to wait for its next request, unless it is done with: the peer
    /// closed it or, draining, it has been answered and holds nothing of a next request (one
    /// with part of a request waits for the rest, and one just accepted for its first request:
    /// it was meant for this server, and closing it would lose that request).
    fn keep_or_release(&mut self, slot: usize, conn: Box<Conn>, eof: bool) {
        if eof || (self.draining && conn.served && conn.pending().is_empty()) {
            self.release(slot);
        } else {
            self.conns[slot] = Some(conn);
        }
    }

    /// Serves the connections of `due` (and the requests pipelined on each) under one hold of
    /// the GIL, then writes their responses without it; the GIL is handed over, and what is
    /// written so far goes out, at least every `SERVE_BUDGET`. An error is one that must stop
    /// the server.
    fn serve_due(&mut self) -> PyResult<()> {
        let mut failed = None;
        // Connections to read again once this round is done: what they hold is served in the
        // next round, after the other connections have had their turn.
        let mut again = Vec::new();
        while !self.due.is_empty() && failed.is_none() {
            let settings = self.settings.clone();
            // Taken out while the GIL is held, and put back with its capacity and what was not
            // served this time.
            let mut due = std::mem::take(&mut self.due);
            let mut served = Vec::with_capacity(due.len());
            Python::attach(|py| {
                let start = Instant::now();
                while let Some(d) = due.pop_front() {
                    let (slot, eof) = (d.slot, d.eof);
                    match serve_pipelined(py, &settings, d.conn, d.head) {
                        Ok(conn) => served.push((slot, conn, eof)),
                        Err(e) => {
                            self.release(slot);
                            failed = Some(e);
                            return;
                        }
                    }
                    if start.elapsed() >= SERVE_BUDGET {
                        return;
                    }
                }
            });
            // What was not served this time waits for the next turn (or, after an error, is
            // closed); `due` took nothing new meanwhile.
            self.due = due;
            let now = Instant::now();
            for (slot, conn, eof) in served {
                match conn.and_then(|conn| conn.send_out(settings.timeout)) {
                    Some(mut conn) => {
                        conn.answered(now);
                        if !conn.pending().is_empty() {
                            conn.head_since.get_or_insert(now);
                        }
                        if conn.file.is_some() {
                            self.conns[slot] = Some(conn);
                            self.advance_file(slot);
                        } else if conn.undrained && !eof {
                            // No readiness event may come for what is already there.
                            self.conns[slot] = Some(conn);
                            again.push(slot);
                        } else {
                            self.keep_or_release(slot, conn, eof);
                        }
                    }
                    None => self.release(slot),
                }
            }
        }
        match failed {
            None => {
                // Reading them may make them due: the loop then polls without waiting.
                for slot in again {
                    self.readable(slot);
                }
                Ok(())
            }
            Some(e) => {
                for d in std::mem::take(&mut self.due) {
                    self.release(d.slot);
                }
                Err(e)
            }
        }
    }

    /// An event on a connection: its file goes on if it is sending one, else it is read.
    fn ready(&mut self, slot: usize) {
        let sending = self
            .conns
            .get(slot)
            .and_then(Option::as_ref)
            .is_some_and(|c| c.file.is_some());
        if sending {
            self.advance_file(slot);
        } else {
            self.readable(slot);
        }
    }

    /// Sends a turn of a connection's file (without the GIL). Once the file is sent the
    /// connection is closed if its response said so, else read: a request may have come
    /// meanwhile, and readiness is edge-triggered.
    fn advance_file(&mut self, slot: usize) {
        let Some(mut conn) = self.conns.get_mut(slot).and_then(Option::take) else {
            return;
        };
        let progress = match conn.file.as_mut() {
            Some(file) => file.advance(&mut conn.stream),
            None => {
                self.conns[slot] = Some(conn);
                return;
            }
        };
        match progress {
            Ok(Progress::Done) => {
                conn.file = None;
                conn.idle_since = Instant::now();
                if conn.closing {
                    self.release(slot);
                    return;
                }
                self.conns[slot] = Some(conn);
                self.readable(slot);
            }
            Ok(Progress::Full) => {
                if !conn.watches_writable {
                    // Asked for once: the socket stays registered for both afterwards (a
                    // writable event without a file to send is only a read that finds nothing).
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    let registry = self.poll.registry();
                    if registry
                        .reregister(&mut conn.stream, Token(slot), interest)
                        .is_err()
                    {
                        self.release(slot);
                        return;
                    }
                    conn.watches_writable = true;
                }
                self.conns[slot] = Some(conn);
            }
            Ok(Progress::Turn) => {
                self.conns[slot] = Some(conn);
                self.sending.push(slot);
            }
            Err(e) => {
                log::debug!("file response to {} cut short: {e}", conn.peer);
                self.release(slot);
            }
        }
    }

    /// Takes back the connections the workers are done with, and reads those that may hold
    /// something: the loop saw them readable while a worker had them, or serving left bytes
    /// in the socket (edge-triggered readiness tells only of what arrives later).
    fn take_back(&mut self, now: Instant) {
        let Some(pool) = &self.pool else {
            return;
        };
        for Returned { slot, conn, read } in pool.returned() {
            match conn {
                Some(mut conn) => {
                    conn.answered(now);
                    let read = read || conn.undrained || !conn.pending().is_empty();
                    self.conns[slot] = Some(conn);
                    if read {
                        self.readable(slot);
                    }
                }
                None => self.release(slot),
            }
        }
    }

    /// Closes connections idle past the keep-alive timeout, and those whose request head has
    /// not arrived in time (so slow clients cannot hold the server).
    fn sweep(&mut self, now: Instant) {
        for slot in 0..self.conns.len() {
            let Some(conn) = self.conns[slot].as_ref() else {
                continue;
            };
            let expired = match (&conn.file, conn.head_since) {
                (Some(file), _) => {
                    let stalled = now.duration_since(file.progress_at) > self.settings.timeout;
                    if stalled {
                        log::info!(
                            "closed the connection from {}: it took none of its file response \
                             for {:?}",
                            conn.peer,
                            self.settings.timeout
                        );
                    }
                    stalled
                }
                (None, Some(t)) => {
                    let late = now.duration_since(t) > self.header_timeout;
                    if late {
                        let what = match (conn.proxy_header, conn.stream.handshaking()) {
                            (true, _) => "PROXY protocol header",
                            (false, true) => "TLS handshake",
                            (false, false) => "request head",
                        };
                        log::info!(
                            "closed the connection from {}: its {what} took longer than \
                             header_timeout ({:?})",
                            conn.peer,
                            self.header_timeout
                        );
                    }
                    late
                }
                (None, None) => now.duration_since(conn.idle_since) > self.keepalive_timeout,
            };
            if expired {
                self.conns[slot] = None;
                self.release(slot);
            }
        }
    }
}

/// What became of a connection's PROXY protocol header.
enum ProxyHeader {
    /// Taken off: the peer is the client it names, and the request comes next.
    Taken,
    /// Incomplete: wait for the rest (header_timeout ends the wait).
    Waiting,
    /// Missing, malformed, too long or cut short: the connection is to be closed unanswered.
    Refused,
}

/// Takes the PROXY protocol header off what a connection has sent; `eof`: the peer sent all it
/// will.
#[cold]
#[inline(never)]
fn take_proxy_header(conn: &mut Conn, eof: bool) -> ProxyHeader {
    if conn.pending().is_empty() {
        // Closed without a byte (a load balancer's TCP check, most likely): nothing to say.
        return match eof {
            true => ProxyHeader::Refused,
            false => ProxyHeader::Waiting,
        };
    }
    match proxy_protocol::parse(conn.pending()) {
        Ok(Some(header)) => {
            conn.consume(header.len);
            if let Some(source) = header.source {
                conn.peer = Peer::Ip(source);
            }
            conn.proxy_header = false;
            if conn.stream.tls().is_some() {
                // What came after the header is the start of the handshake, which is due now.
                if let Err(e) = conn.start_tls() {
                    tls_failed(conn, &e);
                    return ProxyHeader::Refused;
                }
                return ProxyHeader::Taken;
            }
            // The request head is waited for as on any new connection.
            conn.head_since = None;
            ProxyHeader::Taken
        }
        Ok(None) if !eof => ProxyHeader::Waiting,
        Ok(None) => {
            log::info!(
                "refused the connection from {}: its PROXY protocol header was cut short",
                conn.peer
            );
            ProxyHeader::Refused
        }
        Err(e) => {
            log::info!("refused the connection from {}: {e}", conn.peer);
            ProxyHeader::Refused
        }
    }
}

/// `stream` with TLS on top (plain until its PROXY protocol header is read, with `proxy`); None
/// when rustls could not start a connection.
pub fn with_tls(stream: Stream, tls: &Tls, proxy: bool) -> Option<Stream> {
    match TlsStream::new(stream, tls.config(), proxy) {
        Ok(tls) => Some(Stream::Tls(Box::new(tls))),
        Err(e) => {
            log::warn!("TLS could not start on a connection: {e}");
            None
        }
    }
}

/// Logs a TLS connection closed on an error: a failed handshake, plain HTTP, a broken record.
#[cold]
pub fn tls_failed(conn: &Conn, e: &io::Error) {
    match conn.stream.handshaking() {
        true => log::info!("TLS handshake with {} failed: {e}", conn.peer),
        false => log::info!("closed the TLS connection from {}: {e}", conn.peer),
    }
}

/// Logs a connection refused for `proxy_protocol`: its peer is none of forwarded_allow_ips.
#[cold]
#[inline(never)]
pub fn refuse_untrusted(peer: &Peer) {
    log::info!(
        "refused the connection from {peer}: it is not in forwarded_allow_ips, which \
         proxy_protocol asks of every peer"
    );
}

/// Whether `pending` starts with a whole request head (it holds the blank line that ends one).
fn has_whole_head(pending: &[u8]) -> bool {
    pending.windows(4).any(|w| w == b"\r\n\r\n")
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::os::fd::AsRawFd;
    use std::thread;

    use super::*;
    use crate::engine::stop::StopSignal;
    use crate::engine::wsgi::settings::testing::{python_app, settings, with_python};

    const APP: &std::ffi::CStr = cr#"
import time

def app(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        time.sleep(0.6)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [(environ["PATH_INFO"] + " from " + environ["REMOTE_PORT"]).encode()]
"#;

    /// A loop serving `APP` on a loopback listener, the listener's address and the loop's
    /// waker; the caller keeps the listener, as `Engine`'s caller does.
    fn serving(
        threads: usize,
        max_connections: usize,
    ) -> (EventLoop, SocketAddr, Arc<Waker>, TcpListener) {
        let settings = with_python(|py| settings(py, &python_app(py, APP)));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let config = LoopConfig {
            listen_fds: vec![(listener.as_raw_fd(), Family::Tcp)],
            keepalive_timeout: Duration::from_secs(5),
            header_timeout: Duration::from_secs(5),
            max_connections,
            threads,
            proxy_protocol: false,
            tls: None,
        };
        let waker_slot = Mutex::new(None);
        let event_loop = EventLoop::new(&settings, &config, &waker_slot).unwrap();
        let waker = waker_slot.lock().clone().expect("the loop's waker");
        (event_loop, listener.local_addr().unwrap(), waker, listener)
    }

    /// Runs the loop on this thread (not attached to Python) while `client` runs on another;
    /// stops it once the client is done, and gives what the client gave and how the loop ended.
    fn run_with<T: Send + 'static>(
        mut event_loop: EventLoop,
        waker: Arc<Waker>,
        client: impl FnOnce(&StopSignal) -> T + Send + 'static,
    ) -> (T, Ended) {
        let settings = event_loop.settings.clone();
        let client = thread::spawn(move || {
            let out = client(&settings.server.stop);
            settings.server.stop.now();
            waker.wake().unwrap();
            out
        });
        let ended = event_loop.run(Duration::from_millis(20), None).unwrap();
        if let Some(pool) = event_loop.pool.as_mut() {
            pool.close();
        }
        drop(event_loop);
        (client.join().unwrap(), ended)
    }

    fn connect(addr: SocketAddr) -> TcpStream {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream
    }

    /// One response: its head and its body (framed by Content-Length).
    fn response(stream: &mut TcpStream) -> (String, String) {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .map_or(0, |n| n.parse().unwrap());
        let mut body = vec![0u8; length];
        stream.read_exact(&mut body).unwrap();
        (head, String::from_utf8(body).unwrap())
    }

    fn closed(stream: &mut TcpStream) -> bool {
        matches!(stream.read(&mut [0u8; 1]), Ok(0))
    }

    fn two_requests_on_one_connection(threads: usize) {
        let (event_loop, addr, waker, _listener) = serving(threads, 100);
        let ((first, second, port), ended) = run_with(event_loop, waker, move |_| {
            let mut c = connect(addr);
            let port = c.local_addr().unwrap().port();
            c.write_all(b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            let first = response(&mut c);
            c.write_all(b"GET /two HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            (first, response(&mut c), port)
        });
        assert!(matches!(ended, Ended::Finished));
        for ((head, body), path) in [(first, "/one"), (second, "/two")] {
            assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
            assert!(!head.contains("Connection: close"), "{head}");
            assert_eq!(body, format!("{path} from {port}"));
        }
    }

    #[test]
    fn keep_alive_requests_are_served_on_the_loops_thread() {
        two_requests_on_one_connection(0);
    }

    #[test]
    fn keep_alive_requests_are_served_on_a_worker() {
        two_requests_on_one_connection(1);
    }

    #[test]
    fn a_loop_whose_worker_threads_are_all_busy_leaves_new_connections_to_others() {
        let (event_loop, addr, waker, listener) = serving(1, 100);
        listener.set_nonblocking(true).unwrap();
        let ((left, slow, later), _) = run_with(event_loop, waker, move |_| {
            let mut busy = connect(addr);
            busy.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            thread::sleep(Duration::from_millis(200));
            // The only worker thread is on /slow: this connection stays in the listen queue,
            // where another process sharing the socket (here, the test) takes it.
            let _waiting = connect(addr);
            let mut left = false;
            for _ in 0..20 {
                thread::sleep(Duration::from_millis(10));
                if listener.accept().is_ok() {
                    left = true;
                    break;
                }
            }
            let slow = response(&mut busy).1;
            // The thread is free again: the loop accepts and serves.
            let mut later = connect(addr);
            later
                .write_all(b"GET /later HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            (left, slow, response(&mut later).1)
        });
        assert!(left, "the busy loop accepted the connection");
        assert!(slow.starts_with("/slow from "), "{slow}");
        assert!(later.starts_with("/later from "), "{later}");
    }

    #[test]
    fn pipelined_requests_are_answered_in_order() {
        let (event_loop, addr, waker, _listener) = serving(0, 100);
        let (bodies, _) = run_with(event_loop, waker, move |_| {
            let mut c = connect(addr);
            let port = c.local_addr().unwrap().port();
            c.write_all(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            let bodies = [response(&mut c).1, response(&mut c).1];
            (bodies, port)
        });
        let (bodies, port) = bodies;
        assert_eq!(
            bodies,
            [format!("/a from {port}"), format!("/b from {port}")]
        );
    }

    #[test]
    fn connections_past_max_connections_are_closed_at_once() {
        let (event_loop, addr, waker, _listener) = serving(0, 1);
        let ((first_open, second_closed), _) = run_with(event_loop, waker, move |_| {
            let mut first = connect(addr);
            first
                .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            response(&mut first);
            let mut second = connect(addr);
            let second_closed = closed(&mut second);
            first
                .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            (
                response(&mut first).0.starts_with("HTTP/1.1 200"),
                second_closed,
            )
        });
        assert!(first_open);
        assert!(second_closed);
    }

    #[test]
    fn a_malformed_request_is_refused_and_its_connection_closed() {
        let (event_loop, addr, waker, _listener) = serving(0, 100);
        let ((head, eof), _) = run_with(event_loop, waker, move |_| {
            let mut c = connect(addr);
            c.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
            let (head, _) = response(&mut c);
            (head, closed(&mut c))
        });
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
        assert!(head.contains("Connection: close\r\n"));
        assert!(eof);
    }

    #[test]
    fn a_graceful_stop_closes_idle_connections_and_returns() {
        let (event_loop, addr, waker, listener) = serving(0, 100);
        let wake = waker.clone();
        let (idle_closed, ended) = run_with(event_loop, waker, move |stop| {
            let mut c = connect(addr);
            c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            response(&mut c);
            stop.drain(Duration::from_secs(5));
            wake.wake().unwrap();
            closed(&mut c)
        });
        assert!(idle_closed);
        assert!(matches!(ended, Ended::Finished));
        // The caller's socket still listens.
        let _late = TcpStream::connect(addr).unwrap();
        assert!(listener.accept().is_ok());
    }

    #[test]
    fn a_whole_head_is_found_by_its_blank_line() {
        for (bytes, whole) in [
            (&b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..], true),
            (b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody", true),
            (b"GET / HTTP/1.1\r\nHost: x\r\n", false),
            (b"GET / HTTP/1.1\n\n", false),
            (b"", false),
        ] {
            assert_eq!(has_whole_head(bytes), whole, "{bytes:?}");
        }
    }
}
