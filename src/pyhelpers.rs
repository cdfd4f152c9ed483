//! Tiny Python helpers for the rare paths where the interpreter's own semantics are the spec,
//! the one interpreter flag the stdlib's checks depend on, and the two small pieces every native
//! module needs: the text of an exact `str`, and an optional argument told apart from `None`.
//!
//! The helpers are compiled once, on first use; the fast paths never touch them.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyList, PyModule, PyString, PyTuple};

/// Python source of the helpers whose exact semantics (error messages included) are easiest to
/// get by letting the interpreter run them.
const SOURCE: &std::ffi::CStr = cr#"
def unpack_pair(item):
    first, second = item
    return first, second


def format_param(key, value):
    if value is not None and len(value) > 0:
        value = value.replace('\\', '\\\\').replace('"', '\\"')
        return '%s="%s"' % (key, value)
    return key
"#;

struct Helpers {
    /// `unpack_pair(item)`: `first, second = item` with Python's unpacking errors.
    unpack_pair: Py<PyAny>,
    /// `format_param(key, value)`: one MIME parameter, for values of any type.
    format_param: Py<PyAny>,
}

fn helpers(py: Python<'_>) -> PyResult<&Helpers> {
    static HELPERS: PyOnceLock<Helpers> = PyOnceLock::new();
    HELPERS.get_or_try_init(py, || {
        let module =
            PyModule::from_code(py, SOURCE, c"<wsgiref_rs helpers>", c"wsgiref_rs._helpers")?;
        Ok(Helpers {
            unpack_pair: module.getattr("unpack_pair")?.unbind(),
            format_param: module.getattr("format_param")?.unbind(),
        })
    })
}

/// `first, second = item`: fast for an exact 2-tuple, else through the interpreter, so anything
/// else unpacks (or fails to) exactly as in Python.
pub fn unpack_pair<'py>(
    item: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    if let Ok(t) = item.cast_exact::<PyTuple>() {
        if t.len() == 2 {
            return Ok((t.get_item(0)?, t.get_item(1)?));
        }
    }
    let py = item.py();
    let pair = helpers(py)?.unpack_pair.bind(py).call1((item,))?;
    let pair = pair.cast_into::<PyTuple>()?;
    Ok((pair.get_item(0)?, pair.get_item(1)?))
}

/// `for item in list`, as Python's list iterator runs it: the length is read again before each
/// item, so a list that Python code grows or shrinks mid-loop is followed (PyO3's own list
/// iterator never goes past the length it started with).
pub fn live_items<'a, 'py>(
    list: &'a Bound<'py, PyList>,
) -> impl Iterator<Item = PyResult<Bound<'py, PyAny>>> + 'a {
    let mut i = 0;
    std::iter::from_fn(move || {
        if i >= list.len() {
            return None;
        }
        let item = list.get_item(i);
        i += 1;
        Some(item)
    })
}

/// `for first, second in list`: [`live_items`], each item unpacked by [`unpack_pair`].
pub fn live_pairs<'a, 'py>(
    list: &'a Bound<'py, PyList>,
) -> impl Iterator<Item = PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)>> + 'a {
    live_items(list).map(|item| unpack_pair(&item?))
}

/// The `format_param(key, value)` helper (the stdlib's `_formatparam` with `quote=1`).
pub fn format_param(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    Ok(helpers(py)?.format_param.bind(py))
}

/// The `sys` module, imported once (an import per call costs a lookup through the import
/// machinery, and a failed attribute lookup inside it).
pub fn sys_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    static SYS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    SYS.get_or_try_init(py, || py.import("sys").map(Bound::unbind))
        .map(|m| m.bind(py))
}

/// Whether `start_response` checks the status: always from Python 3.12 on, where
/// `BaseHandler._validate_status` raises `AssertionError`; before, only unless `-O` strips the
/// `assert` statements that make the checks.
pub fn status_checked(py: Python<'_>) -> bool {
    cfg!(Py_3_12) || debug_enabled(py)
}

/// True unless Python runs with `-O`: CPython strips `assert` statements and `if __debug__:`
/// blocks then, and we skip the same checks.
pub fn debug_enabled(py: Python<'_>) -> bool {
    static ENABLED: PyOnceLock<bool> = PyOnceLock::new();
    *ENABLED.get_or_init(py, || {
        py.import("sys")
            .and_then(|sys| sys.getattr("flags"))
            .and_then(|flags| flags.getattr("optimize"))
            .and_then(|o| o.extract::<i64>())
            .map(|o| o == 0)
            .unwrap_or(true)
    })
}

/// The Rust text of `value` when it is an exact `str` without lone surrogates: the test every
/// fast path starts with (a `str` subclass may override anything, so it never qualifies).
pub fn exact_str<'a>(value: &'a Bound<'_, PyAny>) -> Option<&'a str> {
    value.cast_exact::<PyString>().ok()?.to_str().ok()
}

/// An optional argument whose default is supplied by the function body, so that an
/// explicit `None` stays distinguishable from "not given".
pub struct Given<'py>(pub Option<Bound<'py, PyAny>>);

impl<'a, 'py> FromPyObject<'a, 'py> for Given<'py> {
    type Error = std::convert::Infallible;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> Result<Self, Self::Error> {
        Ok(Given(Some(obj.to_owned())))
    }
}
