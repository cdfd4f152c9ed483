//! The native HTTP/1.1 engine behind `WSGIServer.serve_forever()`.
//!
//! Pure Rust, no GIL, no I/O: [`limits`] (the bounds a connection is held to), [`parse`] (a
//! request head parsed with httparse, framing decided as RFC 9112 section 6 asks, smuggling
//! refused), [`host`] (the Host field and absolute-form targets, RFC 9112 section 3.2) and
//! [`chunked`] (an incremental decoder that never reads past the body).
//!
//! On Unix, the engine itself: `serve` (the `Engine` class), `event_loop` (accepting, reading,
//! draining), `stop` (how serve_forever is asked to stop), `listener` and `stream` (TCP or
//! Unix-domain sockets), `forwarded` (trusted proxy headers), `pool` (worker threads), `conn`
//! (a connection and its buffer), `io` (reads and writes with deadlines),
//! `request` (one request: environ, application, response), `environ`, `exchange` (the body
//! read and the response written), `objects` (`wsgi.input`, `start_response`, `write`),
//! `start_fast` (the common `start_response` call checked natively) and `sendfile`.

pub mod chunked;
pub mod defaults;
pub mod fields;
pub mod host;
pub mod limits;
pub mod parse;

#[cfg(unix)]
mod conn;
#[cfg(unix)]
mod digits;
#[cfg(unix)]
mod environ;
#[cfg(unix)]
mod event_loop;
#[cfg(unix)]
mod exchange;
#[cfg(unix)]
mod file_send;
#[cfg(unix)]
mod forwarded;
#[cfg(unix)]
mod io;
#[cfg(unix)]
mod listener;
#[cfg(unix)]
mod objects;
#[cfg(unix)]
mod pool;
#[cfg(unix)]
mod request;
#[cfg(unix)]
mod request_objects;
#[cfg(unix)]
mod sendfile;
#[cfg(unix)]
mod serve;
#[cfg(unix)]
mod start_fast;
#[cfg(unix)]
mod started;
#[cfg(unix)]
mod stop;
#[cfg(unix)]
mod stream;

use pyo3::prelude::*;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    defaults::register(m)?;
    #[cfg(unix)]
    {
        m.add_class::<serve::Engine>()?;
        m.add_class::<objects::Input>()?;
        m.add_class::<objects::StartResponse>()?;
        m.add_class::<objects::Write>()?;
    }
    let _ = m;
    Ok(())
}
