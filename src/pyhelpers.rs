//! Tiny Python helpers for the rare paths where the interpreter's own semantics are the spec.
//!
//! Compiled once, on first use. The fast paths never touch them.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyModule, PyTuple};

const SOURCE: &std::ffi::CStr = c"
def unpack2(item):
    k, v = item
    return k, v
";

fn module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    MODULE
        .get_or_try_init(py, || {
            PyModule::from_code(py, SOURCE, c"<wsgiref_rs helpers>", c"wsgiref_rs._helpers")
                .map(Bound::unbind)
        })
        .map(|m| m.bind(py))
}

/// `k, v = item`, raising exactly what Python's unpacking raises for anything else.
pub fn unpack2<'py>(item: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTuple>> {
    let py = item.py();
    Ok(module(py)?
        .getattr("unpack2")?
        .call1((item,))?
        .cast_into::<PyTuple>()?)
}
