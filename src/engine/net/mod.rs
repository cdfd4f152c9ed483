//! Sockets and syscalls, with the GIL released: [`listener`] (accepting on TCP or Unix-domain
//! sockets), [`stream`] (a client's socket), [`tls`] (TLS on it, with rustls), [`peer`] (who is at the other end), [`io`] (reads and
//! writes with deadlines), [`conn`] (a connection, its buffers and what the engine keeps for
//! it between requests) and [`sendfile`] (file responses sent in turns with `sendfile(2)`).
//!
//! May use `http`; never `wsgi` or the loop above.

pub mod conn;
pub mod io;
pub mod listener;
pub mod peer;
pub mod sendfile;
pub mod stream;
pub mod tls;
pub mod tls_subject;
