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
use crate::engine::http::limits::Limits;
use crate::engine::http::parse::RequestHead;
use crate::engine::net::conn::Conn;
use crate::engine::wsgi::body::{RequestBody, Wire};
use crate::engine::wsgi::response::{Response, Server, ServerSide};

pub struct Exchange {
    pub conn: Option<Box<Conn>>,
    body: RequestBody,
    pub response: Response,
    /// Set when the body was malformed or the client went away: the connection must close.
    pub broken: bool,
    timeout: Duration,
    /// The server's software name and whether it is stopping.
    server: Arc<ServerSide>,
}

/// What the response says of the server, as it is now.
fn server(side: &ServerSide, timeout: Duration) -> Server<'_> {
    Server {
        software: &side.software,
        stopping: side.stop.stopping(),
        timeout,
    }
}

impl Exchange {
    /// The exchange of the request `head` on `conn`, whose body is held to `limits` and whose
    /// reads and writes may each wait `timeout`.
    pub fn new(
        mut conn: Box<Conn>,
        head: &RequestHead,
        limits: &Limits,
        timeout: Duration,
        server: Arc<ServerSide>,
    ) -> Self {
        let response = Response::new(head, std::mem::take(&mut conn.head_buffer));
        Exchange {
            body: RequestBody::new(head, limits),
            conn: Some(conn),
            response,
            broken: false,
            timeout,
            server,
        }
    }

    // --- the request body ----------------------------------------------------------------------

    /// The body, and the wire it reads from: this exchange's connection, flag and timeout.
    fn body_and_wire(&mut self) -> (&mut RequestBody, Wire<'_>) {
        let wire = Wire {
            conn: self.conn.as_deref_mut(),
            broken: &mut self.broken,
            timeout: self.timeout,
        };
        (&mut self.body, wire)
    }

    /// Why the chunked body was refused (malformed, or over the limit), if it was: found while
    /// the app read it, or in what has arrived so far.
    pub fn refused_body(&mut self) -> Option<ChunkError> {
        let (body, mut wire) = self.body_and_wire();
        body.refused(&mut wire)
    }

    /// `limit` body bytes (all that is left when `None`), fewer only at the end of the body.
    pub fn read(&mut self, limit: Option<usize>) -> io::Result<Vec<u8>> {
        let (body, mut wire) = self.body_and_wire();
        body.read(&mut wire, limit)
    }

    /// How much of a body framed by its length is left; None for a chunked body.
    pub fn length_left(&self) -> Option<u64> {
        self.body.length_left()
    }

    /// Fills `dst` with body bytes (fewer only at the end of the body). The count.
    pub fn read_into(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        let (body, mut wire) = self.body_and_wire();
        body.read_into(&mut wire, dst)
    }

    /// One line of the body, through `\n`, at most `limit` bytes.
    pub fn readline(&mut self, limit: Option<usize>) -> io::Result<Vec<u8>> {
        let (body, mut wire) = self.body_and_wire();
        body.readline(&mut wire, limit)
    }

    /// Reads and drops what is left of the body, up to `max` bytes, so that the next request on
    /// the connection can be read; false when that was not possible.
    pub fn discard_body(&mut self, max: usize) -> bool {
        let (body, mut wire) = self.body_and_wire();
        body.discard(&mut wire, max)
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
        let server = server(&self.server, self.timeout);
        self.response
            .send(conn, &mut self.broken, data, one_chunk, body_done, &server)
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends the head of a response whose body is `len` bytes of a file, and gives how many bytes
    /// of it to send on the connection (None: no body goes out, as for HEAD).
    pub fn start_file(&mut self, len: u64) -> io::Result<Option<u64>> {
        self.before_head();
        let conn = self.conn.as_deref_mut();
        let server = server(&self.server, self.timeout);
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
        let server = server(&self.server, self.timeout);
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
        // The exchange may outlive its request (see `recycled.rs`): it keeps no body.
        self.body.release();
        Some(conn)
    }
}

/// Exchanges over socket pairs, for the engine's tests.
#[cfg(test)]
pub mod testing {
    use std::os::unix::net::UnixStream;

    use pyo3::prelude::*;

    use super::Exchange;
    use crate::engine::http::limits::Limits;
    use crate::engine::http::parse::parse_head;
    use crate::engine::net::conn::testing::{pair, received};
    use crate::engine::net::io::Deadline;
    use crate::engine::wsgi::settings::testing::settings;

    /// The exchange of `request` (a head, and what of the body came with it), on a server whose
    /// application is never called, and its client.
    pub fn exchange(py: Python<'_>, request: &[u8]) -> (Exchange, UnixStream) {
        let (head, len) = parse_head(request, &Limits::default())
            .expect("a valid head")
            .expect("a whole head");
        let (mut conn, client) = pair();
        conn.buf.extend_from_slice(&request[len..]);
        let settings = settings(py, &py.None().into_bound(py));
        (
            Exchange::new(
                conn,
                &head,
                &settings.limits,
                settings.timeout,
                settings.server.clone(),
            ),
            client,
        )
    }

    /// What the client received, with what the connection still held back in `out` written.
    pub fn wire(x: &mut Exchange, client: &mut UnixStream) -> Vec<u8> {
        let timeout = x.timeout();
        if let Some(conn) = x.conn.as_mut() {
            conn.write(&[], Deadline::after(timeout)).expect("written");
        }
        received(client)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::testing::{exchange, wire};
    use super::*;
    use crate::engine::net::conn::testing::received;
    use crate::engine::wsgi::settings::testing::with_python;

    fn started(x: &mut Exchange, status: &str) {
        x.response.head.begin(status);
        x.response.head.push("Date", "today");
    }

    const EXPECT: &[u8] =
        b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";

    #[test]
    fn a_final_answer_before_the_body_is_asked_for_cancels_the_100_and_closes() {
        with_python(|py| {
            let (mut x, mut client) = exchange(py, EXPECT);
            started(&mut x, "413 Content Too Large");
            x.send(b"no", true).unwrap();
            x.finish().unwrap();
            assert!(!x.response.keep_alive);
            assert_eq!(
                wire(&mut x, &mut client),
                b"HTTP/1.1 413 Content Too Large\r\nServer: test-server/1\r\nDate: today\r\n\
                  Content-Length: 2\r\nConnection: close\r\n\r\nno"
            );
        });
    }

    #[test]
    fn a_body_read_first_gets_its_100_and_the_connection_stays() {
        with_python(|py| {
            let (mut x, mut client) = exchange(py, EXPECT);
            client.write_all(b"hello").unwrap();
            assert_eq!(x.read(None).unwrap(), b"hello");
            started(&mut x, "200 OK");
            x.send(b"ok", true).unwrap();
            assert!(x.response.keep_alive);
            assert!(!x.finish_needs_io());
            assert_eq!(
                wire(&mut x, &mut client),
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nServer: test-server/1\r\n\
                  Date: today\r\nContent-Length: 2\r\n\r\nok"
            );
        });
    }

    #[test]
    fn a_small_response_waits_in_out_only_once_the_body_is_read() {
        with_python(|py| {
            let post = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nab";
            let (mut x, mut client) = exchange(py, post);
            started(&mut x, "200 OK");
            assert!(!x.defers(2, true), "one byte of the body is still to come");
            assert!(x.finish_needs_io());
            client.write_all(b"c").unwrap();
            assert_eq!(x.readline(None).unwrap(), b"abc");
            assert!(x.defers(2, true));
            x.send(b"ok", true).unwrap();
            assert_eq!(received(&mut client), b"", "held in out");
            assert!(!x.finish_needs_io());
            x.finish().unwrap();
            let conn = x.take_conn().expect("the connection");
            assert!(conn.out.ends_with(b"Content-Length: 2\r\n\r\nok"));
            assert!(
                conn.head_buffer.capacity() > 0,
                "the head's buffer goes back"
            );
            assert!(x.take_conn().is_none());
        });
    }

    #[test]
    fn nothing_sent_is_finished_with_an_empty_body() {
        with_python(|py| {
            let (mut x, mut client) = exchange(py, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            started(&mut x, "200 OK");
            x.finish().unwrap();
            assert!(wire(&mut x, &mut client).ends_with(b"Content-Length: 0\r\n\r\n"));
            assert!(x.response.keep_alive && !x.broken);
        });
    }

    #[test]
    fn a_stopping_server_closes_after_the_response() {
        with_python(|py| {
            let (mut x, mut client) = exchange(py, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            x.server.stop.drain(Duration::from_secs(5));
            started(&mut x, "200 OK");
            x.send(b"ok", true).unwrap();
            assert!(!x.response.keep_alive);
            assert!(wire(&mut x, &mut client).ends_with(b"Connection: close\r\n\r\nok"));
        });
    }

    #[test]
    fn a_refused_chunked_body_is_known_before_the_application_runs() {
        with_python(|py| {
            let chunked = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
            let (mut x, _client) = exchange(py, chunked);
            assert_eq!(x.refused_body(), Some(ChunkError::InvalidChunkSize));
            assert!(x.broken);
            assert_eq!(x.length_left(), None);
            let err = x.read(Some(1)).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        });
    }

    #[test]
    fn once_the_connection_is_back_the_objects_see_an_ended_exchange() {
        with_python(|py| {
            let post = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc";
            let (mut x, _client) = exchange(py, post);
            started(&mut x, "200 OK");
            x.finish().unwrap();
            let conn = x.take_conn().expect("the connection");
            assert_eq!(
                conn.pending(),
                b"abc",
                "the unread body stays with the connection"
            );
            assert_eq!(x.read(None).unwrap(), b"");
            let mut dst = [0u8; 4];
            assert_eq!(x.read_into(&mut dst).unwrap(), 0);
            let err = x.send(b"late", false).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::NotConnected);
        });
    }
}
