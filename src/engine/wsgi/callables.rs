//! The objects the application holds during a request: `wsgi.input`, `start_response` and the
//! `write` callable it returns. Each refers to the request's [`Exchange`]; socket I/O runs with
//! the GIL released.

use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::exceptions::{PyAssertionError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};

use crate::engine::wsgi::exchange::Exchange;
use crate::engine::wsgi::response_head::StartedHead;
use crate::engine::wsgi::scoreboard;
use crate::headers::Headers;
use crate::pep3333::latin1::is_latin1;
use crate::pep3333::start_response::reraise;
use crate::pep3333::start_response::{check_arguments, check_status, convert_titled};

pub type Shared = Arc<Mutex<Exchange>>;

/// The OSError subclass Python itself would raise (ConnectionResetError for a client gone, ...),
/// so that the application, and handle_error(), can tell a vanished client from a failure.
fn io_error(e: std::io::Error) -> PyErr {
    PyErr::from(e)
}

/// What `read` (a method of the exchange) gives of the body, as bytes; the GIL released while
/// it reads.
fn body_bytes<'py>(
    py: Python<'py>,
    exchange: &Shared,
    read: impl FnOnce(&mut Exchange) -> std::io::Result<Vec<u8>> + Send,
) -> PyResult<Bound<'py, PyBytes>> {
    let exchange = exchange.clone();
    // Waiting for the client is no time of the application's (see engine/scoreboard.rs).
    scoreboard::out_of_application();
    let data = py.detach(move || read(&mut exchange.lock()));
    scoreboard::progress();
    Ok(PyBytes::new(py, &data.map_err(io_error)?))
}

/// A negative or None size means "everything", as for file objects.
fn size_limit(size: Option<isize>) -> Option<usize> {
    size.and_then(|n| usize::try_from(n).ok())
}

/// The request body (`wsgi.input`): read, readline, readlines and iteration, never past the end
/// of the body. `Expect: 100-continue` is answered on the first read.
#[pyclass(module = "wsgiref_rs._native", name = "Input")]
pub struct Input {
    pub exchange: Shared,
}

#[pymethods]
impl Input {
    /// Read up to size bytes of the body (all of it when size is negative or None).
    ///
    /// Releases the GIL while it waits for the socket.
    #[pyo3(signature = (size=-1), text_signature = "(self, size=-1)")]
    fn read<'py>(&self, py: Python<'py>, size: Option<isize>) -> PyResult<Bound<'py, PyBytes>> {
        if let Some(bytes) = read_in_place(py, &self.exchange, size_limit(size))? {
            return Ok(bytes);
        }
        body_bytes(py, &self.exchange, |x| x.read(size_limit(size)))
    }

    /// Read one line of the body, at most size bytes.
    ///
    /// Releases the GIL while it waits for the socket.
    #[pyo3(signature = (size=-1), text_signature = "(self, size=-1)")]
    fn readline<'py>(&self, py: Python<'py>, size: Option<isize>) -> PyResult<Bound<'py, PyBytes>> {
        body_bytes(py, &self.exchange, |x| x.readline(size_limit(size)))
    }

    /// Read the remaining lines of the body (stopping once hint bytes were read, if given).
    ///
    /// Releases the GIL while it waits for the socket.
    #[pyo3(signature = (hint=-1), text_signature = "(self, hint=-1)")]
    fn readlines<'py>(&self, py: Python<'py>, hint: Option<isize>) -> PyResult<Bound<'py, PyList>> {
        let hint = size_limit(hint).filter(|&h| h > 0);
        let lines = PyList::empty(py);
        let mut total = 0;
        loop {
            let line = self.readline(py, None)?;
            if line.as_bytes().is_empty() {
                return Ok(lines);
            }
            total += line.as_bytes().len();
            lines.append(line)?;
            if hint.is_some_and(|h| total >= h) {
                return Ok(lines);
            }
        }
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// The next line of the body.
    ///
    /// Releases the GIL while it waits for the socket.
    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let line = self.readline(py, None)?;
        Ok((!line.as_bytes().is_empty()).then_some(line))
    }
}

/// Below this many bytes a read goes through a buffer: a bytes object made ahead costs more.
const IN_PLACE_MIN: usize = 16 * 1024;

/// `read(n)` of a body framed by its length, received straight into the bytes object it returns
/// (one copy less than through a buffer). None when that does not apply: a small or unbounded
/// read, or a chunked body.
fn read_in_place<'py>(
    py: Python<'py>,
    exchange: &Shared,
    limit: Option<usize>,
) -> PyResult<Option<Bound<'py, PyBytes>>> {
    let Some(limit) = limit else {
        return Ok(None);
    };
    let left = exchange.lock().length_left();
    let Some(left) = left else {
        return Ok(None);
    };
    let want = limit.min(usize::try_from(left).unwrap_or(usize::MAX));
    if want < IN_PLACE_MIN {
        return Ok(None);
    }
    let len = pyo3::ffi::Py_ssize_t::try_from(want)
        .map_err(|_| pyo3::exceptions::PyOverflowError::new_err("read size too large"))?;
    // SAFETY: a new bytes object of `len` bytes, uninitialised, that nothing else can see until
    // we return it; its buffer stays valid while we hold it, GIL or not.
    let raw = unsafe { pyo3::ffi::PyBytes_FromStringAndSize(std::ptr::null(), len) };
    if raw.is_null() {
        return Err(PyErr::fetch(py));
    }
    // SAFETY: `raw` is a bytes object we own; its buffer is `want` bytes long.
    let (ptr, shared) = (
        unsafe { pyo3::ffi::PyBytes_AsString(raw) } as usize,
        exchange.clone(),
    );
    scoreboard::out_of_application();
    let filled = py.detach(move || {
        // SAFETY: the buffer of the bytes object above, written only here, while no Python code
        // can reach the object.
        let dst = unsafe { std::slice::from_raw_parts_mut(ptr as *mut u8, want) };
        shared.lock().read_into(dst)
    });
    scoreboard::progress();
    let filled = match filled {
        Ok(n) => n,
        Err(e) => {
            // SAFETY: we own the only reference.
            unsafe { pyo3::ffi::Py_DecRef(raw) };
            return Err(io_error(e));
        }
    };
    // SAFETY: an owned reference to a bytes object.
    let bytes = unsafe { Bound::from_owned_ptr(py, raw) }.cast_into::<PyBytes>()?;
    if filled < want {
        // The body ended early (want never exceeds what is left, so this is not expected): a
        // bytes object of the right length.
        return Ok(Some(PyBytes::new(py, &bytes.as_bytes()[..filled])));
    }
    Ok(Some(bytes))
}

/// The `start_response` callable given to the application.
#[pyclass(module = "wsgiref_rs._native", name = "StartResponse")]
pub struct StartResponse {
    pub exchange: Shared,
    /// The `write` callable every call returns.
    pub write: Py<Write>,
}

#[pymethods]
impl StartResponse {
    /// 'start_response()' callable as specified by PEP 3333, with the standard library's checks.
    ///
    /// Holds the GIL (no I/O).
    #[pyo3(signature = (status, headers, exc_info=None))]
    fn __call__<'py>(
        &self,
        py: Python<'py>,
        status: &Bound<'py, PyAny>,
        headers: &Bound<'py, PyAny>,
        exc_info: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Py<Write>> {
        let mut head = {
            let mut exchange = self.exchange.lock();
            match exc_info {
                Some(info) if info.is_truthy()? => {
                    if exchange.response.headers_sent {
                        // Python code runs to make the exception: not under the lock.
                        drop(exchange);
                        return Err(reraise(py, info));
                    }
                }
                _ => {
                    if exchange.response.head.is_started() {
                        return Err(PyAssertionError::new_err("Headers already set!"));
                    }
                }
            }
            // The connection's buffer, unless a head started before must stay should the
            // checks below fail.
            if exchange.response.head.is_started() {
                StartedHead::default()
            } else {
                std::mem::take(&mut exchange.response.head)
            }
        };
        if !crate::engine::wsgi::response_head::accepted(status, headers, &mut head) {
            match checked(py, status, headers) {
                Ok((status, pairs)) => {
                    head.begin(&status);
                    for (name, value) in &pairs {
                        head.push(name, value);
                    }
                    if !is_latin1(&status)
                        || pairs.iter().any(|(n, v)| !is_latin1(n) || !is_latin1(v))
                    {
                        head.unencodable = Some(Box::new((status, pairs)));
                    }
                }
                Err(e) => {
                    let mut exchange = self.exchange.lock();
                    if !exchange.response.head.is_started() {
                        head.reset();
                        exchange.response.head = head;
                    }
                    return Err(e);
                }
            }
        }
        self.exchange.lock().response.head = head;
        Ok(self.write.clone_ref(py))
    }
}

/// The UnicodeEncodeError the standard library's handler raises when it writes a head Latin-1
/// cannot encode, when the started response has one. The head then counts as sent (nothing of it
/// goes out) and the connection closes, as there.
pub fn unencodable_head(py: Python<'_>, exchange: &Shared) -> PyResult<()> {
    let (status, headers) = {
        let mut x = exchange.lock();
        if x.response.headers_sent {
            return Ok(());
        }
        let Some(given) = x.response.head.unencodable.as_deref().cloned() else {
            return Ok(());
        };
        x.response.headers_sent = true;
        x.broken = true;
        x.response.keep_alive = false;
        given
    };
    // The same text the stdlib encodes: the status line, then the header block.
    let mut block = String::new();
    for (name, value) in &headers {
        block.push_str(&format!("{name}: {value}\r\n"));
    }
    block.push_str("\r\n");
    for text in [format!("HTTP/1.0 {status}\r\n"), block] {
        PyString::new(py, &text).call_method1(pyo3::intern!(py, "encode"), ("iso-8859-1",))?;
    }
    Ok(())
}

/// The standard path: the standard library's checks, in its order, with its errors.
fn checked(
    py: Python<'_>,
    status: &Bound<'_, PyAny>,
    headers: &Bound<'_, PyAny>,
) -> PyResult<(String, Vec<(String, String)>)> {
    // The stdlib stores Headers(headers) first: its type checks come before ours.
    py.get_type::<Headers>().call1((headers,))?;
    check_arguments(py, status, headers, &convert_titled, &check_status)?;
    let status: String = status.cast::<PyString>()?.to_str()?.to_owned();
    let mut pairs = Vec::new();
    for item in headers.try_iter()? {
        let (name, value) = crate::pyhelpers::unpack_pair(&item?)?;
        pairs.push((name.extract::<String>()?, value.extract::<String>()?));
    }
    Ok((status, pairs))
}

/// The `write` callable `start_response` returns.
#[pyclass(module = "wsgiref_rs._native", name = "Write")]
pub struct Write {
    pub exchange: Shared,
}

#[pymethods]
impl Write {
    /// 'write()' callable as specified by PEP 3333: sends data at once.
    ///
    /// Releases the GIL while it writes to the socket.
    fn __call__(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let Ok(bytes) = data.cast_exact::<PyBytes>() else {
            return Err(PyAssertionError::new_err(
                "write() argument must be a bytes instance",
            ));
        };
        send(py, &self.exchange, bytes, false)
    }
}

/// Sends one chunk of the response body with the GIL released.
pub fn send(
    py: Python<'_>,
    exchange: &Shared,
    data: &Bound<'_, PyBytes>,
    one_chunk: bool,
) -> PyResult<()> {
    if !exchange.lock().response.head.is_started() {
        return Err(PyAssertionError::new_err("write() before start_response()"));
    }
    unencodable_head(py, exchange)?;
    let bytes = data.as_bytes();
    let sent = {
        let mut x = exchange.lock();
        // A small whole response is only copied to the connection's `out`: no syscall, so the
        // GIL stays, and the event loop writes it once the GIL is gone.
        x.defers(bytes.len(), one_chunk)
            .then(|| x.send(bytes, one_chunk))
    };
    let (ptr, len) = (bytes.as_ptr() as usize, bytes.len());
    let exchange = exchange.clone();
    let sent = sent.unwrap_or_else(|| {
        // Sending to the client is no time of the application's.
        scoreboard::out_of_application();
        let sent = py.detach(move || {
            // SAFETY: a bytes object is immutable, and the caller's `data` reference keeps this one
            // alive until we return, so its buffer stays valid and unchanged without the GIL.
            let data = unsafe { std::slice::from_raw_parts(ptr as *const u8, len) };
            exchange.lock().send(data, one_chunk)
        });
        scoreboard::progress();
        sent
    });
    sent.map_err(|e| match e.kind() {
        std::io::ErrorKind::NotConnected => {
            PyValueError::new_err("write() after the response was finished")
        }
        _ => io_error(e),
    })
}

#[cfg(test)]
mod tests {
    use std::ffi::CStr;
    use std::io::Write as _;
    use std::os::unix::net::UnixStream;

    use pyo3::types::PyDict;

    use super::*;
    use crate::engine::wsgi::exchange::testing::{self, exchange};
    use crate::engine::wsgi::settings::testing::with_python;

    fn shared(py: Python<'_>, request: &[u8]) -> (Shared, UnixStream) {
        let (x, client) = exchange(py, request);
        (Arc::new(Mutex::new(x)), client)
    }

    /// Runs `code` with `i` (wsgi.input), `sr` (start_response) and `w` (its write) of the
    /// exchange, and `fails(kind, call, *args)`, which returns the `kind` exception `call(*args)`
    /// raised (and fails when it raised none).
    fn run(py: Python<'_>, exchange: &Shared, code: &CStr) -> PyResult<()> {
        let write = Py::new(
            py,
            Write {
                exchange: exchange.clone(),
            },
        )?;
        let start = StartResponse {
            exchange: exchange.clone(),
            write: write.clone_ref(py),
        };
        let input = Input {
            exchange: exchange.clone(),
        };
        let locals = PyDict::new(py);
        locals.set_item("i", Py::new(py, input)?)?;
        locals.set_item("sr", Py::new(py, start)?)?;
        locals.set_item("w", write)?;
        py.run(
            cr#"
def fails(kind, call, *args):
    try:
        call(*args)
    except kind as e:
        return e
    raise AssertionError(f"{call!r}{args!r} raised no {kind.__name__}")
"#,
            None,
            Some(&locals),
        )?;
        py.run(code, None, Some(&locals))
    }

    /// Runs `code` (as [`run`] does) on the exchange of a GET request, then `check`s it.
    fn on_a_get(code: &CStr, check: impl FnOnce(&Shared, &mut UnixStream)) {
        with_python(|py| {
            let (exchange, mut client) = shared(py, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            run(py, &exchange, code).unwrap();
            check(&exchange, &mut client);
        });
    }

    fn wire(exchange: &Shared, client: &mut UnixStream) -> Vec<u8> {
        testing::wire(&mut exchange.lock(), client)
    }

    #[test]
    fn size_limits_as_for_file_objects() {
        assert_eq!(size_limit(None), None);
        assert_eq!(size_limit(Some(-1)), None);
        assert_eq!(size_limit(Some(-7)), None);
        assert_eq!(size_limit(Some(0)), Some(0));
        assert_eq!(size_limit(Some(5)), Some(5));
    }

    #[test]
    fn wsgi_input_reads_reads_lines_and_iterates() {
        with_python(|py| {
            let body = b"a\nbb\nccc\ndddd";
            let post = format!(
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            let (exchange, _client) = shared(py, &[post.as_bytes(), body].concat());
            run(
                py,
                &exchange,
                cr#"
assert i.readline() == b"a\n"
assert i.readline(1) == b"b"
assert i.readline(None) == b"b\n"
assert i.readlines(2) == [b"ccc\n"]
assert i.read(2) == b"dd"
assert list(i) == [b"dd"]
assert i.read() == b"" and i.read(None) == b"" and i.readlines() == []
"#,
            )
            .unwrap();
        });
    }

    #[test]
    fn a_large_read_of_a_length_body_is_whole() {
        with_python(|py| {
            let body: Vec<u8> = (0..50_000u32).map(|n| (n % 251) as u8).collect();
            let post = format!(
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            let (exchange, mut client) = shared(py, post.as_bytes());
            client.write_all(&body).unwrap();
            let locals = PyDict::new(py);
            locals.set_item("want", PyBytes::new(py, &body)).unwrap();
            let input = Py::new(
                py,
                Input {
                    exchange: exchange.clone(),
                },
            )
            .unwrap();
            locals.set_item("i", input).unwrap();
            py.run(
                cr#"
first = i.read(20000)
rest = i.read(100000)
assert first == want[:20000], len(first)
assert rest == want[20000:], len(rest)
assert i.read(20000) == b""
"#,
                None,
                Some(&locals),
            )
            .unwrap();
        });
    }

    #[test]
    fn start_response_then_write_streams_the_body() {
        on_a_get(
            cr#"
assert sr("200 OK", [("Content-Type", "text/plain"), ("Date", "today")]) is w
w(b"hello")
w(b"")
assert str(fails(AssertionError, sr, "500 Oops", [])) == "Headers already set!"
assert str(fails(AssertionError, w, "text")) == "write() argument must be a bytes instance"
"#,
            |exchange, client| {
                exchange.lock().finish().unwrap();
                assert_eq!(
                    wire(exchange, client),
                    b"HTTP/1.1 200 OK\r\nServer: test-server/1\r\nContent-Type: text/plain\r\n\
                  Date: today\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                );
            },
        );
    }

    #[test]
    fn exc_info_replaces_a_head_not_sent_and_reraises_once_it_is() {
        on_a_get(
            cr#"
import sys
sr("200 OK", [("Date", "today")])
try:
    raise KeyError("first")
except KeyError:
    sr("500 Error", [("Date", "today")], sys.exc_info())
w(b"sorry")
try:
    raise ValueError("boom")
except ValueError:
    assert str(fails(ValueError, sr, "502 Again", [], sys.exc_info())) == "boom"
"#,
            |exchange, client| {
                let got = wire(exchange, client);
                assert!(got.starts_with(b"HTTP/1.1 500 Error\r\n"), "{got:?}");
                assert!(got.ends_with(b"5\r\nsorry\r\n"), "{got:?}");
            },
        );
    }

    #[test]
    fn the_standard_checks_refuse_a_bad_status_and_leave_the_response_unstarted() {
        on_a_get(
            cr#"
for status in ["200", b"200 OK", 200]:
    fails(AssertionError, sr, status, [])
assert str(fails(AssertionError, w, b"x")) == "write() before start_response()"
sr("200 OK", [])
"#,
            |exchange, _client| {
                assert!(exchange.lock().response.head.is_started());
            },
        );
    }

    #[test]
    fn a_head_latin1_cannot_encode_raises_unicode_encode_error_and_closes() {
        on_a_get(
            cr#"
sr("200 OK", [("X-Name", "\u0100")])
assert fails(UnicodeEncodeError, w, b"x").encoding in ("latin-1", "iso8859-1")
"#,
            |exchange, client| {
                let x = exchange.lock();
                assert!(x.response.headers_sent && x.broken && !x.response.keep_alive);
                drop(x);
                assert_eq!(wire(exchange, client), b"");
            },
        );
    }

    #[test]
    fn a_write_after_the_response_is_finished_is_a_value_error() {
        with_python(|py| {
            let (exchange, _client) = shared(py, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            run(py, &exchange, c"sr('200 OK', [])").unwrap();
            {
                let mut x = exchange.lock();
                x.finish().unwrap();
                x.take_conn().unwrap();
            }
            run(
                py,
                &exchange,
                cr#"
assert str(fails(ValueError, w, b"late")) == "write() after the response was finished"
assert i.read() == b""
"#,
            )
            .unwrap();
        });
    }
}
