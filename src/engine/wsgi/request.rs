//! Serving one request on a connection: environ, the application, its result, the response.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use pyo3::exceptions::{
    PyAssertionError, PyBrokenPipeError, PyConnectionAbortedError, PyConnectionResetError,
};
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
use crate::engine::wsgi::recycled::RequestObjects;
use crate::engine::wsgi::settings::Settings;

const ERROR_BODY: &[u8] = b"A server error occurred.  Please contact the administrator.";

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
    let remote = conn
        .remote
        .take()
        .unwrap_or_else(|| PeerEnviron::new(py, &peer));
    let forwarded = (!settings.forwarded.is_empty() && settings.forwarded.trusts(peer.ip()))
        .then(|| forwarded::resolve(&settings.forwarded, &head.headers));
    // client_address for the access log and REMOTE_HOST: the client a trusted proxy named.
    let client = || match forwarded.and_then(|f| f.addr) {
        Some(ip) => (ip.to_string(), peer.pair().1),
        None => peer.pair(),
    };
    let exchange: Shared = Arc::new(Mutex::new(Exchange::new(conn, &head, settings.clone())));
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
        let conn = x.take_conn().map(|mut conn| {
            conn.closing = !done;
            conn
        });
        (conn, code, x.response.bytes_sent)
    };
    // The GIL goes only when finishing has socket I/O to do (a last chunk, a head, a body to
    // read and drop); a response sent whole needs none.
    let needs_io = exchange.lock().finish_needs_io();
    let (conn, code, size) = if needs_io {
        py.detach(finish)
    } else {
        finish()
    };
    if let Some(log) = &settings.log {
        let line = format!(
            "{} {} {}",
            head.method,
            String::from_utf8_lossy(&head.target),
            head.version.as_str()
        );
        if let Err(e) = log.call1(py, (line, code, size, client())) {
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
    let gone = err.is_instance_of::<PyBrokenPipeError>(py)
        || err.is_instance_of::<PyConnectionResetError>(py)
        || err.is_instance_of::<PyConnectionAbortedError>(py);
    if gone {
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
