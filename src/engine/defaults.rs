//! Every engine setting's default, defined here once.
//!
//! The `Engine` signature takes its defaults from these constants, and Python reads them as
//! `wsgiref_rs._native.DEFAULTS` (a dict keyed by the setting's name, the same name as the
//! `Engine` keyword, the `wsgiref-rs` option without its dashes, the `serve()` argument and the
//! `WSGIServer` attribute): the command line, `serve()`, `make_server` and the stub agree by
//! construction, and `tests/test_settings.py` checks that they do.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::http::limits::Limits;

/// Seconds a request's socket reads and writes may wait (`WSGIServer.engine_timeout`).
pub const ENGINE_TIMEOUT: f64 = 60.0;
/// Seconds an idle keep-alive connection is kept open.
pub const KEEPALIVE_TIMEOUT: f64 = 5.0;
/// Seconds a client has to send a request's head once it started one.
pub const HEADER_TIMEOUT: f64 = 10.0;
/// Connections served at once; more wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 10_000;
/// Worker threads running the application; 0 runs it on the loop's thread.
pub const THREADS: usize = 0;
/// The request limits (request line, header fields, header section, body): see [`Limits`].
pub const LIMIT_REQUEST_LINE: usize = Limits::DEFAULT.limit_request_line;
pub const LIMIT_REQUEST_FIELDS: usize = Limits::DEFAULT.limit_request_fields;
pub const LIMIT_REQUEST_FIELD_SIZE: usize = Limits::DEFAULT.limit_request_field_size;
pub const LIMIT_REQUEST_BODY: Option<u64> = Limits::DEFAULT.limit_request_body;

/// Add `DEFAULTS` to the native module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let defaults = PyDict::new(m.py());
    defaults.set_item("engine_timeout", ENGINE_TIMEOUT)?;
    defaults.set_item("keepalive_timeout", KEEPALIVE_TIMEOUT)?;
    defaults.set_item("header_timeout", HEADER_TIMEOUT)?;
    defaults.set_item("max_connections", MAX_CONNECTIONS)?;
    defaults.set_item("threads", THREADS)?;
    defaults.set_item("limit_request_line", LIMIT_REQUEST_LINE)?;
    defaults.set_item("limit_request_fields", LIMIT_REQUEST_FIELDS)?;
    defaults.set_item("limit_request_field_size", LIMIT_REQUEST_FIELD_SIZE)?;
    defaults.set_item("limit_request_body", LIMIT_REQUEST_BODY)?;
    m.add("DEFAULTS", defaults)
}
