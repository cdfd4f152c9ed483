//! What a `HandlerCore` instance holds: the hook resolution of the request `run()` is serving.
//! Its methods are in `core.rs`; the other files take the instance from here.

use std::sync::atomic::{AtomicU64, Ordering};

use pyo3::prelude::*;

use super::dispatch::Dispatch;

/// Native core of BaseHandler: the per-request steps of CPython's wsgiref.handlers, in Rust.
#[pyclass(subclass, dict, frozen, module = "wsgiref_rs.handlers")]
pub struct HandlerCore {
    /// The hook resolution of the request being run by `run()`, packed; 0 outside `run()`.
    pub(super) dispatch: AtomicU64,
}

impl HandlerCore {
    /// The hook resolution `run()` made for the request under way, if one is.
    pub fn running_dispatch(&self) -> Option<Dispatch> {
        Dispatch::unpack(self.dispatch.load(Ordering::Relaxed))
    }
}
