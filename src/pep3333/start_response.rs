//! `start_response` as PEP 3333 and CPython's `BaseHandler` check it: the status, the header
//! names and values (native strings, no hop-by-hop header), and what it raises once the headers
//! are sent. The handlers and the engine both check with these.

use pyo3::exceptions::PyAssertionError;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

use crate::pyhelpers::{debug_enabled, exact_str, status_checked, unpack_pair};

/// `self._convert_string_type(value, title)`, whichever method that is.
pub(crate) type Convert<'a, 'py> =
    dyn Fn(&Bound<'py, PyAny>, &'static str) -> PyResult<Bound<'py, PyAny>> + 'a;

/// `self._validate_status(status)` (Python 3.12 on), whichever method that is.
pub(crate) type Validate<'a, 'py> = dyn Fn(&Bound<'py, PyAny>) -> PyResult<()> + 'a;

/// The checks CPython's `start_response` makes of its arguments once the headers are stored:
/// `convert` stands for `self._convert_string_type`, `validate` for `self._validate_status`. The
/// native engine makes the same checks. The status is checked always from Python 3.12 on (by
/// `_validate_status`), else by `assert`, as the header names are in every version.
pub(crate) fn check_arguments<'py>(
    py: Python<'py>,
    status: &Bound<'py, PyAny>,
    headers: &Bound<'py, PyAny>,
    convert: &Convert<'_, 'py>,
    validate: &Validate<'_, 'py>,
) -> PyResult<()> {
    let status = convert(status, "Status")?;
    if status_checked(py) {
        validate(&status)?;
    }
    if !debug_enabled(py) {
        return Ok(());
    }
    for item in headers.try_iter()? {
        let (name, value) = unpack_pair(&item?)?;
        let name = convert(&name, "Header name")?;
        let value = convert(&value, "Header value")?;
        if crate::pep3333::header_fields::is_hop_by_hop(py, &name)? {
            let message = PyString::new(py, "Hop-by-hop header, '{}: {}', not allowed")
                .call_method1(pyo3::intern!(py, "format"), (name, value))?;
            return Err(pyo3::exceptions::PyAssertionError::new_err(
                message.unbind(),
            ));
        }
    }
    Ok(())
}

/// `BaseHandler._convert_string_type` with a title given as Rust text.
pub(crate) fn convert_titled<'py>(
    value: &Bound<'py, PyAny>,
    title: &'static str,
) -> PyResult<Bound<'py, PyAny>> {
    convert_string_type(value, PyString::new(value.py(), title).as_any())
}

/// The three assertions CPython makes on a status string.
pub(crate) fn check_status(status: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = status.py();
    if status.len()? < 4 {
        return Err(assertion("Status must be at least 4 characters"));
    }
    let ascii = exact_str(status).map(str::as_bytes);
    let digits = match ascii {
        Some(b) if b.is_ascii() => b[..3].iter().all(u8::is_ascii_digit),
        _ => status
            .get_item(pyo3::types::PySlice::new(py, 0, 3, 1))?
            .call_method0(pyo3::intern!(py, "isdigit"))?
            .is_truthy()?,
    };
    if !digits {
        return Err(assertion("Status message must begin w/3-digit code"));
    }
    let space = match ascii {
        Some(b) if b.is_ascii() => b[3] == b' ',
        _ => status.get_item(3)?.eq(" ")?,
    };
    if !space {
        return Err(assertion("Status message must have a space after code"));
    }
    Ok(())
}

pub fn convert_string_type<'py>(
    value: &Bound<'py, PyAny>,
    title: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    if value.is_exact_instance_of::<PyString>() {
        return Ok(value.clone());
    }
    let py = value.py();
    let message = PyString::new(py, "{0} must be of type str (got {1})")
        .call_method1(pyo3::intern!(py, "format"), (title, value.repr()?))?;
    Err(pyo3::exceptions::PyAssertionError::new_err(
        message.unbind(),
    ))
}

/// The standard library's three assertions on a status, for ASCII text.
pub fn status_ok(status: &str) -> bool {
    let b = status.as_bytes();
    status.is_ascii() && b.len() >= 4 && b[..3].iter().all(u8::is_ascii_digit) && b[3] == b' '
}

/// `AssertionError(message)`.
pub fn assertion(message: impl Into<String>) -> PyErr {
    PyAssertionError::new_err(message.into())
}

/// `sys.exc_info()`, the exception currently being handled.
pub fn exc_info(py: Python<'_>) -> PyResult<Bound<'_, PyTuple>> {
    Ok(crate::pyhelpers::sys_module(py)?
        .call_method0("exc_info")?
        .cast_into::<PyTuple>()?)
}

/// What `start_response(status, headers, exc_info)` raises once the headers are sent, as the
/// running version's `BaseHandler` does. From Python 3.11 on, a bare `raise`: the exception
/// being handled.
#[cfg(Py_3_11)]
pub fn reraise(py: Python<'_>, _exc_info: &Bound<'_, PyAny>) -> PyErr {
    match exc_info(py).and_then(|t| t.get_item(1)) {
        Ok(v) if !v.is_none() => PyErr::from_value(v),
        Ok(_) => pyo3::exceptions::PyRuntimeError::new_err("No active exception to reraise"),
        Err(e) => e,
    }
}

/// Python 3.9 and 3.10: `raise exc_info[0](exc_info[1]).with_traceback(exc_info[2])`, a new
/// exception of the same type around the given one.
#[cfg(not(Py_3_11))]
pub fn reraise(py: Python<'_>, exc_info: &Bound<'_, PyAny>) -> PyErr {
    let made = (|| -> PyResult<PyErr> {
        let wrapped = exc_info.get_item(0)?.call1((exc_info.get_item(1)?,))?;
        let wrapped = wrapped.call_method1(
            pyo3::intern!(py, "with_traceback"),
            (exc_info.get_item(2)?,),
        )?;
        Ok(PyErr::from_value(wrapped))
    })();
    made.unwrap_or_else(|e| e)
}

#[cfg(test)]
mod tests {
    use super::status_ok;

    #[test]
    fn statuses() {
        for (status, ok) in [
            ("200 OK", true),
            ("404 ", true),
            ("200", false),
            ("20x OK", false),
            ("200-OK", false),
            ("２00 OK", false),
        ] {
            assert_eq!(status_ok(status), ok, "{status}");
        }
    }
}
