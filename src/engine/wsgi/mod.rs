//! The application call (PEP 3333): [`settings`] (what every request of a server shares),
//! [`environ`] (a request's environ), [`body`] (the request body as the application reads it),
//! [`response`] (the response as it goes out), [`exchange`] (one request's connection, body and
//! response, and where the two meet), [`response_head`] (the status and headers given to
//! `start_response`, checked and kept as they go on the wire), [`callables`] (`wsgi.input`,
//! `start_response` and `write`), [`recycled`] (those objects reused from one request to the
//! next), [`file_response`] (a `wsgi.file_wrapper` answered with `sendfile(2)`), [`request`]
//! (one request served from its head to its last byte), [`scoreboard`] (what a worker
//! process shows its supervisor of the requests in the application) and [`metrics`] (what it
//! counts there for `--metrics-bind`).
//!
//! May use `http`, `net`, the stop signal (`stop.rs`), [`crate::pep3333`] and the public classes
//! the application receives (`headers::Headers`, `util::FileWrapper`); never the loop above.

pub mod body;
pub mod callables;
pub mod environ;
pub mod exchange;
pub mod file_response;
pub mod metrics;
pub mod recycled;
pub mod request;
pub mod response;
pub mod response_head;
pub mod scoreboard;
pub mod settings;
