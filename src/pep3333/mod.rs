//! What PEP 3333 and HTTP ask of a WSGI server's response, written once for both layers: the
//! compatibility layer (`util`, `headers`, `handlers`) and the native engine use these, and
//! neither reaches into the other's internals.
//!
//! [`start_response`] (the status and header checks CPython's `BaseHandler` makes, and what it
//! raises once the headers are sent), [`header_fields`] (control characters, hop-by-hop names),
//! [`latin1`] (native strings out as Latin-1, with the interpreter's own errors), [`date`] (the
//! HTTP date) and [`errors`] (the error page, a client gone).
//!
//! May use `pyhelpers` only: the compatibility layer and the engine use this, never the reverse.

pub mod date;
pub mod errors;
pub mod header_fields;
pub mod latin1;
pub mod start_response;
