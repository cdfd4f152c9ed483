//! When the application fails: the error page both layers send (`BaseHandler.error_body`), and
//! the test that tells a client that went away from a failure of the application's.

use pyo3::exceptions::{PyBrokenPipeError, PyConnectionAbortedError, PyConnectionResetError};
use pyo3::prelude::*;

/// `BaseHandler.error_body`: the body of the 500 sent when the application raised.
pub const ERROR_BODY: &[u8] = b"A server error occurred.  Please contact the administrator.";

/// Whether `err` says the client went away (a broken pipe, a reset or aborted connection): as in
/// CPython's `BaseHandler.run`, that is not the application's error and is not reported.
pub fn client_gone(py: Python<'_>, err: &PyErr) -> bool {
    err.is_instance_of::<PyBrokenPipeError>(py)
        || err.is_instance_of::<PyConnectionResetError>(py)
        || err.is_instance_of::<PyConnectionAbortedError>(py)
}
