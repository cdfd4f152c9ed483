//! The Rust API the rest of the crate (the handlers) uses. Each call behaves like the Python
//! expression named, honouring subclass overrides the way the standard library's code would.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::instance::Headers;
use super::lookup::get_dispatch;
use super::overrides::{inherits, BYTES, CONTAINS, SETDEFAULT, SETITEM};
use crate::pyhelpers::live_pairs;

/// `headers.get(name)`: the first value for `name` (any case), `None` if absent or None.
/// Pass names made with `intern!` to avoid an allocation per call.
pub fn get_first<'py>(
    headers: &Bound<'py, Headers>,
    name: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let value = get_dispatch(headers, name)?;
    Ok(if value.is_none() { None } else { Some(value) })
}

/// `name in headers`.
pub fn contains<'py>(headers: &Bound<'py, Headers>, name: &Bound<'py, PyAny>) -> PyResult<bool> {
    if inherits(headers, &CONTAINS)? {
        Ok(!get_dispatch(headers, name)?.is_none())
    } else {
        headers.as_any().contains(name)
    }
}

/// `headers[name] = value`.
pub fn set<'py>(
    headers: &Bound<'py, Headers>,
    name: &Bound<'py, PyAny>,
    value: &Bound<'py, PyAny>,
) -> PyResult<()> {
    if inherits(headers, &SETITEM)? {
        Headers::__setitem__(headers, name.clone(), value.clone())
    } else {
        headers.as_any().set_item(name, value)
    }
}

/// `headers.setdefault(name, value)`.
pub fn set_default<'py>(
    headers: &Bound<'py, Headers>,
    name: &Bound<'py, PyAny>,
    value: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    if inherits(headers, &SETDEFAULT)? {
        Headers::setdefault(headers, name.clone(), value.clone())
    } else {
        headers.call_method1(SETDEFAULT.key(headers.py()), (name, value))
    }
}

/// `len(headers)`.
pub fn len(headers: &Bound<'_, Headers>) -> PyResult<usize> {
    headers.as_any().len()
}

/// `bytes(headers)`: the header block as sent on the wire.
pub fn to_bytes<'py>(headers: &Bound<'py, Headers>) -> PyResult<Bound<'py, PyBytes>> {
    let py = headers.py();
    let bytes = if inherits(headers, &BYTES)? {
        Headers::__bytes__(headers)?
    } else {
        py.get_type::<PyBytes>().call1((headers,))?
    };
    Ok(bytes.cast_into::<PyBytes>()?)
}

/// `[(k, v) for k, v in headers._headers]`: the pairs, in order.
pub fn pairs<'py>(
    headers: &Bound<'py, Headers>,
) -> PyResult<Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>> {
    live_pairs(&headers.get().list(headers.py())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pyo3::types::{PyList, PyString, PyTuple};

    #[test]
    fn lookups_through_python() {
        Python::initialize();
        Python::attach(|py| -> PyResult<()> {
            let list = PyList::new(
                py,
                [
                    PyTuple::new(py, ["Content-Type", "text/plain"])?,
                    PyTuple::new(py, ["\u{212a}ey", "k\u{e9}lvin"])?,
                ],
            )?;
            let headers = Bound::new(py, Headers::wrap(list))?;
            let get = |name: &str| -> PyResult<Option<String>> {
                get_first(&headers, &PyString::new(py, name).into_any())?
                    .map(|v| v.extract::<String>())
                    .transpose()
            };
            // (name, expected value)
            let cases: &[(&str, Option<&str>)] = &[
                ("content-type", Some("text/plain")),
                ("CONTENT-TYPE", Some("text/plain")),
                ("content_type", None),
                ("key", Some("k\u{e9}lvin")),
                ("\u{212a}EY", Some("k\u{e9}lvin")),
                ("missing", None),
            ];
            for &(name, expected) in cases {
                assert_eq!(get(name)?.as_deref(), expected, "get {name:?}");
            }
            let name = PyString::new(py, "X-New").into_any();
            set(&headers, &name, &PyString::new(py, "1").into_any())?;
            assert_eq!(len(&headers)?, 3);
            assert!(contains(&headers, &PyString::new(py, "x-new").into_any())?);
            let text = Headers::__str__(&headers)?.extract::<String>()?;
            assert_eq!(
                text,
                "Content-Type: text/plain\r\n\u{212a}ey: k\u{e9}lvin\r\nX-New: 1\r\n\r\n"
            );
            // U+212A is not ISO-8859-1.
            assert!(to_bytes(&headers).is_err());
            set(
                &headers,
                &PyString::new(py, "KEY").into_any(),
                &PyString::new(py, "\u{e9}").into_any(),
            )?;
            let bytes = to_bytes(&headers)?;
            assert_eq!(
                bytes.as_bytes(),
                b"Content-Type: text/plain\r\nX-New: 1\r\nKEY: \xe9\r\n\r\n"
            );
            Ok(())
        })
        .unwrap();
    }
}
