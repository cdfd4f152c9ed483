//! The request's life cycle: `run`, `setup_environ`, `finish_response`, errors and `close`.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use super::dispatch::{Dispatch, Hook, Impl};
use super::response;
use super::simple;
use super::support::{attr, call_py, set_attr, while_handling};
use crate::pep3333::errors::client_gone;
use crate::pep3333::start_response::exc_info;
use crate::pyhelpers::live_items;
use crate::util::Environ;

pub fn run(slf: &Bound<'_, PyAny>, d: Dispatch, application: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = slf.py();
    let attempt = (|| {
        hook_setup_environ(slf, d)?;
        let environ = attr!(slf, "environ")?;
        let start_response = attr!(slf, "start_response")?;
        let result = application.call1((environ, start_response))?;
        set_attr!(slf, "result", result)?;
        hook_finish_response(slf, d)
    })();
    let Err(err) = attempt else { return Ok(()) };
    if client_gone(py, &err) {
        // The client went away; as in CPython, that is not the application's error.
        return Ok(());
    }
    let Err(second) = while_handling(py, &err, || hook_handle_error(slf, d)) else {
        return Ok(());
    };
    // An error while handling the error: close, then let the server see it.
    while_handling(py, &second, || hook_close(slf, d))?;
    Err(second)
}

fn hook_setup_environ(slf: &Bound<'_, PyAny>, d: Dispatch) -> PyResult<()> {
    match d.get(Hook::SetupEnviron) {
        Impl::Python => call_py(slf, Hook::SetupEnviron).map(drop),
        _ => setup_environ(slf, d),
    }
}

pub fn setup_environ(slf: &Bound<'_, PyAny>, d: Dispatch) -> PyResult<()> {
    let py = slf.py();
    let os_environ = attr!(slf, "os_environ")?;
    let env = match os_environ.cast_exact::<PyDict>() {
        Ok(dict) => dict.copy()?.into_any(),
        Err(_) => os_environ.call_method0(pyo3::intern!(py, "copy"))?,
    };
    set_attr!(slf, "environ", &env)?;
    let environ = Environ::new(&env);
    match d.get(Hook::AddCgiVars) {
        Impl::Simple => simple::add_cgi_vars(slf)?,
        _ => drop(call_py(slf, Hook::AddCgiVars)?),
    }
    let stdin = match d.get(Hook::GetStdin) {
        Impl::Simple => simple::get_stdin(slf)?,
        _ => call_py(slf, Hook::GetStdin)?,
    };
    environ.set(pyo3::intern!(py, "wsgi.input"), stdin)?;
    let stderr = match d.get(Hook::GetStderr) {
        Impl::Simple => simple::get_stderr(slf)?,
        _ => call_py(slf, Hook::GetStderr)?,
    };
    environ.set(pyo3::intern!(py, "wsgi.errors"), stderr)?;
    environ.set(
        pyo3::intern!(py, "wsgi.version"),
        attr!(slf, "wsgi_version")?,
    )?;
    environ.set(
        pyo3::intern!(py, "wsgi.run_once"),
        attr!(slf, "wsgi_run_once")?,
    )?;
    let scheme = match d.get(Hook::GetScheme) {
        Impl::Python => call_py(slf, Hook::GetScheme)?,
        _ => get_scheme(slf)?,
    };
    environ.set(pyo3::intern!(py, "wsgi.url_scheme"), scheme)?;
    environ.set(
        pyo3::intern!(py, "wsgi.multithread"),
        attr!(slf, "wsgi_multithread")?,
    )?;
    environ.set(
        pyo3::intern!(py, "wsgi.multiprocess"),
        attr!(slf, "wsgi_multiprocess")?,
    )?;
    let wrapper = attr!(slf, "wsgi_file_wrapper")?;
    if !wrapper.is_none() {
        environ.set(pyo3::intern!(py, "wsgi.file_wrapper"), wrapper)?;
    }
    if attr!(slf, "origin_server")?.is_truthy()? {
        let software = attr!(slf, "server_software")?;
        if software.is_truthy()? {
            env.call_method1(
                pyo3::intern!(py, "setdefault"),
                ("SERVER_SOFTWARE", software),
            )?;
        }
    }
    Ok(())
}

/// `guess_scheme(self.environ)`.
pub fn get_scheme<'py>(slf: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    Ok(crate::util::guess_scheme(slf.py(), &attr!(slf, "environ")?)?.into_any())
}

fn hook_finish_response(slf: &Bound<'_, PyAny>, d: Dispatch) -> PyResult<()> {
    match d.get(Hook::FinishResponse) {
        Impl::Python => call_py(slf, Hook::FinishResponse).map(drop),
        _ => finish_response(slf, d),
    }
}

pub fn finish_response(slf: &Bound<'_, PyAny>, d: Dispatch) -> PyResult<()> {
    let py = slf.py();
    let sent = (|| {
        let is_file = match d.get(Hook::ResultIsFile) {
            Impl::Python => call_py(slf, Hook::ResultIsFile)?.is_truthy()?,
            _ => result_is_file(slf)?,
        };
        let sent_as_file = is_file
            && match d.get(Hook::Sendfile) {
                Impl::Python => call_py(slf, Hook::Sendfile)?.is_truthy()?,
                _ => false,
            };
        if !sent_as_file {
            let result = attr!(slf, "result")?;
            match result.cast_exact::<PyList>() {
                Ok(list) => {
                    for data in live_items(list) {
                        response::hook_write(slf, d, &data?)?;
                    }
                }
                Err(_) => {
                    for data in result.try_iter()? {
                        response::hook_write(slf, d, &data?)?;
                    }
                }
            }
            response::hook_finish_content(slf, d)?;
        }
        Ok(())
    })();
    match sent {
        Ok(()) => hook_close(slf, d),
        Err(err) => {
            // Close the application's iterable on any error, then let the error go on.
            while_handling(py, &err, || {
                let result = attr!(slf, "result")?;
                if let Some(close) = result.getattr_opt(pyo3::intern!(py, "close"))? {
                    close.call0()?;
                }
                Ok(())
            })?;
            Err(err)
        }
    }
}

pub fn hook_close(slf: &Bound<'_, PyAny>, d: Dispatch) -> PyResult<()> {
    match d.get(Hook::Close) {
        Impl::Python => call_py(slf, Hook::Close).map(drop),
        _ => close(slf),
    }
}

pub fn close(slf: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = slf.py();
    let closed = (|| {
        let result = attr!(slf, "result")?;
        if let Some(close) = result.getattr_opt(pyo3::intern!(py, "close"))? {
            close.call0()?;
        }
        Ok(())
    })();
    let none = py.None();
    set_attr!(slf, "result", &none)?;
    set_attr!(slf, "headers", &none)?;
    set_attr!(slf, "status", &none)?;
    set_attr!(slf, "environ", &none)?;
    set_attr!(slf, "bytes_sent", 0)?;
    set_attr!(slf, "headers_sent", false)?;
    closed
}

pub fn result_is_file(slf: &Bound<'_, PyAny>) -> PyResult<bool> {
    let wrapper = attr!(slf, "wsgi_file_wrapper")?;
    if wrapper.is_none() {
        return Ok(false);
    }
    attr!(slf, "result")?.is_instance(&wrapper)
}

pub fn log_exception(slf: &Bound<'_, PyAny>, d: Dispatch, info: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = slf.py();
    let print_exception = py.import("traceback")?.getattr("print_exception")?;
    let stderr = match d.get(Hook::GetStderr) {
        Impl::Simple => simple::get_stderr(slf)?,
        _ => call_py(slf, Hook::GetStderr)?,
    };
    print_exception.call1((
        info.get_item(0)?,
        info.get_item(1)?,
        info.get_item(2)?,
        attr!(slf, "traceback_limit")?,
        &stderr,
    ))?;
    stderr.call_method0(pyo3::intern!(py, "flush"))?;
    Ok(())
}

fn hook_handle_error(slf: &Bound<'_, PyAny>, d: Dispatch) -> PyResult<()> {
    match d.get(Hook::HandleError) {
        Impl::Python => call_py(slf, Hook::HandleError).map(drop),
        _ => handle_error(slf, d),
    }
}

pub fn handle_error(slf: &Bound<'_, PyAny>, d: Dispatch) -> PyResult<()> {
    let py = slf.py();
    let info = exc_info(py)?;
    match d.get(Hook::LogException) {
        Impl::Python => drop(slf.call_method1(pyo3::intern!(py, "log_exception"), (info,))?),
        _ => log_exception(slf, d, info.as_any())?,
    }
    if !attr!(slf, "headers_sent")?.is_truthy()? {
        let environ = attr!(slf, "environ")?;
        let start_response = attr!(slf, "start_response")?;
        let result = match d.get(Hook::ErrorOutput) {
            Impl::Python => {
                slf.call_method1(pyo3::intern!(py, "error_output"), (environ, start_response))?
            }
            _ => error_output(slf, &environ, &start_response)?.into_any(),
        };
        set_attr!(slf, "result", result)?;
        hook_finish_response(slf, d)?;
    }
    Ok(())
}

pub fn error_output<'py>(
    slf: &Bound<'py, PyAny>,
    _environ: &Bound<'py, PyAny>,
    start_response: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    let py = slf.py();
    let status = attr!(slf, "error_status")?;
    let headers = attr!(slf, "error_headers")?;
    let headers = match headers.cast_exact::<PyList>() {
        Ok(list) => list.get_slice(0, list.len()).into_any(),
        Err(_) => headers.get_item(full_slice(py)?)?,
    };
    start_response.call1((status, headers, exc_info(py)?))?;
    PyList::new(py, [attr!(slf, "error_body")?])
}

fn full_slice(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    Ok(pyo3::types::PySlice::full(py).into_any())
}
