//! The event loop and `Engine`, the object `WSGIServer.serve_forever()` runs.
//!
//! The loop owns the listening socket and every connection between requests; it waits in
//! `epoll`/`kqueue` with the GIL released, and takes the GIL only to serve a request (see
//! `request.rs`) and, at least every `poll_interval`, to let Python run its signal handlers
//! and to ask whether to stop.

use std::io;
use std::os::fd::{FromRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFrozenSet};

use super::conn::Conn;
use super::io::wait_readable;
use super::io::{read_ready, Ready};
use super::limits::Limits;
use super::parse::parse_head;
use super::pool::{Job, Pool};
use super::request::{self, refuse, serve_pipelined, Settings};

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
const FIRST_CONN: usize = 2;

/// The keys `WSGIRequestHandler.get_environ()` sets before the headers, with the default
/// `WSGIServer.base_environ`: a header that maps to one of them is skipped.
const REQUEST_KEYS: [&str; 13] = [
    "SERVER_NAME",
    "GATEWAY_INTERFACE",
    "SERVER_PORT",
    "REMOTE_HOST",
    "CONTENT_LENGTH",
    "SCRIPT_NAME",
    "SERVER_PROTOCOL",
    "SERVER_SOFTWARE",
    "REQUEST_METHOD",
    "PATH_INFO",
    "QUERY_STRING",
    "REMOTE_ADDR",
    "CONTENT_TYPE",
];

/// The native HTTP/1.1 engine for one listening socket.
#[pyclass(module = "wsgiref_rs.engine")]
pub struct Engine {
    settings: Arc<Settings>,
    listen_fd: RawFd,
    keepalive_timeout: Duration,
    header_timeout: Duration,
    max_connections: usize,
    threads: usize,
    stop: Arc<AtomicBool>,
    waker: Mutex<Option<Arc<Waker>>>,
}

fn seconds(s: f64) -> Duration {
    Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(Duration::MAX)
}

#[pymethods]
impl Engine {
    /// Prepare an engine for the listening socket `listen_fd` (which stays the caller's).
    ///
    /// Holds the GIL (no I/O).
    #[new]
    #[pyo3(signature = (listen_fd, app, base_environ, server_software, *, log=None,
        remote_host=None, request_keys=None, allow_underscore_headers=false, timeout=60.0, keepalive_timeout=5.0, header_timeout=10.0,
        max_connections=10000, threads=0, limit_request_line=65536, limit_request_fields=100,
        limit_request_field_size=65536, limit_request_body=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        listen_fd: RawFd,
        app: Py<PyAny>,
        base_environ: Py<PyDict>,
        server_software: String,
        log: Option<Py<PyAny>>,
        remote_host: Option<Py<PyAny>>,
        request_keys: Option<Py<PyAny>>,
        allow_underscore_headers: bool,
        timeout: f64,
        keepalive_timeout: f64,
        header_timeout: f64,
        max_connections: usize,
        threads: usize,
        limit_request_line: usize,
        limit_request_fields: usize,
        limit_request_field_size: usize,
        limit_request_body: Option<u64>,
    ) -> PyResult<Self> {
        let request_keys = match request_keys {
            Some(keys) => keys,
            None => PyFrozenSet::new(py, REQUEST_KEYS)?.into_any().unbind(),
        };
        let limits = Limits {
            max_request_line: limit_request_line,
            max_header_bytes: limit_request_field_size,
            max_headers: limit_request_fields,
            max_body: limit_request_body,
        };
        Ok(Engine {
            settings: Arc::new(Settings {
                app,
                base_environ,
                server_software: server_software.into(),
                limits,
                timeout: seconds(timeout),
                log,
                allow_underscores: allow_underscore_headers,
                request_keys,
                remote_host,
            }),
            listen_fd,
            keepalive_timeout: seconds(keepalive_timeout),
            header_timeout: seconds(header_timeout),
            max_connections,
            threads,
            stop: Arc::new(AtomicBool::new(false)),
            waker: Mutex::new(None),
        })
    }

    /// Serve until `stop()`, until `should_stop()` answers true (asked every poll_interval), or
    /// until a signal handler raises (KeyboardInterrupt on Ctrl-C), which propagates.
    ///
    /// Releases the GIL while it waits and does socket I/O; takes it to run the application,
    /// signal handlers and `should_stop`.
    #[pyo3(signature = (poll_interval=0.5, should_stop=None))]
    fn serve_forever(
        &self,
        py: Python<'_>,
        poll_interval: f64,
        should_stop: Option<Py<PyAny>>,
    ) -> PyResult<()> {
        self.stop.store(false, Ordering::SeqCst);
        let mut event_loop = EventLoop::new(self)?;
        let interval =
            seconds(poll_interval).clamp(Duration::from_millis(1), Duration::from_millis(500));
        let out = py.detach(|| {
            let out = event_loop.run(interval, should_stop.as_ref());
            // In-flight requests on the workers finish before serve_forever() returns.
            if let Some(pool) = event_loop.pool.as_mut() {
                pool.close();
            }
            out
        });
        *self.waker.lock() = None;
        out
    }

    /// Serve one request, as `socketserver.BaseServer.handle_request()` does: wait up to
    /// `timeout` seconds (None: no limit) for a connection, serve its first request, close it.
    /// Returns False when the wait timed out.
    ///
    /// Releases the GIL while it waits and does socket I/O; takes it to run the application and
    /// signal handlers.
    #[pyo3(signature = (timeout=None))]
    fn handle_one(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        let deadline = timeout.map(|t| Instant::now() + seconds(t));
        // SAFETY: dup() of a descriptor the caller keeps open; we own (and close) the copy.
        let fd = unsafe { libc::dup(self.listen_fd) };
        if fd < 0 {
            return Err(io::Error::last_os_error().into());
        }
        // SAFETY: a fresh descriptor of a listening socket that nothing else owns.
        let listener = unsafe { std::net::TcpListener::from_raw_fd(fd) };
        listener.set_nonblocking(true)?;
        let accepted = loop {
            match listener.accept() {
                Ok(pair) => break pair,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
            let slice = Instant::now() + Duration::from_millis(50);
            let wait_until = deadline.map_or(slice, |d| d.min(slice));
            let waited = py.detach(|| wait_readable(fd, wait_until));
            py.check_signals()?;
            if deadline.is_some_and(|d| Instant::now() >= d) && !waited {
                return Ok(false);
            }
        };
        let (stream, peer) = accepted;
        stream.set_nonblocking(true)?;
        let _ = stream.set_nodelay(true);
        let mut conn = Conn::new(mio::net::TcpStream::from_std(stream), peer);
        let settings = self.settings.clone();
        let head_deadline = Instant::now() + self.header_timeout;
        let parsed = py.detach(|| loop {
            match parse_head(conn.pending(), &settings.limits) {
                Ok(Some((head, len))) => {
                    conn.consume(len);
                    return Some(Ok(head));
                }
                Err(e) => return Some(Err(e)),
                Ok(None) => {
                    match super::io::read_some(&mut conn.stream, &mut conn.buf, Some(head_deadline))
                    {
                        Ok(0) | Err(_) => return None,
                        Ok(_) => {}
                    }
                }
            }
        });
        match parsed {
            Some(Ok(mut head)) => {
                // One request per handle_request(), as in the stdlib: say that the connection ends.
                head.keep_alive = false;
                drop(request::serve(py, &settings, conn, head)?);
            }
            Some(Err(e)) => py.detach(|| refuse(&mut conn, e)),
            None => {}
        }
        Ok(true)
    }

    /// Ask serve_forever() to return; safe from any thread.
    ///
    /// Holds the GIL (no I/O but a wake-up of the loop).
    fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(waker) = self.waker.lock().as_ref() {
            let _ = waker.wake();
        }
    }
}

struct EventLoop {
    poll: Poll,
    listener: TcpListener,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    open: usize,
    settings: Arc<Settings>,
    keepalive_timeout: Duration,
    header_timeout: Duration,
    max_connections: usize,
    /// True from a connection refused for max_connections until one is accepted again: one
    /// warning per episode, not one per connection.
    saturated: bool,
    /// Where the loop reads connections' bytes before appending them to their own buffers.
    scratch: Box<[u8]>,
    stop: Arc<AtomicBool>,
    /// The workers of a threaded server; None: requests are served on the loop's thread.
    pool: Option<Pool>,
}

impl EventLoop {
    fn new(engine: &Engine) -> PyResult<Self> {
        // SAFETY: dup() of a descriptor the caller keeps open; we own the copy from here on.
        let fd = unsafe { libc::dup(engine.listen_fd) };
        if fd < 0 {
            return Err(io::Error::last_os_error().into());
        }
        // SAFETY: `fd` is a fresh descriptor of a listening TCP socket that nothing else owns.
        let std_listener = unsafe { std::net::TcpListener::from_raw_fd(fd) };
        std_listener.set_nonblocking(true)?;
        let mut listener = TcpListener::from_std(std_listener);
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        *engine.waker.lock() = Some(waker.clone());
        let pool = match engine.threads {
            0 => None,
            n => Some(Pool::new(n, engine.settings.clone(), waker)?),
        };
        Ok(EventLoop {
            poll,
            listener,
            conns: Vec::new(),
            free: Vec::new(),
            open: 0,
            settings: engine.settings.clone(),
            keepalive_timeout: engine.keepalive_timeout,
            header_timeout: engine.header_timeout,
            max_connections: engine.max_connections,
            saturated: false,
            scratch: vec![0; 64 * 1024].into_boxed_slice(),
            stop: engine.stop.clone(),
            pool,
        })
    }

    fn run(&mut self, interval: Duration, should_stop: Option<&Py<PyAny>>) -> PyResult<()> {
        let mut events = Events::with_capacity(1024);
        let mut last_check = Instant::now();
        let mut last_sweep = Instant::now();
        loop {
            let waited = self.poll.poll(&mut events, Some(interval));
            let interrupted = matches!(&waited, Err(e) if e.kind() == io::ErrorKind::Interrupted);
            if let Err(e) = waited {
                if !interrupted {
                    return Err(e.into());
                }
            }
            if self.stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            if interrupted || events.is_empty() || last_check.elapsed() >= interval {
                last_check = Instant::now();
                let stop = Python::attach(|py| -> PyResult<bool> {
                    py.check_signals()?;
                    match should_stop {
                        Some(f) => f.bind(py).call0()?.is_truthy(),
                        None => Ok(false),
                    }
                })?;
                if stop || self.stop.load(Ordering::SeqCst) {
                    return Ok(());
                }
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept(),
                    WAKER => self.take_back()?,
                    Token(t) => self.readable(t - FIRST_CONN)?,
                }
            }
            if last_sweep.elapsed() >= Duration::from_secs(1) {
                last_sweep = Instant::now();
                self.sweep();
            }
        }
    }

    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
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
                    let _ = stream.set_nodelay(true);
                    let slot = self.free.pop().unwrap_or_else(|| {
                        self.conns.push(None);
                        self.conns.len() - 1
                    });
                    if self
                        .poll
                        .registry()
                        .register(&mut stream, Token(slot + FIRST_CONN), Interest::READABLE)
                        .is_ok()
                    {
                        self.conns[slot] = Some(Conn::new(stream, peer));
                        self.open += 1;
                    } else {
                        self.free.push(slot);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
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
    }

    /// Reads what arrived on a connection and serves the requests that are complete. An error is
    /// one that must stop the server.
    fn readable(&mut self, slot: usize) -> PyResult<()> {
        let Some(mut conn) = self.conns.get_mut(slot).and_then(Option::take) else {
            return Ok(());
        };
        let mut eof = false;
        loop {
            match read_ready(&mut conn.stream, &mut conn.buf, &mut self.scratch[..]) {
                Ok(Ready::Eof) | Err(_) => {
                    eof = true;
                    break;
                }
                Ok(Ready::Read { drained: false }) => {}
                Ok(Ready::Read { drained: true }) | Ok(Ready::Empty) => break,
            }
        }
        loop {
            if conn.pending().is_empty() {
                break;
            }
            match parse_head(conn.pending(), &self.settings.limits) {
                Ok(None) => {
                    conn.head_since.get_or_insert_with(Instant::now);
                    break;
                }
                Ok(Some((head, len))) => {
                    conn.consume(len);
                    conn.head_since = None;
                    if let Some(pool) = &self.pool {
                        // The slot stays taken until the worker gives the connection back.
                        pool.submit(Job { slot, conn, head });
                        return Ok(());
                    }
                    let settings = self.settings.clone();
                    let served = Python::attach(|py| serve_pipelined(py, &settings, conn, head));
                    match served {
                        Ok(Some(back)) => {
                            conn = back;
                            conn.idle_since = Instant::now();
                        }
                        Ok(None) => {
                            self.release(slot);
                            return Ok(());
                        }
                        Err(e) => {
                            self.release(slot);
                            return Err(e);
                        }
                    }
                }
                Err(e) => {
                    refuse(&mut conn, e);
                    self.release(slot);
                    return Ok(());
                }
            }
        }
        if eof {
            self.release(slot);
        } else {
            self.conns[slot] = Some(conn);
        }
        Ok(())
    }

    /// Takes back the connections the workers are done with, and reads on at once: requests may
    /// have arrived while a worker had the connection.
    fn take_back(&mut self) -> PyResult<()> {
        let Some(pool) = &self.pool else {
            return Ok(());
        };
        for (slot, conn) in pool.returned() {
            match conn {
                Some(mut conn) => {
                    conn.idle_since = Instant::now();
                    self.conns[slot] = Some(conn);
                    self.readable(slot)?;
                }
                None => self.release(slot),
            }
        }
        Ok(())
    }

    /// Closes connections idle past the keep-alive timeout, and those whose request head has
    /// not arrived in time (so slow clients cannot hold the server).
    fn sweep(&mut self) {
        let now = Instant::now();
        for slot in 0..self.conns.len() {
            let Some(conn) = self.conns[slot].as_ref() else {
                continue;
            };
            let expired = match conn.head_since {
                Some(t) => {
                    let late = now.duration_since(t) > self.header_timeout;
                    if late {
                        log::info!(
                            "closed the connection from {}: its request head took longer than \
                             header_timeout ({:?})",
                            conn.peer,
                            self.header_timeout
                        );
                    }
                    late
                }
                None => now.duration_since(conn.idle_since) > self.keepalive_timeout,
            };
            if expired {
                self.conns[slot] = None;
                self.release(slot);
            }
        }
    }
}
