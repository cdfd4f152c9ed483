//! The native HTTP/1.1 engine behind `WSGIServer.serve_forever()`, `wsgiref_rs.serve()` and the
//! `wsgiref-rs` command.
//!
//! # The map
//! Each folder may use the ones listed before it, never one after:
//!
//! - [`http`]: the protocol, pure (no GIL, no I/O, fuzzed): request heads, bodies, limits, the
//!   Host field, trusted proxy headers.
//! - `net`: sockets and syscalls: listeners, client streams and their peers, reads and
//!   writes with deadlines, the connection and its buffers, `sendfile(2)`.
//! - `wsgi`: the application call: the environ, the request body and the response as the
//!   application sees them, the callables it receives, one request served from start to end.
//! - Here, on top: [`defaults`] (every setting's default), `serve` (the `Engine` class),
//!   `event_loop` (accepting, reading, serving, draining), `pool` (the worker threads) and
//!   `stop` (how serving is asked to stop).
//!
//! What the engine shares with the compatibility layer (`util`, `headers`, `handlers`) lives in
//! [`crate::pep3333`]; of that layer the engine uses only the public classes an application
//! receives (`Headers`, `FileWrapper`), never its internals.
//!
//! # The GIL contract
//! The GIL is held only to build a request's environ, call the application and take the next
//! chunk of its result (and, in the objects the application holds, to turn bytes into Python
//! objects). Every syscall, from `accept` and `epoll_wait` to `recv`, `writev` and
//! `sendfile`, runs with the GIL released. A function that releases it says so in its
//! documentation ("Releases the GIL ..."); everything in `http` and `net` runs without it.

pub mod defaults;
pub mod http;

#[cfg(unix)]
mod event_loop;
#[cfg(unix)]
mod net;
#[cfg(unix)]
mod pool;
#[cfg(unix)]
mod serve;
#[cfg(unix)]
mod stop;
#[cfg(unix)]
mod wsgi;

use pyo3::prelude::*;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    defaults::register(m)?;
    #[cfg(unix)]
    {
        m.add_class::<serve::Engine>()?;
        m.add_class::<wsgi::callables::Input>()?;
        m.add_class::<wsgi::callables::StartResponse>()?;
        m.add_class::<wsgi::callables::Write>()?;
        m.add_class::<wsgi::scoreboard::Scoreboard>()?;
        m.add_function(pyo3::wrap_pyfunction!(serve::check_tls, m)?)?;
        m.add_function(pyo3::wrap_pyfunction!(
            wsgi::scoreboard::resident_memory,
            m
        )?)?;
        let py = m.py();
        m.add(
            "METRICS_METHODS",
            pyo3::types::PyTuple::new(py, wsgi::metrics::METHODS)?,
        )?;
        m.add(
            "METRICS_BUCKETS",
            pyo3::types::PyTuple::new(py, wsgi::metrics::BUCKETS)?,
        )?;
        m.add(
            "REQUEST_KEYS",
            pyo3::types::PyFrozenSet::new(m.py(), wsgi::environ::REQUEST_KEYS)?,
        )?;
    }
    Ok(())
}
