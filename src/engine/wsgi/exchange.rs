//! One request/response exchange: the connection, the request body as the application reads it
//! ([`RequestBody`]) and the response as it goes out ([`Response`]), and where the two meet (an
//! `Expect: 100-continue` answered by a final response instead; a whole small response held
//! back only once the body is read).
//!
//! An `Exchange` sits behind a mutex shared by the executor and the Python objects the
//! application holds (`wsgi.input`, `start_response`, `write`). Its methods do socket I/O and are
//! called with the GIL released; once the exchange is over the executor takes the connection
//! back and those objects see an empty body.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use crate::engine::http::chunked::ChunkError;
use crate::engine::http::parse::RequestHead;
use crate::engine::net::conn::Conn;
use crate::engine::wsgi::body::RequestBody;
use crate::engine::wsgi::response::{Response, Server};
use crate::engine::wsgi::settings::Settings;

pub struct Exchange {
    pub conn: Option<Box<Conn>>,
    body: RequestBody,
    pub response: Response,
    /// Set when the body was malformed or the client went away: the connection must close.
    pub broken: bool,
    timeout: Duration,
    /// The server's software name and whether it is stopping.
    settings: Arc<Settings>,
}

/// What the response says of the server, as `settings` have it now.
fn server(settings: &Settings, timeout: Duration) -> Server<'_> {
    Server {
        software: &settings.server_software,
        stopping: settings.stop.stopping(),
        timeout,
    }
}

impl Exchange {
    pub fn new(mut conn: Box<Conn>, head: &RequestHead, settings: Arc<Settings>) -> Self {
        let response = Response::new(head, std::mem::take(&mut conn.head_buffer));
        Exchange {
            body: RequestBody::new(head, &settings.limits),
            conn: Some(conn),
            response,
            broken: false,
            timeout: settings.timeout,
            settings,
        }
    }

    // --- the request body ----------------------------------------------------------------------

    /// Why the chunked body was refused (malformed, or over the limit), if it was: found while
    /// the app read it, or in what has arrived so far.
    pub fn refused_body(&mut self) -> Option<ChunkError> {
        self.body
            .refused(self.conn.as_deref_mut(), &mut self.broken)
    }

    /// `limit` body bytes (all that is left when `None`), fewer only at the end of the body.
    pub fn read(&mut self, limit: Option<usize>) -> io::Result<Vec<u8>> {
        let conn = self.conn.as_deref_mut();
        self.body.read(conn, &mut self.broken, self.timeout, limit)
    }

    /// How much of a body framed by its length is left; None for a chunked body.
    pub fn length_left(&self) -> Option<u64> {
        self.body.length_left()
    }

    /// Fills `dst` with body bytes (fewer only at the end of the body). The count.
    pub fn read_into(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        let conn = self.conn.as_deref_mut();
        self.body
            .read_into(conn, &mut self.broken, self.timeout, dst)
    }

    /// One line of the body, through `\n`, at most `limit` bytes.
    pub fn readline(&mut self, limit: Option<usize>) -> io::Result<Vec<u8>> {
        let conn = self.conn.as_deref_mut();
        self.body
            .readline(conn, &mut self.broken, self.timeout, limit)
    }

    /// Reads and drops what is left of the body, up to `max` bytes, so that the next request on
    /// the connection can be read; false when that was not possible.
    pub fn discard_body(&mut self, max: usize) -> bool {
        let conn = self.conn.as_deref_mut();
        self.body.discard(conn, &mut self.broken, self.timeout, max)
    }

    // --- the response --------------------------------------------------------------------------

    /// Before the head goes out: a final answer before the application asked for the body. The
    /// client will not send it (or not in a way we could skip reliably), and a 100 may no longer
    /// follow: the connection closes after the response.
    fn before_head(&mut self) {
        if !self.response.headers_sent && self.body.cancel_continue() {
            self.response.keep_alive = false;
        }
    }

    /// Whether [`send`](Self::send) of `len` bytes would only put the response in the
    /// connection's `out`, to be written later (so the caller may keep the GIL).
    pub fn defers(&self, len: usize, one_chunk: bool) -> bool {
        let body_done = self.body.done();
        self.response
            .defers(self.conn.as_deref(), len, one_chunk, body_done)
    }

    /// Sends a body chunk, preceded by the head when it has not gone yet (see
    /// [`Response::send`]).
    pub fn send(&mut self, data: &[u8], one_chunk: bool) -> io::Result<()> {
        self.before_head();
        let (conn, body_done) = (self.conn.as_deref_mut(), self.body.done());
        let server = server(&self.settings, self.timeout);
        self.response
            .send(conn, &mut self.broken, data, one_chunk, body_done, &server)
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends the head of a response whose body is `len` bytes of a file, and gives the socket's
    /// descriptor and how many bytes to copy into it (None: no body goes out, as for HEAD).
    pub fn start_file(&mut self, len: u64) -> io::Result<Option<(std::os::fd::RawFd, u64)>> {
        self.before_head();
        let conn = self.conn.as_deref_mut();
        let server = server(&self.settings, self.timeout);
        self.response
            .start_file(conn, &mut self.broken, len, &server)
    }

    /// Whether [`finish`](Self::finish) and [`discard_body`](Self::discard_body) could do socket
    /// I/O: false once a response framed by its length is sent whole and the body is read.
    pub fn finish_needs_io(&self) -> bool {
        self.response.finish_needs_io(self.body.done())
    }

    /// Ends the response: the head if nothing was sent, the last chunk of a chunked body (see
    /// [`Response::finish`]).
    pub fn finish(&mut self) -> io::Result<()> {
        self.before_head();
        let (conn, body_done) = (self.conn.as_deref_mut(), self.body.done());
        let server = server(&self.settings, self.timeout);
        self.response
            .finish(conn, &mut self.broken, body_done, &server)
    }

    /// Forgets a response that was started but not sent, for the error page.
    pub fn reset_response(&mut self) {
        self.response.reset();
    }

    /// The connection back from a finished exchange, holding the head's buffer for its next
    /// response; None once it has been taken.
    pub fn take_conn(&mut self) -> Option<Box<Conn>> {
        let mut conn = self.conn.take()?;
        conn.head_buffer = self.response.head.take_buffer();
        // The exchange may outlive its request (see `request_objects`): it keeps no body.
        self.body.release();
        Some(conn)
    }
}
