//! `HandlerCore`: the native base of `wsgiref_rs.handlers.BaseHandler`.
//!
//! Each Python-visible method resolves the handler's hooks (see [`super::hooks`]) and runs the
//! step in Rust; the steps live in `flow.rs`, `response.rs` and `simple.rs`.

use std::sync::atomic::{AtomicU64, Ordering};

use pyo3::exceptions::PyNotImplementedError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyList, PyTuple};

use crate::pyhelpers::Given;

use super::dispatch::Dispatch;
use super::hooks;
pub use super::instance::HandlerCore;
use super::{flow, response, simple};

impl HandlerCore {
    /// The hook resolution for this handler: the one `run()` made for the current request, or a
    /// fresh one for a step called on its own.
    pub fn dispatch(slf: &Bound<'_, Self>) -> PyResult<Dispatch> {
        match slf.get().running_dispatch() {
            Some(d) => Ok(d),
            None => hooks::for_instance(slf.as_any()),
        }
    }
}

fn not_implemented() -> PyErr {
    PyNotImplementedError::new_err(())
}

#[pymethods]
impl HandlerCore {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        HandlerCore {
            dispatch: AtomicU64::new(0),
        }
    }

    /// Invoke the application.
    ///
    /// Holds the GIL (no I/O of its own; output goes through `_write`).
    fn run(slf: &Bound<'_, Self>, application: &Bound<'_, PyAny>) -> PyResult<()> {
        let d = hooks::for_instance(slf.as_any())?;
        slf.get().dispatch.store(d.pack(), Ordering::Relaxed);
        let out = flow::run(slf.as_any(), d, application);
        slf.get().dispatch.store(0, Ordering::Relaxed);
        out
    }

    /// Set up the environment for one request.
    ///
    /// Holds the GIL (no I/O).
    fn setup_environ(slf: &Bound<'_, Self>) -> PyResult<()> {
        flow::setup_environ(slf.as_any(), Self::dispatch(slf)?)
    }

    /// Send any iterable data, then close self and the iterable.
    ///
    /// Holds the GIL (no I/O of its own; output goes through `_write`).
    fn finish_response(slf: &Bound<'_, Self>) -> PyResult<()> {
        flow::finish_response(slf.as_any(), Self::dispatch(slf)?)
    }

    /// Return the URL scheme being used.
    ///
    /// Holds the GIL (no I/O).
    fn get_scheme<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        flow::get_scheme(slf.as_any())
    }

    /// Compute Content-Length or switch to chunked encoding if possible.
    ///
    /// Holds the GIL (no I/O).
    fn set_content_length(slf: &Bound<'_, Self>) -> PyResult<()> {
        response::set_content_length(slf.as_any())
    }

    /// Make any necessary header changes or defaults.
    ///
    /// Holds the GIL (no I/O).
    fn cleanup_headers(slf: &Bound<'_, Self>) -> PyResult<()> {
        response::cleanup_headers(slf.as_any(), Self::dispatch(slf)?)
    }

    /// 'start_response()' callable as specified by PEP 3333.
    ///
    /// Holds the GIL (no I/O).
    #[pyo3(signature = (status, headers, exc_info=None))]
    fn start_response<'py>(
        slf: &Bound<'py, Self>,
        status: &Bound<'py, PyAny>,
        headers: &Bound<'py, PyAny>,
        exc_info: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        response::start_response(
            slf.as_any(),
            Self::dispatch(slf)?,
            status,
            headers,
            exc_info,
        )
    }

    /// Convert/check value type.
    ///
    /// Holds the GIL (no I/O).
    fn _convert_string_type<'py>(
        &self,
        value: &Bound<'py, PyAny>,
        title: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        crate::pep3333::start_response::convert_string_type(value, title)
    }

    /// Check the status line's form (Python 3.12 on): AssertionError unless it is a 3-digit code
    /// and a space.
    ///
    /// Holds the GIL (no I/O).
    #[cfg(Py_3_12)]
    fn _validate_status(&self, status: &Bound<'_, PyAny>) -> PyResult<()> {
        crate::pep3333::start_response::check_status(status)
    }

    /// Transmit version/status/date/server, via self._write().
    ///
    /// Holds the GIL (no I/O of its own; output goes through `_write`).
    fn send_preamble(slf: &Bound<'_, Self>) -> PyResult<()> {
        response::send_preamble_alone(slf.as_any(), Self::dispatch(slf)?)
    }

    /// 'write()' callable as specified by PEP 3333.
    ///
    /// Holds the GIL (no I/O of its own; output goes through `_write`).
    fn write(slf: &Bound<'_, Self>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        response::write(slf.as_any(), Self::dispatch(slf)?, data)
    }

    /// Platform-specific file transmission; the base class has none and returns False.
    ///
    /// Holds the GIL (no I/O).
    fn sendfile(&self) -> bool {
        false
    }

    /// Ensure headers and content have both been sent.
    ///
    /// Holds the GIL (no I/O of its own; output goes through `_write`).
    fn finish_content(slf: &Bound<'_, Self>) -> PyResult<()> {
        response::finish_content(slf.as_any(), Self::dispatch(slf)?)
    }

    /// Close the iterable (if needed) and reset all instance vars.
    ///
    /// Holds the GIL (no I/O).
    fn close(slf: &Bound<'_, Self>) -> PyResult<()> {
        flow::close(slf.as_any())
    }

    /// Transmit headers to the client, via self._write().
    ///
    /// Holds the GIL (no I/O of its own; output goes through `_write`).
    fn send_headers(slf: &Bound<'_, Self>) -> PyResult<()> {
        response::send_headers_alone(slf.as_any(), Self::dispatch(slf)?)
    }

    /// True if 'self.result' is an instance of 'self.wsgi_file_wrapper'.
    ///
    /// Holds the GIL (no I/O).
    fn result_is_file(slf: &Bound<'_, Self>) -> PyResult<bool> {
        flow::result_is_file(slf.as_any())
    }

    /// True if client can accept status and headers.
    ///
    /// Holds the GIL (no I/O).
    fn client_is_modern(slf: &Bound<'_, Self>) -> PyResult<bool> {
        response::client_is_modern(slf.as_any())
    }

    /// Log the 'exc_info' tuple in the server log.
    ///
    /// Holds the GIL (no I/O of its own; writes to the stream `get_stderr()` returns).
    fn log_exception(slf: &Bound<'_, Self>, exc_info: &Bound<'_, PyAny>) -> PyResult<()> {
        flow::log_exception(slf.as_any(), Self::dispatch(slf)?, exc_info)
    }

    /// Log current error, and send error output to client if possible.
    ///
    /// Holds the GIL (no I/O of its own; output goes through `_write`).
    fn handle_error(slf: &Bound<'_, Self>) -> PyResult<()> {
        flow::handle_error(slf.as_any(), Self::dispatch(slf)?)
    }

    /// WSGI mini-app to create error output.
    ///
    /// Holds the GIL (no I/O).
    fn error_output<'py>(
        slf: &Bound<'py, Self>,
        environ: &Bound<'py, PyAny>,
        start_response: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        flow::error_output(slf.as_any(), environ, start_response)
    }

    /// Override in subclass to buffer data for send to client.
    ///
    /// Holds the GIL (no I/O): always raises NotImplementedError.
    fn _write(&self, _data: &Bound<'_, PyAny>) -> PyResult<()> {
        Err(not_implemented())
    }

    /// Override in subclass to force sending of recent '_write()' calls.
    ///
    /// Holds the GIL (no I/O): always raises NotImplementedError.
    fn _flush(&self) -> PyResult<()> {
        Err(not_implemented())
    }

    /// Override in subclass to return suitable 'wsgi.input'.
    ///
    /// Holds the GIL (no I/O): always raises NotImplementedError.
    fn get_stdin(&self) -> PyResult<()> {
        Err(not_implemented())
    }

    /// Override in subclass to return suitable 'wsgi.errors'.
    ///
    /// Holds the GIL (no I/O): always raises NotImplementedError.
    fn get_stderr(&self) -> PyResult<()> {
        Err(not_implemented())
    }

    /// Override in subclass to insert CGI variables in 'self.environ'.
    ///
    /// Holds the GIL (no I/O): always raises NotImplementedError.
    fn add_cgi_vars(&self) -> PyResult<()> {
        Err(not_implemented())
    }

    /// Initialize self with the streams, the base environ and the flags (SimpleHandler.__init__).
    ///
    /// Holds the GIL (no I/O).
    #[pyo3(
        signature = (stdin, stdout, stderr, environ, multithread=Given(None), multiprocess=Given(None)),
        text_signature = "(self, stdin, stdout, stderr, environ, multithread=True, multiprocess=False)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn _simple_init(
        slf: &Bound<'_, Self>,
        stdin: &Bound<'_, PyAny>,
        stdout: &Bound<'_, PyAny>,
        stderr: &Bound<'_, PyAny>,
        environ: &Bound<'_, PyAny>,
        multithread: Given<'_>,
        multiprocess: Given<'_>,
    ) -> PyResult<()> {
        let py = slf.py();
        simple::init(
            slf.as_any(),
            [stdin, stdout, stderr, environ],
            &multithread
                .0
                .unwrap_or_else(|| PyBool::new(py, true).to_owned().into_any()),
            &multiprocess
                .0
                .unwrap_or_else(|| PyBool::new(py, false).to_owned().into_any()),
        )
    }

    /// SimpleHandler.get_stdin: the input stream given to the constructor.
    ///
    /// Holds the GIL (no I/O).
    fn _simple_get_stdin<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        simple::get_stdin(slf.as_any())
    }

    /// SimpleHandler.get_stderr: the error stream given to the constructor.
    ///
    /// Holds the GIL (no I/O).
    fn _simple_get_stderr<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        simple::get_stderr(slf.as_any())
    }

    /// SimpleHandler.add_cgi_vars: copy the base environ into self.environ.
    ///
    /// Holds the GIL (no I/O).
    fn _simple_add_cgi_vars(slf: &Bound<'_, Self>) -> PyResult<()> {
        simple::add_cgi_vars(slf.as_any())
    }

    /// SimpleHandler._write: write all of data to the output stream.
    ///
    /// Holds the GIL (no I/O of its own; calls the output stream's write()).
    fn _simple_write(slf: &Bound<'_, Self>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        simple::write(slf.as_any(), data)
    }

    /// SimpleHandler._flush: flush the output stream.
    ///
    /// Holds the GIL (no I/O of its own; calls the output stream's flush()).
    fn _simple_flush(slf: &Bound<'_, Self>) -> PyResult<()> {
        simple::flush(slf.as_any())
    }
}
