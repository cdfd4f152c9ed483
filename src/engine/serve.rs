//! `Engine`, the object `WSGIServer.serve_forever()` (and `wsgiref_rs.serve()`) runs: its
//! settings, `serve_forever()` (the event loop of `event_loop.rs`), `handle_one()` and `stop()`.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::Waker;
use parking_lot::Mutex;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFrozenSet, PyString};

use crate::engine::defaults;
use crate::engine::event_loop::{
    refuse_untrusted, tls_failed, with_tls, Ended, EventLoop, LoopConfig,
};
use crate::engine::http::forwarded::TrustedProxies;
use crate::engine::http::limits::Limits;
use crate::engine::http::parse::parse_head;
use crate::engine::http::proxy_protocol;
use crate::engine::net::conn::Conn;
use crate::engine::net::io::{wait_any_readable, Deadline};
use crate::engine::net::listener::{self, Family, Listener};
use crate::engine::net::tls::{CertReqs, Tls, TlsFiles};
use crate::engine::pool::BatchScheduling;
use crate::engine::stop::StopSignal;
use crate::engine::wsgi::environ;
use crate::engine::wsgi::request::{self, refuse};
use crate::engine::wsgi::response::ServerSide;
use crate::engine::wsgi::scoreboard::{Scoreboard, Watch};
use crate::engine::wsgi::settings::{AppSource, Settings};

/// The native HTTP/1.1 engine for one or more listening sockets (TCP or Unix-domain).
#[pyclass(module = "wsgiref_rs._native")]
pub struct Engine {
    pub(crate) settings: Arc<Settings>,
    /// The listeners, timeouts and threads the loop serves with.
    pub(crate) config: LoopConfig,
    /// The running loop's waker, for `stop()`.
    pub(crate) waker: Mutex<Option<Arc<Waker>>>,
}

fn seconds(s: f64) -> Duration {
    Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(Duration::MAX)
}

/// The kind of the listening socket `fd`: ValueError when it is none the engine can serve.
fn listen_family(fd: RawFd) -> PyResult<Family> {
    listener::family(fd).map_err(|e| match e.kind() {
        io::ErrorKind::InvalidInput => PyValueError::new_err(e.to_string()),
        _ => e.into(),
    })
}

/// `forwarded_allow_ips`: None, a list (any iterable) of str, or one str of comma-separated
/// entries, as on gunicorn's command line.
fn trusted_proxies(value: Option<&Bound<'_, PyAny>>) -> PyResult<TrustedProxies> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(TrustedProxies::default());
    };
    let entries: Vec<String> = if let Ok(text) = value.cast::<PyString>() {
        text.to_str()?.split(',').map(str::to_owned).collect()
    } else {
        let mut entries = Vec::new();
        for item in value.try_iter()? {
            let item = item?;
            let text = item.cast::<PyString>().map_err(|_| {
                PyTypeError::new_err(format!(
                    "forwarded_allow_ips entries must be str, not {}",
                    item.get_type()
                        .name()
                        .map_or_else(|_| "?".into(), |n| n.to_string())
                ))
            })?;
            entries.push(text.to_str()?.to_owned());
        }
        entries
    };
    TrustedProxies::parse(entries.iter().map(String::as_str)).map_err(PyValueError::new_err)
}

/// Reads a connection's PROXY protocol header (see `proxy_protocol`) by `deadline` and takes it
/// off (the peer is trusted: the caller saw to that); false when the connection is to be closed
/// unanswered: its header is missing, malformed, cut short or late. Call without the GIL.
fn take_proxy_header(conn: &mut Conn, deadline: Instant) -> bool {
    let refused = |conn: &Conn, why: &dyn std::fmt::Display| {
        log::info!("refused the connection from {}: {why}", conn.peer);
        false
    };
    loop {
        match proxy_protocol::parse(conn.pending()) {
            Ok(Some(header)) => {
                conn.consume(header.len);
                if let Some(source) = header.source {
                    conn.peer = crate::engine::net::peer::Peer::Ip(source);
                }
                // What came after the header is the start of a TLS handshake, if any.
                if let Err(e) = conn.start_tls() {
                    tls_failed(conn, &e);
                    return false;
                }
                return true;
            }
            Ok(None) => {}
            Err(e) => return refused(conn, &e),
        }
        // A TLS stream reads plain bytes until start_tls(): the header comes before the
        // handshake.
        match crate::engine::net::io::read_some(
            &mut conn.stream,
            &mut conn.buf,
            Deadline::at(deadline),
        ) {
            Ok(0) => return refused(conn, &"its PROXY protocol header was cut short"),
            Ok(n) => conn.received += n as u64,
            Err(e) => return refused(conn, &format_args!("no whole PROXY protocol header: {e}")),
        }
    }
}

/// The TLS files, from `Engine()`'s arguments: None without a certificate.
fn tls_files(
    certfile: Option<PathBuf>,
    keyfile: Option<PathBuf>,
    ca_certs: Option<PathBuf>,
    cert_reqs: u8,
) -> PyResult<Option<TlsFiles>> {
    let cert_reqs = CertReqs::from_number(cert_reqs).ok_or_else(|| {
        PyValueError::new_err(format!(
            "cert_reqs must be 0 (CERT_NONE), 1 (CERT_OPTIONAL) or 2 (CERT_REQUIRED), not \
             {cert_reqs}"
        ))
    })?;
    match (certfile, keyfile) {
        (Some(certfile), keyfile) => Ok(Some(TlsFiles {
            // A certificate file may hold the key too, as Python's load_cert_chain() allows.
            keyfile: keyfile.unwrap_or_else(|| certfile.clone()),
            certfile,
            ca_certs,
            cert_reqs,
        })),
        (None, Some(_)) => Err(PyValueError::new_err("keyfile needs a certfile")),
        (None, None) if ca_certs.is_some() || cert_reqs != CertReqs::None => Err(
            PyValueError::new_err("ca_certs and cert_reqs need a certfile"),
        ),
        (None, None) => Ok(None),
    }
}

/// Checks TLS settings as `Engine()` would take them: ValueError naming the file that is
/// wrong (unreadable, no PEM, an encrypted key, a key that does not go with the certificate).
/// Releases the GIL while it reads the files.
#[pyfunction]
#[pyo3(signature = (certfile, keyfile=None, ca_certs=None, cert_reqs=0))]
pub fn check_tls(
    py: Python<'_>,
    certfile: PathBuf,
    keyfile: Option<PathBuf>,
    ca_certs: Option<PathBuf>,
    cert_reqs: u8,
) -> PyResult<()> {
    let Some(files) = tls_files(Some(certfile), keyfile, ca_certs, cert_reqs)? else {
        return Ok(());
    };
    py.detach(move || files.load().map(drop))
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

#[pymethods]
impl Engine {
    /// Prepare an engine for the listening socket `listen_fd` and any `listen_fds` (TCP or
    /// Unix-domain stream sockets, which stay the caller's). `forwarded_allow_ips` names the
    /// peers whose X-Forwarded-For, X-Forwarded-Proto and Forwarded headers set REMOTE_ADDR and
    /// wsgi.url_scheme: IP addresses, CIDR networks, "*" (everyone) and "unix" (Unix-socket
    /// peers); None trusts nobody. `proxy_protocol` true: every connection must start with a
    /// PROXY protocol header (v1 or v2) and come from one of those peers, and the header's source
    /// becomes REMOTE_ADDR and REMOTE_PORT; anything else is closed unanswered. Raises ValueError for a descriptor that is no listening
    /// stream socket and for an entry of forwarded_allow_ips that is none of those.
    ///
    /// Each request calls `app`; or, with `server` (a `WSGIServer`, when `app` is None), the
    /// application `server.get_app()` answers for that request, as the standard library's
    /// handler asks. `server_get_app` false says that the server's class keeps
    /// `WSGIServer.get_app()`, which returns its `application` attribute, and plain attribute
    /// access for it: that is read from the instance's `__dict__` instead, unless a `get_app` is
    /// set on the instance.
    ///
    /// `request_keys` are the environ keys no request header may set; None: `REQUEST_KEYS` and
    /// the keys of `base_environ`.
    ///
    /// Holds the GIL (no I/O; getsockname/getsockopt on the descriptors).
    #[new]
    #[pyo3(signature = (listen_fd, app, base_environ, server_software, *, server=None,
        server_get_app=true, log=None, log_details=false,
        remote_host=None, request_keys=None, allow_underscore_headers=false,
        engine_timeout=defaults::ENGINE_TIMEOUT, keepalive_timeout=defaults::KEEPALIVE_TIMEOUT,
        header_timeout=defaults::HEADER_TIMEOUT, max_connections=defaults::MAX_CONNECTIONS,
        threads=defaults::THREADS, limit_request_line=defaults::LIMIT_REQUEST_LINE,
        limit_request_fields=defaults::LIMIT_REQUEST_FIELDS,
        limit_request_field_size=defaults::LIMIT_REQUEST_FIELD_SIZE,
        limit_request_body=defaults::LIMIT_REQUEST_BODY, forwarded_allow_ips=None,
        listen_fds=None, scoreboard=None, proxy_protocol=false, certfile=None, keyfile=None,
        ca_certs=None, cert_reqs=0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        listen_fd: RawFd,
        app: Py<PyAny>,
        base_environ: Py<PyDict>,
        server_software: String,
        server: Option<Py<PyAny>>,
        server_get_app: bool,
        log: Option<Py<PyAny>>,
        log_details: bool,
        remote_host: Option<Py<PyAny>>,
        request_keys: Option<Py<PyAny>>,
        allow_underscore_headers: bool,
        engine_timeout: f64,
        keepalive_timeout: f64,
        header_timeout: f64,
        max_connections: usize,
        threads: usize,
        limit_request_line: usize,
        limit_request_fields: usize,
        limit_request_field_size: usize,
        limit_request_body: Option<u64>,
        forwarded_allow_ips: Option<Bound<'_, PyAny>>,
        listen_fds: Option<Vec<RawFd>>,
        scoreboard: Option<PyRef<'_, Scoreboard>>,
        proxy_protocol: bool,
        certfile: Option<PathBuf>,
        keyfile: Option<PathBuf>,
        ca_certs: Option<PathBuf>,
        cert_reqs: u8,
    ) -> PyResult<Self> {
        let tls = tls_files(certfile, keyfile, ca_certs, cert_reqs)?
            .map(|files| Tls::new(files).map(Arc::new))
            .transpose()
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let scoreboard = scoreboard.map(|s| s.board.clone());
        if let Some(board) = &scoreboard {
            if board.slots() < threads.max(1) {
                return Err(PyValueError::new_err(format!(
                    "the scoreboard has {} slot(s) for {} application thread(s)",
                    board.slots(),
                    threads.max(1)
                )));
            }
        }
        let request_keys = match request_keys {
            Some(keys) => keys,
            None => {
                let keys = PyFrozenSet::new(py, environ::REQUEST_KEYS)?;
                keys.call_method1("union", (base_environ.bind(py),))?
                    .unbind()
            }
        };
        let limits = Limits {
            limit_request_line,
            limit_request_field_size,
            limit_request_fields,
            limit_request_body,
        };
        let forwarded = trusted_proxies(forwarded_allow_ips.as_ref())?;
        let mut fds = vec![(listen_fd, listen_family(listen_fd)?)];
        for fd in listen_fds.unwrap_or_default() {
            if !fds.iter().any(|&(known, _)| known == fd) {
                fds.push((fd, listen_family(fd)?));
            }
        }
        Ok(Engine {
            settings: Arc::new(Settings {
                app: match server {
                    Some(server) if server_get_app => AppSource::GetApp(server),
                    Some(server) => {
                        match server.bind(py).getattr("__dict__")?.cast_into::<PyDict>() {
                            Ok(dict) => AppSource::Application {
                                dict: dict.unbind(),
                                server,
                            },
                            Err(_) => AppSource::GetApp(server),
                        }
                    }
                    None => AppSource::Fixed(app),
                },
                base_environ,
                server: Arc::new(ServerSide {
                    software: server_software.into(),
                    stop: StopSignal::default(),
                }),
                limits,
                timeout: seconds(engine_timeout),
                log,
                log_details,
                allow_underscores: allow_underscore_headers,
                request_keys,
                remote_host,
                forwarded,
                spare_objects: Default::default(),
                scoreboard,
            }),
            config: LoopConfig {
                listen_fds: fds,
                keepalive_timeout: seconds(keepalive_timeout),
                header_timeout: seconds(header_timeout),
                max_connections,
                threads,
                proxy_protocol,
                tls,
            },
            waker: Mutex::new(None),
        })
    }

    /// Serve every listening socket until `stop()`, until `should_stop()` answers true (asked
    /// every poll_interval), or until a signal handler raises (KeyboardInterrupt on Ctrl-C),
    /// which propagates. After `stop(graceful_timeout)` it returns once the requests in flight
    /// are answered, or when the timeout is over. A `stop()` that came before the call (after the
    /// previous serve_forever() returned, if any) holds for it: it drains what it has, nothing,
    /// and returns.
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
        self.settings.server.stop.begin();
        let event_loop = EventLoop::new(&self.settings, &self.config, &self.waker);
        let out = match event_loop {
            Err(e) => Err(e),
            Ok(mut event_loop) => {
                let no_pool = event_loop.pool.is_none();
                let interval = seconds(poll_interval)
                    .clamp(Duration::from_millis(1), Duration::from_millis(500));
                let board = self.settings.scoreboard.clone();
                py.detach(move || {
                    // Without workers, the application runs on this thread: its requests are
                    // shown on the scoreboard's first slot.
                    let _watch = Watch::attach(board.as_ref().filter(|_| no_pool), 0);
                    // A threaded loop waits for the workers' CPU (see BatchScheduling).
                    let batch = event_loop.pool.is_some().then(BatchScheduling::begin);
                    let out = event_loop.run(interval, should_stop.as_ref());
                    drop(batch);
                    if let Some(pool) = event_loop.pool.as_mut() {
                        match out {
                            // Out of time: what still runs on the workers is not waited for.
                            Ok(Ended::OutOfTime) => pool.abandon(),
                            // In-flight requests on the workers finish before we return.
                            _ => pool.close(),
                        }
                    }
                    // The connections left close here, without the GIL.
                    drop(event_loop);
                    out
                })
            }
        };
        *self.waker.lock() = None;
        self.settings.server.stop.end();
        out.map(drop)
    }

    /// Serve one request, as `socketserver.BaseServer.handle_request()` does: wait up to
    /// `timeout` seconds (None: no limit) for a connection on any listening socket, serve its
    /// first request, close it. Returns False when the wait timed out.
    ///
    /// Releases the GIL while it waits and does socket I/O; takes it to run the application and
    /// signal handlers.
    #[pyo3(signature = (timeout=None))]
    fn handle_one(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        let deadline = timeout.map(|t| Instant::now() + seconds(t));
        let listeners = self
            .config
            .listen_fds
            .iter()
            .map(|&(fd, family)| Listener::dup(fd, family))
            .collect::<io::Result<Vec<_>>>()?;
        let fds: Vec<RawFd> = listeners.iter().map(AsRawFd::as_raw_fd).collect();
        let accepted = 'accepted: loop {
            for listener in &listeners {
                match listener.accept() {
                    Ok(pair) => break 'accepted pair,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let slice = Instant::now() + Duration::from_millis(50);
            let wait_until = deadline.map_or(slice, |d| d.min(slice));
            let waited = py.detach(|| wait_any_readable(&fds, wait_until));
            py.check_signals()?;
            if deadline.is_some_and(|d| Instant::now() >= d) && !waited {
                return Ok(false);
            }
        };
        drop(listeners);
        let (stream, peer) = accepted;
        let stream = match &self.config.tls {
            None => stream,
            Some(tls) => match with_tls(stream, tls, self.config.proxy_protocol) {
                Some(stream) => stream,
                None => return Ok(true), // closed unanswered
            },
        };
        let mut conn = Conn::new(stream, peer);
        let settings = self.settings.clone();
        let head_deadline = Instant::now() + self.config.header_timeout;
        if self.config.proxy_protocol {
            if !settings.forwarded.trusts(conn.peer.ip()) {
                refuse_untrusted(&conn.peer);
                return Ok(true); // closed unanswered
            }
            if !py.detach(|| take_proxy_header(&mut conn, head_deadline)) {
                return Ok(true);
            }
        }
        let parsed = py.detach(|| loop {
            match parse_head(conn.pending(), &settings.limits) {
                Ok(Some((head, len))) => {
                    conn.consume(len);
                    return Some(Ok(head));
                }
                Err(e) => return Some(Err(e)),
                Ok(None) => {
                    match crate::engine::net::io::read_some(
                        &mut conn.stream,
                        &mut conn.buf,
                        Deadline::at(head_deadline),
                    ) {
                        Ok(0) => return None,
                        Err(e) => {
                            if conn.stream.tls().is_some() {
                                tls_failed(&conn, &e);
                            }
                            return None;
                        }
                        Ok(n) => conn.received += n as u64,
                    }
                }
            }
        });
        match parsed {
            Some(Ok(mut head)) => {
                // One request per handle_request(), as in the stdlib: say that the connection ends.
                head.keep_alive = false;
                if let Some(conn) = request::serve(py, &settings, conn, head)? {
                    py.detach(|| drop(conn.send_out(settings.timeout)));
                }
            }
            Some(Err(e)) => py.detach(|| refuse(&mut conn, e)),
            None => {}
        }
        Ok(true)
    }

    /// Read the TLS certificate and key (and CAs) again, for the connections accepted from now
    /// on; those open keep what they began with. ValueError when the files are no longer good
    /// (the settings stay as they were); nothing happens without TLS. Returns whether TLS is on.
    ///
    /// Releases the GIL while it reads the files.
    fn reload_tls(&self, py: Python<'_>) -> PyResult<bool> {
        let Some(tls) = self.config.tls.clone() else {
            return Ok(false);
        };
        py.detach(move || tls.reload())
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(true)
    }

    /// Ask serve_forever() to return; safe from any thread and from a signal handler.
    ///
    /// graceful_timeout None: at once (requests running on worker threads are still finished).
    /// A number of seconds: a graceful drain. The engine stops accepting at once (its copies of
    /// the listening sockets close, so other processes sharing them take new connections),
    /// answers every request already received with `Connection: close`, closes idle keep-alive
    /// connections, and serve_forever() returns when none is left, or once graceful_timeout
    /// seconds have passed (closing what remains). A second call can only make it sooner.
    ///
    /// Holds the GIL (no I/O but a wake-up of the loop).
    #[pyo3(signature = (graceful_timeout=None))]
    fn stop(&self, graceful_timeout: Option<f64>) {
        match graceful_timeout {
            None => self.settings.server.stop.now(),
            Some(t) => self.settings.server.stop.drain(seconds(t)),
        }
        if let Some(waker) = self.waker.lock().as_ref() {
            let _ = waker.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    use pyo3::types::PyTuple;

    use super::*;
    use crate::engine::wsgi::settings::testing::{python_app, with_python};

    const APP: &std::ffi::CStr = cr#"
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ["SERVER_SOFTWARE"].encode()]
"#;

    /// `Engine(fd, app, {...}, "engine-test/1", **kwargs)`, as Python calls it.
    fn engine<'py>(
        py: Python<'py>,
        fd: RawFd,
        kwargs: &[(&str, Bound<'py, PyAny>)],
    ) -> PyResult<Bound<'py, PyAny>> {
        let base_environ = PyDict::new(py);
        base_environ.set_item("SERVER_SOFTWARE", "engine-test/1")?;
        let args = PyTuple::new(
            py,
            [
                fd.into_pyobject(py)?.into_any(),
                python_app(py, APP),
                base_environ.into_any(),
                PyString::new(py, "engine-test/1").into_any(),
            ],
        )?;
        let kw = PyDict::new(py);
        for (key, value) in kwargs {
            kw.set_item(key, value)?;
        }
        py.get_type::<Engine>().call(args, Some(&kw))
    }

    #[test]
    fn seconds_are_never_negative_and_saturate() {
        assert_eq!(seconds(1.5), Duration::from_millis(1500));
        assert_eq!(seconds(-3.0), Duration::ZERO);
        assert_eq!(seconds(f64::NAN), Duration::ZERO);
        assert_eq!(seconds(f64::INFINITY), Duration::MAX);
    }

    #[test]
    fn descriptors_that_are_no_listening_stream_sockets_are_a_value_error() {
        with_python(|py| {
            let file = std::fs::File::open("/dev/null").unwrap();
            let err = engine(py, file.as_raw_fd(), &[]).unwrap_err();
            assert!(err.is_instance_of::<PyValueError>(py));
            assert!(err.to_string().contains("is not a socket"), "{err}");
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let fds = vec![udp.as_raw_fd()].into_pyobject(py).unwrap().into_any();
            let err = engine(py, listener.as_raw_fd(), &[("listen_fds", fds)]).unwrap_err();
            assert!(err.to_string().contains("is not a stream socket"), "{err}");
        });
    }

    #[test]
    fn forwarded_allow_ips_takes_a_string_or_strings() {
        with_python(|py| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let fd = listener.as_raw_fd();
            let allow = |value: &str| -> Bound<'_, PyAny> {
                py.eval(&std::ffi::CString::new(value).unwrap(), None, None)
                    .unwrap()
            };
            for good in ["'127.0.0.1, 10.0.0.0/8,unix'", "['*']", "('::1',)", "None"] {
                engine(py, fd, &[("forwarded_allow_ips", allow(good))]).unwrap();
            }
            let err =
                engine(py, fd, &[("forwarded_allow_ips", allow("['10.0.0.1', 5]"))]).unwrap_err();
            assert!(err.is_instance_of::<PyTypeError>(py), "{err}");
            assert!(err.to_string().contains("must be str, not int"), "{err}");
            let err = engine(py, fd, &[("forwarded_allow_ips", allow("'nowhere'"))]).unwrap_err();
            assert!(err.is_instance_of::<PyValueError>(py), "{err}");
        });
    }

    #[test]
    fn handle_one_serves_one_request_then_closes_and_times_out_without_one() {
        with_python(|py| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let engine = engine(py, listener.as_raw_fd(), &[]).unwrap();
            let served: bool = engine
                .call_method1("handle_one", (0.05,))
                .unwrap()
                .extract()
                .unwrap();
            assert!(!served, "no client came");

            let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            client
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            client
                .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            let served: bool = engine
                .call_method1("handle_one", (5.0,))
                .unwrap()
                .extract()
                .unwrap();
            assert!(served);
            let mut got = String::new();
            client.read_to_string(&mut got).unwrap();
            assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{got}");
            assert!(got.contains("\r\nServer: engine-test/1\r\n"), "{got}");
            assert!(
                got.contains("\r\nConnection: close\r\n"),
                "one request per call: {got}"
            );
            assert!(got.ends_with("\r\n\r\nengine-test/1"), "{got}");
        });
    }

    #[test]
    fn a_stop_asked_for_before_serve_forever_holds_for_it() {
        with_python(|py| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let at_once = engine(py, listener.as_raw_fd(), &[]).unwrap();
            at_once.call_method0("stop").unwrap();
            let start = Instant::now();
            at_once.call_method0("serve_forever").unwrap();
            assert!(start.elapsed() < Duration::from_secs(2));
            // A graceful stop with nothing to drain returns as soon.
            let graceful = engine(py, listener.as_raw_fd(), &[]).unwrap();
            graceful.call_method1("stop", (30.0,)).unwrap();
            let start = Instant::now();
            graceful.call_method0("serve_forever").unwrap();
            assert!(start.elapsed() < Duration::from_secs(2));
        });
    }
}
