//! `wsgiref.handlers`: the per-request work of `BaseHandler` and `SimpleHandler`, in Rust.
//!
//! The Python classes users subclass live in `python/wsgiref_rs/handlers.py`; they derive from
//! [`core::HandlerCore`], which carries every method of CPython's `BaseHandler` (and, under
//! private names, `SimpleHandler`'s stream methods) implemented natively. Handler state (`status`,
//! `headers`, `result`, `environ`, `bytes_sent`, `headers_sent`, ...) lives in the instance
//! `__dict__` exactly as in CPython, so subclasses and tests that read or set it keep working.
//! [`hooks`] decides, per class and per instance, which steps may run in Rust and which must go
//! through a Python override; `dispatch.rs` holds that resolution packed in one word, and
//! `instance.rs` what a `HandlerCore` instance keeps.
//!
//! GIL: every function here holds the GIL and does no I/O of its own; output goes to the
//! handler's Python stream objects.
//!
//! May use [`crate::pep3333`], `pyhelpers`, and the public pieces of `util` (`Environ`,
//! `guess_scheme`) and `headers` (`Headers` and its Rust API).

use pyo3::prelude::*;

pub mod core;
mod dispatch;
mod flow;
pub mod hooks;
mod instance;
pub(crate) mod response;
mod simple;
pub(crate) mod support;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<core::HandlerCore>()?;
    m.add_function(wrap_pyfunction!(crate::pep3333::date::format_date_time, m)?)?;
    Ok(())
}
