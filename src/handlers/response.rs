//! The response side: `start_response` and its checks, `write`, and the status line and headers.
//!
//! Output goes through the handler's `_write`. When that is `SimpleHandler`'s own, the pieces of
//! one step (status line, `Date`, `Server`, the header block and the first body chunk) are
//! gathered and handed to the stream in one `write()` call; when `_write` is overridden, it gets
//! exactly the calls CPython makes.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};

use super::dispatch::{Dispatch, Hook, Impl};
use super::simple;
use super::support::{attr, call_py, set_attr};
use crate::headers::Headers;
use crate::pep3333::date::http_date_now;
use crate::pep3333::latin1::push_latin1;
use crate::pep3333::start_response::{
    assertion, check_arguments, check_status, convert_titled, reraise,
};
use crate::pyhelpers::{debug_enabled, exact_str};

/// The largest body chunk copied in behind the headers rather than written on its own.
const GATHER_LIMIT: usize = 64 * 1024;

/// Where one step's output goes: gathered for `SimpleHandler`'s stream, or straight to `_write`.
struct Output<'a, 'py> {
    slf: &'a Bound<'py, PyAny>,
    d: Dispatch,
    pending: Vec<u8>,
}

impl<'a, 'py> Output<'a, 'py> {
    fn new(slf: &'a Bound<'py, PyAny>, d: Dispatch) -> Self {
        Output {
            slf,
            d,
            pending: Vec::new(),
        }
    }

    fn gathering(&self) -> bool {
        self.d.get(Hook::RawWrite) == Impl::Simple
    }

    fn push(&mut self, bytes: &[u8]) -> PyResult<()> {
        if self.gathering() {
            self.pending.extend_from_slice(bytes);
            Ok(())
        } else {
            self.slf
                .call_method1(
                    pyo3::intern!(self.slf.py(), "_write"),
                    (PyBytes::new(self.slf.py(), bytes),),
                )
                .map(drop)
        }
    }

    /// Passes on a bytes object the application gave us, without copying it when nothing is
    /// gathered before it.
    fn push_object(&mut self, data: &Bound<'py, PyAny>) -> PyResult<()> {
        if self.gathering() && !self.pending.is_empty() {
            // Small chunks ride along with the headers; big ones go on their own, uncopied.
            if let Ok(b) = data
                .cast::<PyBytes>()
                .map(|b| b.as_bytes())
                .ok()
                .filter(|b| b.len() <= GATHER_LIMIT)
                .ok_or(())
            {
                self.pending.extend_from_slice(b);
                return Ok(());
            }
        }
        self.flush()?;
        match self.d.get(Hook::RawWrite) {
            Impl::Simple => simple::write(self.slf, data),
            _ => self
                .slf
                .call_method1(pyo3::intern!(self.slf.py(), "_write"), (data,))
                .map(drop),
        }
    }

    /// Hands what was gathered to the stream. Called before any Python hook that could write.
    fn flush(&mut self) -> PyResult<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let bytes = std::mem::take(&mut self.pending);
        simple::write_bytes(self.slf, &bytes)
    }
}

/// Runs one output step. Whatever it gathered reaches the stream even when the step then fails,
/// as it would have in CPython, where each piece is written as soon as it is made.
fn with_output<'py>(
    slf: &Bound<'py, PyAny>,
    d: Dispatch,
    step: impl FnOnce(&mut Output<'_, 'py>) -> PyResult<()>,
) -> PyResult<()> {
    let mut out = Output::new(slf, d);
    let stepped = step(&mut out);
    let flushed = out.flush();
    stepped.and(flushed)
}

pub fn start_response<'py>(
    slf: &Bound<'py, PyAny>,
    d: Dispatch,
    status: &Bound<'py, PyAny>,
    headers: &Bound<'py, PyAny>,
    exc_info: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = slf.py();
    match exc_info {
        Some(info) if info.is_truthy()? => {
            if attr!(slf, "headers_sent")?.is_truthy()? {
                return Err(reraise(py, info));
            }
        }
        _ => {
            if !attr!(slf, "headers")?.is_none() {
                return Err(assertion("Headers already set!"));
            }
        }
    }
    set_attr!(slf, "status", status)?;
    let header_obj = attr!(slf, "headers_class")?.call1((headers,))?;
    set_attr!(slf, "headers", header_obj)?;
    let native_convert = d.native(Hook::ConvertStringType);
    let convert = |value: &Bound<'py, PyAny>, title: &'static str| -> PyResult<Bound<'py, PyAny>> {
        if native_convert {
            convert_titled(value, title)
        } else {
            slf.call_method1(pyo3::intern!(py, "_convert_string_type"), (value, title))
        }
    };
    let validate = |status: &Bound<'py, PyAny>| -> PyResult<()> {
        if d.native(Hook::ValidateStatus) {
            check_status(status)
        } else {
            slf.call_method1(pyo3::intern!(py, "_validate_status"), (status,))
                .map(drop)
        }
    };
    check_arguments(py, status, headers, &convert, &validate)?;
    attr!(slf, "write")
}

pub fn hook_write<'py>(
    slf: &Bound<'py, PyAny>,
    d: Dispatch,
    data: &Bound<'py, PyAny>,
) -> PyResult<()> {
    match d.get(Hook::Write) {
        Impl::Python => slf
            .call_method1(pyo3::intern!(slf.py(), "write"), (data,))
            .map(drop),
        _ => write(slf, d, data),
    }
}

pub fn write<'py>(slf: &Bound<'py, PyAny>, d: Dispatch, data: &Bound<'py, PyAny>) -> PyResult<()> {
    let py = slf.py();
    if debug_enabled(py) && !data.is_exact_instance_of::<PyBytes>() {
        return Err(assertion("write() argument must be a bytes instance"));
    }
    if !attr!(slf, "status")?.is_truthy()? {
        return Err(assertion("write() before start_response()"));
    }
    with_output(slf, d, |out| {
        if !attr!(slf, "headers_sent")?.is_truthy()? {
            set_attr!(slf, "bytes_sent", data.len()?)?;
            send_headers_step(out)?;
        } else {
            let sent = attr!(slf, "bytes_sent")?;
            let sent = sent.add(data.len()?)?;
            set_attr!(slf, "bytes_sent", sent)?;
        }
        out.push_object(data)
    })?;
    match d.get(Hook::RawFlush) {
        Impl::Simple => simple::flush(slf),
        _ => call_py(slf, Hook::RawFlush).map(drop),
    }
}

/// `send_headers()`, through the hook when overridden, into `out` when native.
fn send_headers_step(out: &mut Output<'_, '_>) -> PyResult<()> {
    match out.d.get(Hook::SendHeaders) {
        Impl::Python => {
            out.flush()?;
            call_py(out.slf, Hook::SendHeaders).map(drop)
        }
        _ => send_headers(out),
    }
}

pub fn send_headers_alone(slf: &Bound<'_, PyAny>, d: Dispatch) -> PyResult<()> {
    with_output(slf, d, send_headers)
}

fn send_headers(out: &mut Output<'_, '_>) -> PyResult<()> {
    let slf = out.slf;
    hook_cleanup_headers(slf, out.d)?;
    set_attr!(slf, "headers_sent", true)?;
    if !attr!(slf, "origin_server")?.is_truthy()? || hook_client_is_modern(slf, out.d)? {
        match out.d.get(Hook::SendPreamble) {
            Impl::Python => {
                out.flush()?;
                call_py(slf, Hook::SendPreamble)?;
            }
            _ => send_preamble(out)?,
        }
        let bytes = headers_bytes(&attr!(slf, "headers")?)?;
        out.push(bytes.as_bytes())?;
    }
    Ok(())
}

pub fn send_preamble_alone(slf: &Bound<'_, PyAny>, d: Dispatch) -> PyResult<()> {
    with_output(slf, d, send_preamble)
}

fn send_preamble(out: &mut Output<'_, '_>) -> PyResult<()> {
    let slf = out.slf;
    let py = slf.py();
    let status = attr!(slf, "status")?;
    if attr!(slf, "origin_server")?.is_truthy()? {
        if hook_client_is_modern(slf, out.d)? {
            let line = format_line(
                py,
                "HTTP/%s %s\r\n",
                &[&attr!(slf, "http_version")?, &status],
            )?;
            out.push(&line)?;
            let headers = attr!(slf, "headers")?;
            if !headers_contain(&headers, pyo3::intern!(py, "Date"))? {
                out.push(format!("Date: {}\r\n", http_date_now()).as_bytes())?;
            }
            let software = attr!(slf, "server_software")?;
            if software.is_truthy()? && !headers_contain(&headers, pyo3::intern!(py, "Server"))? {
                out.push(&format_line(py, "Server: %s\r\n", &[&software])?)?;
            }
        }
    } else {
        out.push(&format_line(py, "Status: %s\r\n", &[&status])?)?;
    }
    Ok(())
}

/// `(template % args).encode('iso-8859-1')`: in Rust for ASCII strings, through the interpreter
/// for anything else (so `str()` of odd objects and encoding errors are Python's own).
fn format_line(
    py: Python<'_>,
    template: &'static str,
    args: &[&Bound<'_, PyAny>],
) -> PyResult<Vec<u8>> {
    let mut out = Vec::with_capacity(64);
    let mut pieces = template.split("%s");
    let texts: Option<Vec<&str>> = args
        .iter()
        .map(|a| exact_str(a).filter(|t| t.is_ascii()))
        .collect();
    if let Some(texts) = texts {
        for text in texts {
            out.extend_from_slice(pieces.next().unwrap_or("").as_bytes());
            out.extend_from_slice(text.as_bytes());
        }
        out.extend_from_slice(pieces.next().unwrap_or("").as_bytes());
        return Ok(out);
    }
    let args = PyTuple::new(py, args.iter().copied())?;
    let line = PyString::new(py, template).rem(args)?;
    push_latin1(&mut out, line.cast::<PyString>()?)?;
    Ok(out)
}

/// `name in headers`, through our Headers' Rust API when it is one.
fn headers_contain(headers: &Bound<'_, PyAny>, name: &Bound<'_, PyString>) -> PyResult<bool> {
    match headers.cast::<Headers>() {
        Ok(h) => crate::headers::contains(h, name.as_any()),
        Err(_) => headers.contains(name),
    }
}

/// `bytes(headers)`, through our Headers' Rust API when it is one.
fn headers_bytes<'py>(headers: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    if let Ok(h) = headers.cast::<Headers>() {
        return crate::headers::to_bytes(h);
    }
    // SAFETY: PyObject_Bytes is `bytes(obj)`: a new reference, or NULL with an exception set.
    let bytes = unsafe {
        Bound::from_owned_ptr_or_err(headers.py(), pyo3::ffi::PyObject_Bytes(headers.as_ptr()))?
    };
    Ok(bytes.cast_into::<PyBytes>()?)
}

pub fn hook_finish_content(slf: &Bound<'_, PyAny>, d: Dispatch) -> PyResult<()> {
    match d.get(Hook::FinishContent) {
        Impl::Python => call_py(slf, Hook::FinishContent).map(drop),
        _ => finish_content(slf, d),
    }
}

pub fn finish_content(slf: &Bound<'_, PyAny>, d: Dispatch) -> PyResult<()> {
    if attr!(slf, "headers_sent")?.is_truthy()? {
        return Ok(());
    }
    attr!(slf, "headers")?.call_method1(
        pyo3::intern!(slf.py(), "setdefault"),
        ("Content-Length", "0"),
    )?;
    with_output(slf, d, send_headers_step)
}

fn hook_cleanup_headers(slf: &Bound<'_, PyAny>, d: Dispatch) -> PyResult<()> {
    match d.get(Hook::CleanupHeaders) {
        Impl::Python => call_py(slf, Hook::CleanupHeaders).map(drop),
        _ => cleanup_headers(slf, d),
    }
}

pub fn cleanup_headers(slf: &Bound<'_, PyAny>, d: Dispatch) -> PyResult<()> {
    if !headers_contain(
        &attr!(slf, "headers")?,
        pyo3::intern!(slf.py(), "Content-Length"),
    )? {
        match d.get(Hook::SetContentLength) {
            Impl::Python => drop(call_py(slf, Hook::SetContentLength)?),
            _ => set_content_length(slf)?,
        }
    }
    Ok(())
}

pub fn set_content_length(slf: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = slf.py();
    let blocks = match attr!(slf, "result").and_then(|r| r.len()) {
        Ok(n) => n,
        Err(e)
            if e.is_instance_of::<pyo3::exceptions::PyTypeError>(py)
                || e.is_instance_of::<pyo3::exceptions::PyAttributeError>(py)
                || e.is_instance_of::<pyo3::exceptions::PyNotImplementedError>(py) =>
        {
            return Ok(())
        }
        Err(e) => return Err(e),
    };
    if blocks == 1 {
        let length = attr!(slf, "bytes_sent")?.str()?;
        let name = pyo3::intern!(py, "Content-Length");
        let headers = attr!(slf, "headers")?;
        match headers.cast::<Headers>() {
            Ok(h) => crate::headers::set(h, name.as_any(), length.as_any())?,
            Err(_) => headers.set_item(name, length)?,
        }
    }
    Ok(())
}

fn hook_client_is_modern(slf: &Bound<'_, PyAny>, d: Dispatch) -> PyResult<bool> {
    match d.get(Hook::ClientIsModern) {
        Impl::Python => call_py(slf, Hook::ClientIsModern)?.is_truthy(),
        _ => client_is_modern(slf),
    }
}

pub fn client_is_modern(slf: &Bound<'_, PyAny>) -> PyResult<bool> {
    let py = slf.py();
    let protocol = attr!(slf, "environ")?.get_item(pyo3::intern!(py, "SERVER_PROTOCOL"))?;
    if let Some(text) = exact_str(&protocol).filter(|t| t.is_ascii()) {
        return Ok(!text.eq_ignore_ascii_case("HTTP/0.9"));
    }
    protocol
        .call_method0(pyo3::intern!(py, "upper"))?
        .ne("HTTP/0.9")
}
