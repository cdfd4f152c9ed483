//! Serving one request on a connection: environ, the application, its result, the response.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use pyo3::exceptions::PyAssertionError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::engine::http::chunked::ChunkError;
use crate::engine::http::forwarded::{self, Forwarded};
use crate::engine::http::parse::{parse_head, BodyFraming, ParseError, RequestHead};
use crate::engine::net::conn::Conn;
use crate::engine::net::io::Deadline;
use crate::engine::net::peer::PeerEnviron;
use crate::engine::wsgi::callables::{send, Shared};
use crate::engine::wsgi::environ;
use crate::engine::wsgi::exchange::Exchange;
use crate::engine::wsgi::file_response;
use crate::engine::wsgi::metrics;
use crate::engine::wsgi::recycled::RequestObjects;
use crate::engine::wsgi::scoreboard;
use crate::engine::wsgi::settings::Settings;
use crate::pep3333::errors::{client_gone, ERROR_BODY};

/// The most of an unread request body we read and drop to keep the connection.
const DISCARD_LIMIT: usize = 1024 * 1024;

/// What serving gives back: the connection, with the responses it holds back in `out` still to
/// be written ([`Conn::send_out`]) and `closing` set when it cannot carry another request; None
/// when it is gone already; or an exception that must stop the server (see [`serve`]).
pub type Served = PyResult<Option<Box<Conn>>>;

/// Serves the request `head` and then any complete requests pipelined behind it.
pub fn serve_pipelined(
    py: Python<'_>,
    settings: &Arc<Settings>,
    conn: Box<Conn>,
    head: RequestHead,
) -> Served {
    let Some(mut conn) = serve(py, settings, conn, head)? else {
        return Ok(None);
    };
    loop {
        if conn.closing || conn.file.is_some() || conn.pending().is_empty() {
            return Ok(Some(conn));
        }
        match parse_head(conn.pending(), &settings.limits) {
            Ok(None) => return Ok(Some(conn)),
            Ok(Some((head, len))) => {
                conn.consume(len);
                let has_body = !matches!(head.body, BodyFraming::None | BodyFraming::Length(0));
                if has_body && !conn.out.is_empty() {
                    // The answers so far go out before this request's body is read: a client
                    // may wait for them before it sends the body.
                    conn = match py.detach(|| conn.send_out(settings.timeout)) {
                        Some(conn) => conn,
                        None => return Ok(None),
                    };
                }
                let Some(back) = serve(py, settings, conn, head)? else {
                    return Ok(None);
                };
                conn = back;
            }
            Err(e) => {
                py.detach(|| refuse(&mut conn, e));
                return Ok(None);
            }
        }
    }
}

fn reason(code: u16) -> &'static str {
    match code {
        400 => "Bad Request",
        413 => "Content Too Large",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    }
}

/// Answers a request that could not be parsed, after the responses `conn` holds; the connection
/// is closed after it. Call without the GIL.
pub fn refuse(conn: &mut Conn, err: ParseError) {
    let code = err.status();
    log::info!("refused a request from {}: {code} {err}", conn.peer);
    let body = format!("{err}\n");
    let head = format!(
        "HTTP/1.1 {code} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reason(code),
        body.len()
    );
    let deadline = Deadline::after(Duration::from_secs(2));
    let _ = conn.write(&[head.as_bytes(), body.as_bytes()], deadline);
}

/// Answers a request whose chunked body was refused with the error's status (400, 413, 431),
/// unless a response has gone out already, and closes the connection after it. Call without the
/// GIL.
fn refuse_body(x: &mut Exchange, err: ChunkError) {
    x.response.keep_alive = false;
    if x.response.headers_sent {
        x.broken = true;
        return;
    }
    let code = err.status();
    if let Some(conn) = &x.conn {
        log::info!("refused a request body from {}: {code} {err}", conn.peer);
    }
    x.reset_response();
    x.response.head.begin(&format!("{code} {}", reason(code)));
    x.response
        .head
        .push("Content-Type", "text/plain; charset=utf-8");
    let _ = x.send(format!("{err}\n").as_bytes(), true);
}

/// Serves one request. Whatever the application raises is its own error (logged, the 500 page);
/// an exception that is no `Exception` from our own calls around it (KeyboardInterrupt when
/// Ctrl-C lands while the access line is written, SystemExit) stops the server, as it stops
/// `socketserver`'s loop.
pub fn serve(
    py: Python<'_>,
    settings: &Arc<Settings>,
    mut conn: Box<Conn>,
    head: RequestHead,
) -> Served {
    let peer = conn.peer;
    let counting = settings.scoreboard.as_ref().is_some_and(|b| b.counting());
    // Only the metrics and a log format that shows the request's duration need the time it
    // began.
    let began = (settings.log_details || counting).then(Instant::now);
    scoreboard::request_begins(&head, &peer);
    let remote = conn
        .remote
        .take()
        .unwrap_or_else(|| PeerEnviron::new(py, &peer, conn.stream.tls()));
    let forwarded = (!settings.forwarded.is_empty() && settings.forwarded.trusts(peer.ip()))
        .then(|| forwarded::resolve(&settings.forwarded, &head.headers));
    // client_address for the access log and REMOTE_HOST: the client a trusted proxy named.
    let client = || match forwarded.and_then(|f| f.addr) {
        Some(ip) => (ip.to_string(), peer.pair().1),
        None => peer.pair(),
    };
    let exchange: Shared = Arc::new(Mutex::new(Exchange::new(
        conn,
        &head,
        &settings.limits,
        settings.timeout,
        settings.server.clone(),
    )));
    let refused = exchange.lock().refused_body();
    if let Some(problem) = refused {
        // A chunked body already known to be refused (malformed, or over the limit): its
        // status and close; the app is not called.
        let refused = exchange.clone();
        py.detach(move || refuse_body(&mut refused.lock(), problem));
    } else {
        match settings.spare_objects.take(py, &exchange) {
            Ok(objects) => {
                let ran = run_app(
                    py,
                    settings,
                    &exchange,
                    &objects,
                    &head,
                    &remote,
                    forwarded.as_ref(),
                    client,
                );
                scoreboard::out_of_application();
                if let Err(err) = ran {
                    handle_error(py, &exchange, err);
                }
                // After the error's traceback, which may refer to them, is gone.
                settings.spare_objects.give_back(py, objects);
            }
            Err(err) => handle_error(py, &exchange, err),
        }
    }
    let finished = exchange.clone();
    let logs = settings.log.is_some();
    let details = logs && settings.log_details;
    let finish = move || {
        let mut x = finished.lock();
        let done = x.finish().is_ok()
            && x.response.keep_alive
            && !x.broken
            && x.discard_body(DISCARD_LIMIT);
        let code = if logs {
            x.response.head.log_code()
        } else {
            String::new()
        };
        // 0: no response was begun (the client went away): not counted.
        let status = match counting && x.response.head.is_started() {
            true => x.response.head.code(),
            false => 0,
        };
        // The response's header lines, for a log format that names them.
        let lines = if details {
            x.response.head.lines().to_vec()
        } else {
            Vec::new()
        };
        let conn = x.take_conn().map(|mut conn| {
            conn.closing = !done;
            conn
        });
        (conn, (code, lines, status), x.response.bytes_sent)
    };
    // The GIL goes only when finishing has socket I/O to do (a last chunk, a head, a body to
    // read and drop); a response sent whole needs none.
    let needs_io = exchange.lock().finish_needs_io();
    let (mut conn, (code, response_lines, status), size) = if needs_io {
        py.detach(finish)
    } else {
        finish()
    };
    match (status, began) {
        (0, _) | (_, None) => scoreboard::request_ends(None),
        (status, Some(began)) => {
            let (received, sent) = conn.as_mut().map_or((0, 0), |c| c.take_counts());
            scoreboard::request_ends(Some(&metrics::Served {
                method: &head.method,
                status,
                elapsed: began.elapsed(),
                received,
                sent,
            }));
        }
    }
    if let Some(log) = &settings.log {
        let line = format!(
            "{} {} {}",
            head.method,
            String::from_utf8_lossy(&head.target),
            head.version.as_str()
        );
        let logged = if settings.log_details {
            let details = log_details(py, &head, &response_lines, began)?;
            log.call1(py, (line, code, size, client(), details))
        } else {
            log.call1(py, (line, code, size, client()))
        };
        if let Err(e) = logged {
            if !e.is_instance_of::<pyo3::exceptions::PyException>(py) {
                return Err(e);
            }
            e.print(py);
        }
    }
    Ok(conn.map(|mut conn| {
        conn.remote = Some(remote);
        conn
    }))
}

/// What a custom access-log format may name beyond the Common Log Format's: `(microseconds
/// the request took, its header fields, the response's header fields)`, the fields as
/// `(name, value)` pairs of `str` (Latin-1), in order.
fn log_details<'py>(
    py: Python<'py>,
    head: &RequestHead,
    response_lines: &[u8],
    began: Option<Instant>,
) -> PyResult<Bound<'py, PyTuple>> {
    let latin1 = |bytes: &[u8]| -> String { bytes.iter().map(|&b| char::from(b)).collect() };
    let request = PyList::empty(py);
    for (name, value) in &head.headers {
        request.append((latin1(name), latin1(value)))?;
    }
    // Our own lines, "Name: value\r\n" each (response_head.rs writes them).
    let response = PyList::empty(py);
    for line in response_lines.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            let value = line[colon + 1..]
                .strip_prefix(b" ")
                .unwrap_or(&line[colon + 1..]);
            response.append((latin1(&line[..colon]), latin1(value)))?;
        }
    }
    let micros = began.map_or(0, |t| {
        u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX)
    });
    (micros, request, response).into_pyobject(py)
}

#[allow(clippy::too_many_arguments)]
fn run_app(
    py: Python<'_>,
    settings: &Settings,
    exchange: &Shared,
    objects: &RequestObjects,
    head: &RequestHead,
    remote: &PeerEnviron,
    forwarded: Option<&Forwarded>,
    client: impl Fn() -> (String, u16),
) -> PyResult<()> {
    let input = objects.input.bind(py).clone().into_any();
    let environ = environ::build(
        py,
        settings.base_environ.bind(py),
        head,
        remote,
        forwarded,
        input,
        settings.allow_underscores,
        settings.request_keys.bind(py),
    )?;
    if let Some(remote_host) = &settings.remote_host {
        let host = remote_host.call1(py, client())?;
        if !host.is_none(py) {
            environ.set_item(pyo3::intern!(py, "REMOTE_HOST"), host)?;
        }
    }
    let start_response = objects.start_response.bind(py);
    let result = settings.app.current(py)?.call1((environ, start_response))?;
    // An empty result: the head alone goes out, when finished, and must be encodable too.
    let sent = send_result(py, exchange, &result)
        .and_then(|()| crate::engine::wsgi::callables::unencodable_head(py, exchange));
    // The result's close() is always called, whatever happened while sending it.
    // (A list or tuple has none: skip the failed attribute lookup and its exception.)
    if result.is_exact_instance_of::<PyList>() || result.is_exact_instance_of::<PyTuple>() {
        return sent;
    }
    let closed = match result.getattr_opt(pyo3::intern!(py, "close")) {
        Ok(Some(close)) => close.call0().map(drop),
        Ok(None) => Ok(()),
        Err(e) => Err(e),
    };
    sent.and(closed)
}

fn chunk<'a, 'py>(item: &'a Bound<'py, PyAny>) -> PyResult<&'a Bound<'py, PyBytes>> {
    item.cast_exact::<PyBytes>()
        .map_err(|_| PyAssertionError::new_err("write() argument must be a bytes instance"))
}

fn send_result(py: Python<'_>, exchange: &Shared, result: &Bound<'_, PyAny>) -> PyResult<()> {
    let started = {
        let x = exchange.lock();
        x.response.head.is_started() && !x.response.headers_sent
    };
    if started {
        if let Some((fd, offset, len)) = file_response::regular_file(result) {
            crate::engine::wsgi::callables::unencodable_head(py, exchange)?;
            scoreboard::out_of_application();
            return file_response::send(py, exchange, fd, offset, len);
        }
    }
    // The stdlib frames a result of one item by its length; so do we.
    let one_item = result.len().map(|n| n == 1).unwrap_or(false);
    for (i, item) in result.try_iter()?.enumerate() {
        send(py, exchange, chunk(&item?)?, one_item && i == 0)?;
    }
    Ok(())
}

/// As `BaseHandler.handle_error`: log the traceback, then the error page if nothing was sent,
/// else close the connection. A client that went away is no error of the application's.
fn handle_error(py: Python<'_>, exchange: &Shared, err: PyErr) {
    if client_gone(py, &err) {
        exchange.lock().response.keep_alive = false;
        return;
    }
    let refused = exchange.lock().refused_body();
    if let Some(problem) = refused {
        // The application failed reading a body we refused: the answer is the refusal's.
        let exchange = exchange.clone();
        py.detach(move || refuse_body(&mut exchange.lock(), problem));
        return;
    }
    let logged = py.import("traceback").and_then(|tb| {
        let stderr = py.import("sys")?.getattr("stderr")?;
        tb.call_method1(
            "print_exception",
            (
                err.get_type(py),
                err.value(py),
                err.traceback(py),
                py.None(),
                &stderr,
            ),
        )?;
        stderr.call_method0("flush")
    });
    if let Err(e) = logged {
        e.print(py);
    }
    let exchange = exchange.clone();
    py.detach(move || {
        let mut x = exchange.lock();
        if x.response.headers_sent {
            x.response.keep_alive = false;
            x.broken = true;
            return;
        }
        x.reset_response();
        x.response.head.begin("500 Internal Server Error");
        x.response.head.push("Content-Type", "text/plain");
        x.response
            .head
            .push("Content-Length", &ERROR_BODY.len().to_string());
        if x.send(ERROR_BODY, true).is_err() {
            x.response.keep_alive = false;
        }
    });
}

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixStream;

    use super::*;
    use crate::engine::net::conn::testing::{pair, received};
    use crate::engine::wsgi::settings::testing::{python_app, settings, with_python};

    const APP: &std::ffi::CStr = cr#"
def app(environ, start_response):
    body = environ["wsgi.input"].read()
    if environ["PATH_INFO"] == "/fail":
        1 / 0
    start_response("200 OK", [("Content-Type", "text/plain"), ("Date", "today")])
    if environ["PATH_INFO"] == "/stream":
        def chunks():
            yield b"a"
            if environ.get("QUERY_STRING") == "fail":
                raise ValueError("mid-body")
            yield b"b"
        return chunks()
    return [environ["REQUEST_METHOD"].encode() + b" " + environ["PATH_INFO"].encode() + b" " + body]
"#;

    /// Serves `bytes` (a request head, and whatever follows it) as the engine would, and gives
    /// what serving gave back and the client.
    fn serve_bytes(py: Python<'_>, settings: &Arc<Settings>, bytes: &[u8]) -> (Served, UnixStream) {
        let (mut conn, client) = pair();
        conn.buf.extend_from_slice(bytes);
        let (head, len) = parse_head(conn.pending(), &settings.limits)
            .unwrap()
            .unwrap();
        conn.consume(len);
        (serve_pipelined(py, settings, conn, head), client)
    }

    fn ok(body: &str) -> String {
        format!(
            "HTTP/1.1 200 OK\r\nServer: test-server/1\r\nContent-Type: text/plain\r\n\
             Date: today\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    /// Taken, before attaching to Python, by the tests that swap `sys.stderr` for a buffer, so
    /// that no other test's traceback goes into theirs, nor theirs into the real one.
    static STDERR: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

    /// Runs `f` with `sys.stderr` a buffer, and gives what was written to it.
    fn capturing_stderr(f: impl for<'py> FnOnce(Python<'py>)) -> String {
        let _only_us = STDERR.lock();
        with_python(|py| {
            let sys = py.import("sys").unwrap();
            let stderr = sys.getattr("stderr").unwrap();
            let captured = py.import("io").unwrap().call_method0("StringIO").unwrap();
            sys.setattr("stderr", &captured).unwrap();
            f(py);
            sys.setattr("stderr", stderr).unwrap();
            captured
                .call_method0("getvalue")
                .unwrap()
                .extract()
                .unwrap()
        })
    }

    fn text(bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }

    #[test]
    fn a_request_is_answered_in_out_and_the_connection_kept() {
        with_python(|py| {
            let settings = settings(py, &python_app(py, APP));
            let post = b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
            let (served, mut client) = serve_bytes(py, &settings, post);
            let conn = served.unwrap().expect("kept");
            assert!(!conn.closing);
            assert_eq!(text(&conn.out), ok("POST /p abc"));
            assert_eq!(received(&mut client), b"", "written later, without the GIL");
        });
    }

    #[test]
    fn pipelined_requests_are_answered_in_order_and_earlier_answers_go_before_a_body_is_read() {
        with_python(|py| {
            let settings = settings(py, &python_app(py, APP));
            let requests = b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n\
                POST /3 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nxyGET /4 HTTP/1.1\r\nHost";
            let (served, mut client) = serve_bytes(py, &settings, requests);
            let conn = served.unwrap().expect("kept");
            assert_eq!(text(&received(&mut client)), ok("GET /1 ") + &ok("GET /2 "));
            assert_eq!(text(&conn.out), ok("POST /3 xy"));
            assert_eq!(
                conn.pending(),
                b"GET /4 HTTP/1.1\r\nHost",
                "an incomplete head waits"
            );
        });
    }

    #[test]
    fn an_application_error_is_logged_and_answered_with_the_error_page() {
        let mut out = String::new();
        let log = capturing_stderr(|py| {
            let settings = settings(py, &python_app(py, APP));
            let fail = b"GET /fail HTTP/1.1\r\nHost: x\r\n\r\n";
            let conn = serve_bytes(py, &settings, fail).0.unwrap().expect("kept");
            out = text(&conn.out);
        });
        assert!(log.contains("ZeroDivisionError"), "{log}");
        assert!(
            out.starts_with("HTTP/1.1 500 Internal Server Error\r\n"),
            "{out}"
        );
        assert!(
            out.ends_with(&format!("Content-Length: 59\r\n\r\n{}", text(ERROR_BODY))),
            "{out}"
        );
    }

    #[test]
    fn an_error_after_the_head_went_cuts_the_body_and_closes() {
        let log = capturing_stderr(|py| {
            let settings = settings(py, &python_app(py, APP));
            let (served, mut client) = serve_bytes(
                py,
                &settings,
                b"GET /stream?fail HTTP/1.1\r\nHost: x\r\n\r\n",
            );
            let conn = served.unwrap().expect("given back to be closed");
            assert!(conn.closing);
            let got = text(&received(&mut client));
            assert!(
                got.ends_with("Transfer-Encoding: chunked\r\n\r\n1\r\na\r\n"),
                "no last chunk: {got}"
            );

            let (served, mut client) =
                serve_bytes(py, &settings, b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
            assert!(!served.unwrap().unwrap().closing);
            let got = text(&received(&mut client));
            assert!(
                got.ends_with("\r\n\r\n1\r\na\r\n1\r\nb\r\n0\r\n\r\n"),
                "{got}"
            );
        });
        assert!(log.contains("ValueError: mid-body"), "{log}");
    }

    #[test]
    fn a_refused_chunked_body_is_answered_with_its_status_and_the_app_not_called() {
        with_python(|py| {
            let mut settings = settings(
                py,
                &python_app(py, c"def app(environ, start_response): raise SystemExit"),
            );
            Arc::get_mut(&mut settings)
                .unwrap()
                .limits
                .limit_request_body = Some(3);
            let head = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
            for (body, status) in [
                (&b"zz\r\n"[..], "400 Bad Request"),
                (b"5\r\nhello\r\n", "413 Content Too Large"),
            ] {
                let (served, mut client) = serve_bytes(py, &settings, &[&head[..], body].concat());
                let conn = served.unwrap().expect("given back to be closed");
                assert!(conn.closing);
                // Written at once: the body is not read whole.
                let out = text(&received(&mut client));
                assert!(out.starts_with(&format!("HTTP/1.1 {status}\r\n")), "{out}");
                assert!(out.contains("\r\nConnection: close\r\n"), "{out}");
            }
        });
    }

    #[test]
    fn a_client_gone_mid_response_is_no_error_of_the_application() {
        with_python(|py| {
            let app = python_app(
                py,
                cr#"
def app(environ, start_response):
    write = start_response("200 OK", [])
    write(b"x" * 1000)
    return []
"#,
            );
            let settings = settings(py, &app);
            let (mut conn, client) = pair();
            drop(client);
            conn.buf
                .extend_from_slice(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            let (head, len) = parse_head(conn.pending(), &settings.limits)
                .unwrap()
                .unwrap();
            conn.consume(len);
            let conn = serve(py, &settings, conn, head)
                .unwrap()
                .expect("given back");
            assert!(conn.closing);
            assert!(conn.out.is_empty(), "no error page");
        });
    }

    #[test]
    fn the_access_log_gets_each_request_and_may_stop_the_server() {
        with_python(|py| {
            let log = python_app(
                py,
                cr#"
entries = []
def app(line, code, size, client):
    if line.startswith("GET /stop"):
        raise KeyboardInterrupt
    entries.append((line, code, size, client))
"#,
            );
            let mut settings = settings(py, &python_app(py, APP));
            Arc::get_mut(&mut settings).unwrap().log = Some(log.clone().unbind());
            let (served, _client) =
                serve_bytes(py, &settings, b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
            assert!(served.unwrap().is_some());
            let logged = log
                .getattr("__globals__")
                .unwrap()
                .get_item("entries")
                .unwrap();
            assert_eq!(
                logged.to_string(),
                "[('GET /x HTTP/1.1', '200', 7, ('', 0))]"
            );
            let (served, _client) =
                serve_bytes(py, &settings, b"GET /stop HTTP/1.1\r\nHost: x\r\n\r\n");
            let err = served.err().expect("stops the server");
            assert!(err.is_instance_of::<pyo3::exceptions::PyKeyboardInterrupt>(py));
        });
    }

    #[test]
    fn an_unparsable_request_is_refused_with_its_status_and_reason() {
        let (mut conn, mut client) = pair();
        refuse(&mut conn, ParseError::MissingHost);
        let got = text(&received(&mut client));
        let body = format!("{}\n", ParseError::MissingHost);
        assert_eq!(
            got,
            format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        );
        for (code, reason_phrase) in [
            (400, "Bad Request"),
            (413, "Content Too Large"),
            (414, "URI Too Long"),
            (431, "Request Header Fields Too Large"),
            (501, "Not Implemented"),
            (505, "HTTP Version Not Supported"),
            (418, "Error"),
        ] {
            assert_eq!(reason(code), reason_phrase);
        }
    }
}
