//! The native HTTP/1.1 engine behind `WSGIServer.serve_forever()`.
//!
//! Nothing here is registered with Python yet. The pieces built so far are pure
//! Rust, hold no GIL and do no I/O:
//!
//! - [`limits`]: the bounds every connection is held to (request line, header
//!   section, header count, body size).
//! - [`parse`]: a request head (request line and header fields) parsed with
//!   httparse into a [`parse::RequestHead`], with the message framing decided
//!   the way RFC 9112 section 6 asks (and request smuggling refused).
//! - [`chunked`]: an incremental decoder for the chunked transfer coding that
//!   never reads past the end of the body, so pipelined requests stay intact.

pub mod chunked;
pub mod limits;
pub mod parse;

#[cfg(unix)]
mod conn;
#[cfg(unix)]
mod environ;
#[cfg(unix)]
mod exchange;
#[cfg(unix)]
mod io;
#[cfg(unix)]
mod objects;
#[cfg(unix)]
mod pool;
#[cfg(unix)]
mod request;
#[cfg(unix)]
mod sendfile;
#[cfg(unix)]
mod serve;

use pyo3::prelude::*;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
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
