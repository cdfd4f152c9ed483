//! Small pieces the handler steps share: attribute access (the instance dict when that is
//! exact), Python-style assertions, and the "currently handled exception".

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use super::dispatch::Hook;
use super::instance::HandlerCore;

/// Calls an overridden hook through Python.
pub fn call_py<'py>(slf: &Bound<'py, PyAny>, hook: Hook) -> PyResult<Bound<'py, PyAny>> {
    slf.call_method0(PyString::new(slf.py(), hook.name()))
}

/// `self.<name>` with an interned name: the instance dict first when that is exact (per-request
/// state during `run()`), else ordinary attribute access.
macro_rules! attr {
    ($obj:expr, $name:literal) => {
        $crate::handlers::support::get_state($obj, pyo3::intern!($obj.py(), $name))
    };
}

/// `self.<name> = value` with an interned name.
macro_rules! set_attr {
    ($obj:expr, $name:literal, $value:expr) => {
        $crate::handlers::support::set_state($obj, pyo3::intern!($obj.py(), $name), $value)
    };
}

/// The instance dict of a handler being run whose class keeps its state plain (see
/// [`Dispatch::plain_state`]); `None` when attribute access must go the ordinary way.
fn plain_dict<'py>(slf: &Bound<'py, PyAny>) -> Option<Bound<'py, PyDict>> {
    let core = slf.cast::<HandlerCore>().ok()?;
    if !core.get().running_dispatch()?.plain_state() {
        return None;
    }
    // SAFETY: PyObject_GenericGetDict returns a new reference to the instance dict (created if
    // needed) or NULL with an exception set, which we clear: the caller falls back to getattr.
    let dict = unsafe {
        Bound::from_owned_ptr_or_err(
            slf.py(),
            pyo3::ffi::PyObject_GenericGetDict(slf.as_ptr(), std::ptr::null_mut()),
        )
    };
    dict.ok()?.cast_into::<PyDict>().ok()
}

pub fn get_state<'py>(
    slf: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
) -> PyResult<Bound<'py, PyAny>> {
    if let Some(dict) = plain_dict(slf) {
        if let Some(value) = dict.get_item(name)? {
            return Ok(value);
        }
    }
    slf.getattr(name)
}

pub fn set_state<'py, V: IntoPyObject<'py>>(
    slf: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
    value: V,
) -> PyResult<()> {
    let value = pyo3::IntoPyObjectExt::into_bound_py_any(value, slf.py())?;
    match plain_dict(slf) {
        Some(dict) => dict.set_item(name, value),
        None => slf.setattr(name, value),
    }
}

pub(crate) use {attr, set_attr};

/// Runs `f` as if inside `except:` for `err`: `sys.exc_info()` answers `err`, and an exception
/// raised by `f` gets `err` as its `__context__`, as Python does in an except block.
pub fn while_handling<T>(
    py: Python<'_>,
    err: &PyErr,
    f: impl FnOnce() -> PyResult<T>,
) -> PyResult<T> {
    let value = err.value(py);
    let ty = value.get_type();
    let tb = err.traceback(py).or_else(|| traceback_here(py, err));
    // Since 3.11 the handled exception is only its value: make sure the value carries its
    // traceback, or `sys.exc_info()[2]` (and so the logged traceback) would be empty.
    if let Some(tb) = &tb {
        value.setattr(pyo3::intern!(py, "__traceback__"), tb)?;
    }
    let mut saved = (
        std::ptr::null_mut(),
        std::ptr::null_mut(),
        std::ptr::null_mut(),
    );
    // SAFETY: PyErr_GetExcInfo hands us new references (or NULL), which PyErr_SetExcInfo below
    // steals back when we restore them; the references we install are new ones we own (into_ptr).
    unsafe {
        pyo3::ffi::PyErr_GetExcInfo(&mut saved.0, &mut saved.1, &mut saved.2);
        pyo3::ffi::PyErr_SetExcInfo(
            ty.into_ptr(),
            value.clone().into_ptr(),
            tb.map_or(std::ptr::null_mut(), |t| t.into_ptr()),
        );
    }
    let out = f();
    // SAFETY: restores the references taken above; ownership passes back to the interpreter.
    unsafe { pyo3::ffi::PyErr_SetExcInfo(saved.0, saved.1, saved.2) };
    out
}

/// A traceback for an exception raised in Rust, which has none: one entry for the Python frame
/// that called into us, as the interpreter would add had the exception passed through it.
fn traceback_here<'py>(
    py: Python<'py>,
    err: &PyErr,
) -> Option<Bound<'py, pyo3::types::PyTraceback>> {
    // SAFETY: PyEval_GetFrame returns a borrowed frame (or NULL); PyTraceBack_Here adds an entry
    // for it to the exception currently set, which we set just before and fetch right after.
    unsafe {
        let frame = pyo3::ffi::PyEval_GetFrame();
        if frame.is_null() {
            return None;
        }
        err.clone_ref(py).restore(py);
        pyo3::ffi::PyTraceBack_Here(frame);
    }
    PyErr::take(py).and_then(|e| e.traceback(py))
}
