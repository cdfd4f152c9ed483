//! The `Headers` Python class's methods (its storage is in `instance.rs`).

use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use super::checks::{check_header_str, Conv};
pub use super::instance::Headers;
use super::lookup::{delitem_dispatch, delitem_impl, get_all_impl, get_dispatch, get_impl};
use super::overrides::{inherits, STR};
use super::render::{add_header_text, list_repr_fast, render, render_fast};
use crate::pyhelpers::{exact_str, live_pairs};

/// Message of the `TypeError` raised when `Headers()` is given something other than a list.
const NOT_A_LIST_MESSAGE: &str = "Headers must be a list of name/value tuples";

#[pymethods]
impl Headers {
    /// Creates an empty instance; `__init__` sets the list.
    ///
    /// Holds the GIL (no I/O).
    #[new]
    #[pyo3(signature = (*_args, **_kwargs), text_signature = "(headers=None)")]
    fn __new__(
        py: Python<'_>,
        _args: &Bound<'_, PyTuple>,
        _kwargs: Option<&Bound<'_, PyDict>>,
    ) -> Self {
        Headers::wrap(PyList::empty(py))
    }

    /// Wraps `headers`, a list of (name, value) tuples (a new empty list if None), and checks
    /// that every name and value is a str without control characters (unless run with -O).
    ///
    /// Holds the GIL (no I/O).
    #[pyo3(signature = (headers=None))]
    fn __init__(slf: &Bound<'_, Self>, headers: Option<Bound<'_, PyAny>>) -> PyResult<()> {
        let py = slf.py();
        let list = match headers {
            None => PyList::empty(py),
            Some(h) if h.is_exact_instance_of::<PyList>() => h.cast_into::<PyList>()?,
            Some(_) => return Err(PyTypeError::new_err(NOT_A_LIST_MESSAGE)),
        };
        slf.get().set_list(list.clone());
        if crate::pyhelpers::debug_enabled(py) {
            let conv = Conv::of(slf)?;
            for pair in live_pairs(&list) {
                let (key, value) = pair?;
                conv.convert(key, true)?;
                conv.convert(value, false)?;
            }
        }
        Ok(())
    }

    /// The wrapped list of (name, value) tuples (the very object).
    ///
    /// Holds the GIL (no I/O).
    #[getter(_headers)]
    fn get_headers<'py>(slf: &Bound<'py, Self>) -> Bound<'py, PyList> {
        slf.get().list(slf.py())
    }

    /// Replaces the wrapped list (must be a list).
    ///
    /// Holds the GIL (no I/O).
    #[setter(_headers)]
    fn set_headers(slf: &Bound<'_, Self>, value: Bound<'_, PyAny>) -> PyResult<()> {
        match value.cast_into::<PyList>() {
            Ok(list) => {
                slf.get().set_list(list);
                Ok(())
            }
            Err(_) => Err(PyTypeError::new_err("_headers must be a list")),
        }
    }

    /// Returns `value` if it is a str (not a subclass) without control characters (HTAB is
    /// allowed in values, not in names); raises AssertionError or ValueError otherwise.
    ///
    /// Holds the GIL (no I/O).
    #[pyo3(signature = (value, *, name))]
    fn _convert_string_type<'py>(
        _slf: &Bound<'py, Self>,
        value: Bound<'py, PyAny>,
        name: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        check_header_str(&value, name.is_truthy()?)?;
        Ok(value)
    }

    /// Returns the number of headers, duplicates included.
    ///
    /// Holds the GIL (no I/O).
    fn __len__(slf: &Bound<'_, Self>) -> usize {
        slf.get().list(slf.py()).len()
    }

    /// Replaces every header named `name` (any case) with one `(name, val)` at the end.
    ///
    /// Holds the GIL (no I/O).
    pub(super) fn __setitem__<'py>(
        slf: &Bound<'py, Self>,
        name: Bound<'py, PyAny>,
        val: Bound<'py, PyAny>,
    ) -> PyResult<()> {
        let py = slf.py();
        delitem_dispatch(slf, &name)?;
        let list = slf.get().list(py);
        let conv = Conv::of(slf)?;
        let name = conv.convert(name, true)?;
        let val = conv.convert(val, false)?;
        list.append(PyTuple::new(py, [name, val])?)
    }

    /// Removes every header named `name` (any case); no error if there is none.
    ///
    /// Holds the GIL (no I/O).
    fn __delitem__<'py>(slf: &Bound<'py, Self>, name: Bound<'py, PyAny>) -> PyResult<()> {
        delitem_impl(slf, &name)
    }

    /// Returns the value of the first header named `name` (any case), or None.
    ///
    /// Holds the GIL (no I/O).
    fn __getitem__<'py>(
        slf: &Bound<'py, Self>,
        name: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        get_dispatch(slf, &name)
    }

    /// Returns whether a header named `name` (any case) has a value other than None.
    ///
    /// Holds the GIL (no I/O).
    fn __contains__<'py>(slf: &Bound<'py, Self>, name: Bound<'py, PyAny>) -> PyResult<bool> {
        Ok(!get_dispatch(slf, &name)?.is_none())
    }

    /// Returns the values of all headers named `name` (any case), in list order.
    ///
    /// Holds the GIL (no I/O).
    fn get_all<'py>(
        slf: &Bound<'py, Self>,
        name: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        get_all_impl(slf, &name)
    }

    /// Returns the value of the first header named `name` (any case), or `default`.
    ///
    /// Holds the GIL (no I/O).
    #[pyo3(signature = (name, default=None))]
    fn get<'py>(
        slf: &Bound<'py, Self>,
        name: Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        get_impl(slf, &name, default)
    }

    /// Returns a new list of all header names, in order, duplicates included.
    ///
    /// Holds the GIL (no I/O).
    fn keys<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyList>> {
        pick(slf, 0)
    }

    /// Returns a new list of all header values, in order, duplicates included.
    ///
    /// Holds the GIL (no I/O).
    fn values<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyList>> {
        pick(slf, 1)
    }

    /// Returns a copy of the list of (name, value) tuples.
    ///
    /// Holds the GIL (no I/O).
    fn items<'py>(slf: &Bound<'py, Self>) -> Bound<'py, PyList> {
        let list = slf.get().list(slf.py());
        list.get_slice(0, list.len())
    }

    /// Returns `ClassName([...list...])`, with the runtime class name.
    ///
    /// Holds the GIL (no I/O).
    fn __repr__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let list = slf.get().list(py);
        let class_name = if slf.is_exact_instance_of::<Headers>() {
            intern!(py, "Headers").clone().into_any()
        } else {
            slf.getattr(intern!(py, "__class__"))?
                .getattr(intern!(py, "__name__"))?
        };
        if let Some(name) = exact_str(&class_name) {
            if let Some(body) = list_repr_fast(&list)? {
                let mut out = String::with_capacity(name.len() + body.len() + 2);
                out.push_str(name);
                out.push('(');
                out.push_str(&body);
                out.push(')');
                return Ok(PyString::new(py, &out).into_any());
            }
        }
        let args = PyTuple::new(py, [class_name, list.into_any()])?;
        intern!(py, "%s(%r)").rem(args)
    }

    /// Returns the headers as `Name: value` lines, each ending in CRLF, then a blank line.
    ///
    /// Holds the GIL (no I/O).
    pub(super) fn __str__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        render(&slf.get().list(slf.py()))
    }

    /// Returns `str(self)` encoded as ISO-8859-1.
    ///
    /// Holds the GIL (no I/O).
    pub(super) fn __bytes__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let text = if inherits(slf, &STR)? {
            let list = slf.get().list(py);
            if let Some(text) = render_fast(&list) {
                if let Some(bytes) = crate::pep3333::latin1::encode(&text) {
                    return Ok(PyBytes::new(py, &bytes).into_any());
                }
                PyString::new(py, &text).into_any()
            } else {
                render(&list)?
            }
        } else {
            slf.str()?.into_any()
        };
        text.call_method1(intern!(py, "encode"), (intern!(py, "iso-8859-1"),))
    }

    /// Returns the value of the first header named `name` (any case); if there is none, appends
    /// `(name, value)` and returns `value`.
    ///
    /// Holds the GIL (no I/O).
    pub(super) fn setdefault<'py>(
        slf: &Bound<'py, Self>,
        name: Bound<'py, PyAny>,
        value: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let found = get_dispatch(slf, &name)?;
        if !found.is_none() {
            return Ok(found);
        }
        let list = slf.get().list(py);
        let conv = Conv::of(slf)?;
        let name = conv.convert(name, true)?;
        let checked = conv.convert(value.clone(), false)?;
        list.append(PyTuple::new(py, [name, checked])?)?;
        Ok(value)
    }

    /// Appends header `_name` with value `_value` (may be None) followed by MIME parameters
    /// from the keywords: underscores become dashes, a None value gives the bare key, any
    /// other value is written `key="value"` with backslash and double quote escaped.
    ///
    /// Holds the GIL (no I/O).
    #[pyo3(signature = (_name, _value, **_params))]
    fn add_header<'py>(
        slf: &Bound<'py, Self>,
        _name: Bound<'py, PyAny>,
        _value: Bound<'py, PyAny>,
        _params: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<()> {
        let py = slf.py();
        let conv = Conv::of(slf)?;
        if conv.is_native() {
            if let Some(joined) = add_header_text(&_name, &_value, _params)? {
                let list = slf.get().list(py);
                let joined = PyString::new(py, &joined);
                return list.append(PyTuple::new(py, [_name, joined.into_any()])?);
            }
        }
        // General case (a subclass's own check, or strings that are not valid UTF-8).
        let parts = PyList::empty(py);
        if !_value.is_none() {
            parts.append(conv.convert(_value, false)?)?;
        }
        if let Some(params) = _params {
            for (key, value) in params.iter() {
                let key = conv.convert(key, true)?;
                let dashed = |key: &Bound<'py, PyAny>| {
                    key.call_method1(intern!(py, "replace"), (intern!(py, "_"), intern!(py, "-")))
                };
                if value.is_none() {
                    parts.append(dashed(&key)?)?;
                } else {
                    let value = conv.convert(value, false)?;
                    let format_param = crate::pyhelpers::format_param(py)?;
                    parts.append(format_param.call1((dashed(&key)?, value))?)?;
                }
            }
        }
        let list = slf.get().list(py);
        let name = conv.convert(_name, true)?;
        let joined = intern!(py, "; ").call_method1(intern!(py, "join"), (parts,))?;
        list.append(PyTuple::new(py, [name, joined])?)
    }

    /// Returns the state for copy and pickle: the instance dict (or None) and the list.
    ///
    /// Holds the GIL (no I/O).
    fn __getstate__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let dict = slf.getattr(intern!(py, "__dict__"))?;
        let dict = if dict.is_truthy()? {
            dict
        } else {
            py.None().into_bound(py)
        };
        let slots = PyDict::new(py);
        slots.set_item(intern!(py, "_headers"), slf.get().list(py))?;
        PyTuple::new(py, [dict, slots.into_any()])
    }
}

/// `[k for k, v in list]` (`index` 0) or `[v for k, v in list]` (`index` 1).
fn pick<'py>(slf: &Bound<'py, Headers>, index: usize) -> PyResult<Bound<'py, PyList>> {
    let py = slf.py();
    let list = slf.get().list(py);
    let out = live_pairs(&list)
        .map(|pair| pair.map(|(key, value)| if index == 0 { key } else { value }))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, out)
}
