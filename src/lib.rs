//! wsgiref-rs: the standard library's `wsgiref`, implemented in Rust.
//!
//! This file only declares the native module `wsgiref_rs._native` and registers
//! the pieces; each concept lives in its own file.

#![deny(clippy::undocumented_unsafe_blocks)]

use pyo3::prelude::*;

pub mod engine;
pub mod handlers;
pub mod headers;
pub mod pep3333;
mod pyhelpers;
pub mod util;

/// `gil_used = true`: no free-threaded interpreter has run the test suite yet (none can be
/// installed where it runs), so on one (3.13t, 3.14t) importing the module keeps the GIL on, as
/// CPython does for a module that does not declare itself free-threading-safe, rather than risk
/// data races in the engine's `unsafe` code. Lift it once a free-threaded interpreter passes.
#[pymodule(gil_used = true)]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // Rust `log` records go to Python `logging` under the `wsgiref_rs` loggers. Levels are not
    // cached, so a level set in Python at any time is honoured: the engine logs only rare events
    // (a refused request, a connection closed by a limit), never once per request.
    if let Ok(logger) = pyo3_log::Logger::new(m.py(), pyo3_log::Caching::Loggers) {
        let _ = logger.install();
    }
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    util::register(m)?;
    headers::register(m)?;
    handlers::register(m)?;
    engine::register(m)?;
    Ok(())
}
