//! What a `Headers` instance holds: the caller's list of `(name, value)` tuples, the very list
//! object. The methods Python sees are in `class.rs`; the other files take the instance from here.

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::PyList;

/// Manage a collection of HTTP response headers.
///
/// Wraps the list of (name, value) tuples it is given (the very list, not a copy); names are
/// compared case-insensitively and the order of the list is kept.
#[pyclass(
    frozen,
    sequence,
    subclass,
    dict,
    weakref,
    module = "wsgiref_rs.headers"
)]
pub struct Headers {
    headers: Mutex<Py<PyList>>,
}

impl Headers {
    /// A new `Headers` wrapping `list` (no checks: Rust callers know their data).
    pub fn wrap(list: Bound<'_, PyList>) -> Self {
        Headers {
            headers: Mutex::new(list.unbind()),
        }
    }

    /// The wrapped list (the very object, so changes to it are changes to the headers).
    pub fn list<'py>(&self, py: Python<'py>) -> Bound<'py, PyList> {
        self.headers.lock().bind(py).clone()
    }

    /// Makes `list` the wrapped list.
    pub fn set_list(&self, list: Bound<'_, PyList>) {
        let old = std::mem::replace(&mut *self.headers.lock(), list.unbind());
        // The old list is released after the lock, as its destruction may run Python code.
        drop(old);
    }
}
