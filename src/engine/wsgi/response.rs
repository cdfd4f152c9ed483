//! The response as it goes out: the head (the status and headers the application gave, with
//! Date, Server, the framing and Connection added), then a body framed by its length, chunked,
//! or ended by closing the connection, never past a length the application declared.
//!
//! A [`Response`] keeps the response's own state. Each method that writes is given the
//! connection (None once the exchange has given it back: the call fails with `NotConnected`),
//! the exchange's `broken` flag (set here when a write fails; then no last chunk goes out) and
//! what the head says of the server ([`Server`]). Call without the GIL.

use std::io;
use std::time::Duration;

use crate::engine::http::decimal::push_decimal;
use crate::engine::http::parse::{RequestHead, Version};
use crate::engine::net::conn::Conn;
use crate::engine::net::io::Deadline;
use crate::engine::stop::StopSignal;
use crate::engine::wsgi::response_head::StartedHead;
use crate::pep3333::latin1::push_text;

/// How the response body is delimited on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ResponseFraming {
    Length(u64),
    Chunked,
    /// HTTP/1.0 without a length: the body ends when the connection closes.
    Close,
    /// 1xx, 204 and 304 responses, whatever the application says.
    NoBody,
}

/// The server as its responses see it, shared by all its requests: its name (the `Server`
/// header) and its stop signal (a stopping server's responses say `Connection: close`).
pub struct ServerSide {
    pub software: Box<str>,
    pub stop: StopSignal,
}

/// What a response is sent with from the server: its name, for the `Server` header the
/// application did not give; whether it is stopping (the head then says `Connection: close`);
/// how long a write may wait.
pub struct Server<'a> {
    pub software: &'a str,
    pub stopping: bool,
    pub timeout: Duration,
}

/// The response the application started.
pub struct Response {
    /// Its status and headers (not started until `start_response` is called).
    pub head: StartedHead,
    pub headers_sent: bool,
    /// Body bytes the application gave (on HEAD too, though none are sent).
    pub bytes_sent: u64,
    pub framing: ResponseFraming,
    /// Body bytes written for a Content-Length response, to stop at the declared length.
    written: u64,
    /// The request's version: an HTTP/1.1 client can take a chunked body.
    version: Version,
    /// A HEAD request: the head goes out, the body does not.
    head_only: bool,
    /// Whether the connection may carry another request after this response.
    pub keep_alive: bool,
}

/// The error of a write after the exchange gave its connection back.
#[cold]
fn finished() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "the response is already finished",
    )
}

impl Response {
    /// The response to `request`, whose head will be made in `buffer` (a connection's, kept
    /// from its last response).
    pub fn new(request: &RequestHead, buffer: Vec<u8>) -> Self {
        Response {
            head: StartedHead::with_buffer(buffer),
            headers_sent: false,
            bytes_sent: 0,
            framing: ResponseFraming::Close,
            written: 0,
            version: request.version,
            head_only: request.method == "HEAD",
            keep_alive: request.keep_alive,
        }
    }

    /// Appends the head to `out` and decides the framing; `one_chunk` is the body's length when
    /// the application's result is that one chunk.
    fn head(&mut self, one_chunk: Option<u64>, server: &Server<'_>, out: &mut Vec<u8>) {
        let started = &self.head;
        let (code, declared) = (started.code(), started.declared);
        let framing = if (100..200).contains(&code) || code == 204 || code == 304 {
            ResponseFraming::NoBody
        } else if let Some(n) = declared {
            ResponseFraming::Length(n)
        } else if let Some(n) = one_chunk {
            ResponseFraming::Length(n)
        } else if self.version == Version::Http11 {
            ResponseFraming::Chunked
        } else {
            ResponseFraming::Close
        };
        if framing == ResponseFraming::Close || server.stopping {
            // A server on its way out says so: the client sends its next request elsewhere.
            self.keep_alive = false;
        }
        self.framing = framing;
        let started = &self.head;
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(started.status());
        out.extend_from_slice(b"\r\n");
        // Date and Server first, then the application's headers: the stdlib's order.
        if !started.has_date {
            out.extend_from_slice(b"Date: ");
            crate::pep3333::date::push_http_date_now(out);
            out.extend_from_slice(b"\r\n");
        }
        if !started.has_server {
            out.extend_from_slice(b"Server: ");
            // The server's own name, as the stdlib writes it (a character beyond Latin-1 becomes '?').
            push_text(out, server.software);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(started.lines());
        match framing {
            ResponseFraming::Length(n) if declared.is_none() => {
                out.extend_from_slice(b"Content-Length: ");
                push_decimal(out, n);
                out.extend_from_slice(b"\r\n");
            }
            ResponseFraming::Chunked => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
            _ => {}
        }
        if !self.keep_alive {
            out.extend_from_slice(b"Connection: close\r\n");
        } else if self.version == Version::Http10 {
            out.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }

    /// Whether [`send`](Self::send) of `len` bytes would only put the response in the
    /// connection's `out`, to be written later (so the caller may keep the GIL): a whole
    /// response, small, whose request body has been read (`body_done`).
    pub fn defers(
        &self,
        conn: Option<&Conn>,
        len: usize,
        one_chunk: bool,
        body_done: bool,
    ) -> bool {
        one_chunk && !self.headers_sent && body_done && conn.is_some_and(|c| c.holds(len))
    }

    /// Sends a body chunk, preceded by the head when it has not gone yet. `one_chunk` says the
    /// application's result is this single chunk, so its length can frame the response. When
    /// [`defers`](Self::defers) says so, the bytes only go into the connection's `out`.
    pub fn send(
        &mut self,
        mut conn: Option<&mut Conn>,
        broken: &mut bool,
        data: &[u8],
        one_chunk: bool,
        body_done: bool,
        server: &Server<'_>,
    ) -> io::Result<()> {
        let defer = self.defers(conn.as_deref(), data.len(), one_chunk, body_done);
        self.bytes_sent += data.len() as u64;
        // A deferred response is made right in the connection's `out`; else the head, if it is
        // still to go, is made in a buffer of its own.
        let mut head = match conn.as_deref_mut() {
            Some(conn) if defer => std::mem::take(&mut conn.out),
            _ => Vec::new(),
        };
        // What `out` held already was counted as it went in (see `Conn::write`).
        let held = head.len();
        if !self.headers_sent {
            let length = one_chunk.then_some(data.len() as u64);
            head.reserve(256);
            self.head(length, server, &mut head);
            self.headers_sent = true;
        }
        let body: &[u8] = if self.head_only { &[] } else { data };
        let size;
        let body_parts: [&[u8]; 3] = match self.framing {
            ResponseFraming::NoBody => [&[], &[], &[]],
            ResponseFraming::Length(n) => {
                let room = n.saturating_sub(self.written);
                let part = &body[..body.len().min(usize::try_from(room).unwrap_or(usize::MAX))];
                if part.len() < body.len() {
                    // More than the declared length: never let it run into the next response.
                    self.keep_alive = false;
                }
                self.written += part.len() as u64;
                [part, &[], &[]]
            }
            ResponseFraming::Chunked if !body.is_empty() => {
                size = format!("{:x}\r\n", body.len());
                [size.as_bytes(), body, b"\r\n"]
            }
            ResponseFraming::Chunked | ResponseFraming::Close => [body, &[], &[]],
        };
        let Some(conn) = conn else {
            return Err(finished());
        };
        if defer {
            body_parts.iter().for_each(|p| head.extend_from_slice(p));
            conn.sent += (head.len() - held) as u64;
            conn.out = head;
            return Ok(());
        }
        let [a, b, c] = body_parts;
        let parts: [&[u8]; 4] = [&head, a, b, c];
        let result = conn.write(&parts, Deadline::after(server.timeout));
        if result.is_err() {
            *broken = true;
        }
        result
    }

    /// Sends the head of a response whose body is `len` bytes of a file, and gives how many bytes
    /// of it to send on the connection (None: no body goes out, as for HEAD).
    pub fn start_file(
        &mut self,
        conn: Option<&mut Conn>,
        broken: &mut bool,
        len: u64,
        server: &Server<'_>,
    ) -> io::Result<Option<u64>> {
        if self.headers_sent {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the head has been sent",
            ));
        }
        let mut head = Vec::with_capacity(256);
        self.head(Some(len), server, &mut head);
        self.headers_sent = true;
        self.bytes_sent += len;
        let deadline = Deadline::after(server.timeout);
        let Some(conn) = conn else {
            return Err(finished());
        };
        let sent = conn.write(&[&head], deadline);
        if sent.is_err() {
            *broken = true;
        }
        sent?;
        // The file's bytes are the connection's next write.
        conn.before_next_write();
        match self.framing {
            _ if self.head_only => Ok(None),
            ResponseFraming::NoBody => Ok(None),
            ResponseFraming::Length(n) => {
                // The application may have declared its own length: never send past it.
                let count = n.saturating_sub(self.written).min(len);
                if count < n {
                    self.keep_alive = false;
                }
                self.written += count;
                conn.sent += count;
                Ok(Some(count))
            }
            ResponseFraming::Chunked | ResponseFraming::Close => {
                conn.sent += len;
                Ok(Some(len))
            }
        }
    }

    /// Whether [`finish`](Self::finish) (and reading what is left of the request body) could do
    /// socket I/O: false once a response framed by its length is sent whole and the body is read
    /// (`body_done`).
    pub fn finish_needs_io(&self, body_done: bool) -> bool {
        let sent_whole = match self.framing {
            ResponseFraming::Length(n) => self.written == n,
            ResponseFraming::NoBody => true,
            ResponseFraming::Chunked | ResponseFraming::Close => self.head_only,
        };
        !(self.headers_sent && sent_whole && body_done)
    }

    /// Ends the response: the head if nothing was sent (with a zero length unless the
    /// application declared one), the last chunk of a chunked body. A response cut short turns
    /// `keep_alive` off.
    pub fn finish(
        &mut self,
        conn: Option<&mut Conn>,
        broken: &mut bool,
        body_done: bool,
        server: &Server<'_>,
    ) -> io::Result<()> {
        if !self.headers_sent {
            return self.send(conn, broken, &[], true, body_done, server);
        }
        if *broken {
            // The body was cut short (an error mid-body, a client gone): no last chunk, so the
            // client cannot take the truncated body for a whole one.
            return Ok(());
        }
        let deadline = Deadline::after(server.timeout);
        let Some(conn) = conn else {
            return Ok(());
        };
        match self.framing {
            ResponseFraming::Chunked if !self.head_only => conn.write(&[b"0\r\n\r\n"], deadline),
            ResponseFraming::Length(n) if self.written < n && !self.head_only => {
                // The application sent less than it declared: the client would wait forever.
                self.keep_alive = false;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Forgets a response that was started but not sent, for the error page.
    pub fn reset(&mut self) {
        self.head.reset();
        self.bytes_sent = 0;
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixStream;

    use super::*;
    use crate::engine::http::limits::Limits;
    use crate::engine::http::parse::parse_head;
    use crate::engine::net::conn::testing::{pair, received};

    const SERVER: Server<'static> = Server {
        software: "test-server/1",
        stopping: false,
        timeout: Duration::from_secs(5),
    };

    const GET11: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    const GET10: &[u8] = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    const HEAD11: &[u8] = b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n";

    /// A response to `request`, started with `status` and `headers`, and its connection.
    fn started(
        request: &[u8],
        status: &str,
        headers: &[(&str, &str)],
    ) -> (Response, Box<Conn>, UnixStream) {
        let (request, _) = parse_head(request, &Limits::default()).unwrap().unwrap();
        let mut response = Response::new(&request, Vec::new());
        response.head.begin(status);
        for (name, value) in headers {
            response.head.push(name, value);
        }
        let (conn, client) = pair();
        (response, conn, client)
    }

    /// What the client received (the `Date` header, which changes, checked and taken out), and
    /// whatever `out` still held written first.
    fn wire(conn: &mut Conn, client: &mut UnixStream) -> String {
        conn.write(&[], Deadline::after(SERVER.timeout)).unwrap();
        let text = String::from_utf8(received(client)).unwrap();
        let Some(start) = text.find("Date: ") else {
            return text;
        };
        let end = start + text[start..].find("\r\n").unwrap() + 2;
        // "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        assert_eq!(end - start, 37, "{text:?}");
        assert!(text[start..end].ends_with(" GMT\r\n"), "{text:?}");
        format!("{}{}", &text[..start], &text[end..])
    }

    fn send(r: &mut Response, conn: &mut Conn, data: &[u8], one_chunk: bool) -> io::Result<()> {
        r.send(Some(conn), &mut false, data, one_chunk, true, &SERVER)
    }

    fn finish(r: &mut Response, conn: &mut Conn) -> io::Result<()> {
        r.finish(Some(conn), &mut false, true, &SERVER)
    }

    const PLAIN: &[(&str, &str)] = &[("Content-Type", "text/plain")];
    const HEAD_200: &str =
        "HTTP/1.1 200 OK\r\nServer: test-server/1\r\nContent-Type: text/plain\r\n";

    #[test]
    fn a_one_chunk_response_gets_its_length_and_waits_in_out() {
        let (mut r, mut conn, mut client) = started(GET11, "200 OK", PLAIN);
        assert!(r.defers(Some(&conn), 5, true, true));
        assert!(
            !r.defers(Some(&conn), 5, true, false),
            "not before the body is read"
        );
        assert!(!r.defers(Some(&conn), 5, false, true), "not a streamed one");
        assert!(
            !r.defers(Some(&conn), 64 * 1024, true, true),
            "not a large one"
        );
        send(&mut r, &mut conn, b"hello", true).unwrap();
        assert_eq!(received(&mut client), b"", "held back");
        assert!(!r.defers(Some(&conn), 5, true, true), "the head has gone");
        finish(&mut r, &mut conn).unwrap();
        assert!(!r.finish_needs_io(true));
        assert_eq!(
            wire(&mut conn, &mut client),
            format!("{HEAD_200}Content-Length: 5\r\n\r\nhello")
        );
        assert!(r.keep_alive && r.headers_sent);
        assert_eq!((r.bytes_sent, r.framing), (5, ResponseFraming::Length(5)));
    }

    #[test]
    fn a_streamed_http11_response_is_chunked_and_ends_with_the_last_chunk() {
        let (mut r, mut conn, mut client) = started(GET11, "200 OK", PLAIN);
        for part in [&b"hello"[..], b"", b" world!"] {
            send(&mut r, &mut conn, part, false).unwrap();
        }
        assert!(r.finish_needs_io(true));
        finish(&mut r, &mut conn).unwrap();
        assert_eq!(
            wire(&mut conn, &mut client),
            format!(
                "{HEAD_200}Transfer-Encoding: chunked\r\n\r\n\
                 5\r\nhello\r\n7\r\n world!\r\n0\r\n\r\n"
            )
        );
        assert!(r.keep_alive);
    }

    #[test]
    fn an_http10_response_without_a_length_ends_by_closing() {
        let (mut r, mut conn, mut client) = started(GET10, "200 OK", PLAIN);
        send(&mut r, &mut conn, b"hello", false).unwrap();
        send(&mut r, &mut conn, b" world", false).unwrap();
        finish(&mut r, &mut conn).unwrap();
        assert_eq!(
            wire(&mut conn, &mut client),
            format!("{HEAD_200}Connection: close\r\n\r\nhello world")
        );
        assert!(!r.keep_alive);
        assert_eq!(r.framing, ResponseFraming::Close);
        // With a length, an HTTP/1.0 client that asked for keep-alive is told it holds.
        let (mut r, mut conn, mut client) = started(GET10, "200 OK", PLAIN);
        send(&mut r, &mut conn, b"hello", true).unwrap();
        assert_eq!(
            wire(&mut conn, &mut client),
            format!("{HEAD_200}Content-Length: 5\r\nConnection: keep-alive\r\n\r\nhello")
        );
        assert!(r.keep_alive);
    }

    #[test]
    fn responses_that_have_no_body_send_none() {
        for status in [
            "204 No Content",
            "304 Not Modified",
            "101 Switching Protocols",
        ] {
            let (mut r, mut conn, mut client) = started(GET11, status, &[]);
            send(&mut r, &mut conn, b"ignored", false).unwrap();
            send(&mut r, &mut conn, b"ignored", false).unwrap();
            finish(&mut r, &mut conn).unwrap();
            assert_eq!(
                wire(&mut conn, &mut client),
                format!("HTTP/1.1 {status}\r\nServer: test-server/1\r\n\r\n")
            );
            assert_eq!(r.framing, ResponseFraming::NoBody);
            assert!(r.keep_alive, "{status}");
            assert!(!r.finish_needs_io(true));
        }
    }

    #[test]
    fn a_head_request_gets_the_head_alone() {
        let (mut r, mut conn, mut client) = started(HEAD11, "200 OK", PLAIN);
        send(&mut r, &mut conn, b"hello", true).unwrap();
        assert_eq!(
            wire(&mut conn, &mut client),
            format!("{HEAD_200}Content-Length: 5\r\n\r\n")
        );
        assert_eq!(r.bytes_sent, 5, "counted, as the stdlib counts it");
        let (mut r, mut conn, mut client) = started(HEAD11, "200 OK", PLAIN);
        send(&mut r, &mut conn, b"hello", false).unwrap();
        send(&mut r, &mut conn, b"world", false).unwrap();
        assert!(!r.finish_needs_io(true));
        finish(&mut r, &mut conn).unwrap();
        assert_eq!(
            wire(&mut conn, &mut client),
            format!("{HEAD_200}Transfer-Encoding: chunked\r\n\r\n"),
            "no chunk, not even the last"
        );
        assert!(r.keep_alive);
    }

    #[test]
    fn a_body_past_its_declared_length_is_cut_and_the_connection_closes() {
        let headers = [("Content-Length", "7")];
        let (mut r, mut conn, mut client) = started(GET11, "200 OK", &headers);
        send(&mut r, &mut conn, b"hello", false).unwrap();
        assert!(r.keep_alive);
        send(&mut r, &mut conn, b" world", false).unwrap();
        assert!(!r.keep_alive);
        send(&mut r, &mut conn, b"!", false).unwrap();
        finish(&mut r, &mut conn).unwrap();
        // The head went before the body ran over: the connection just closes after it.
        assert_eq!(
            wire(&mut conn, &mut client),
            "HTTP/1.1 200 OK\r\nServer: test-server/1\r\nContent-Length: 7\r\n\r\nhello w"
        );
        assert_eq!(r.bytes_sent, 12);
    }

    #[test]
    fn a_body_short_of_its_declared_length_closes_the_connection() {
        let headers = [("Content-Length", "10")];
        let (mut r, mut conn, mut client) = started(GET11, "200 OK", &headers);
        send(&mut r, &mut conn, b"hello", false).unwrap();
        assert!(r.finish_needs_io(true));
        finish(&mut r, &mut conn).unwrap();
        assert!(!r.keep_alive);
        assert_eq!(
            wire(&mut conn, &mut client),
            "HTTP/1.1 200 OK\r\nServer: test-server/1\r\nContent-Length: 10\r\n\r\nhello"
        );
    }

    #[test]
    fn nothing_sent_finishes_with_the_head_and_an_empty_body() {
        let (mut r, mut conn, mut client) = started(GET11, "200 OK", PLAIN);
        finish(&mut r, &mut conn).unwrap();
        assert_eq!(
            wire(&mut conn, &mut client),
            format!("{HEAD_200}Content-Length: 0\r\n\r\n")
        );
    }

    #[test]
    fn date_and_server_come_first_unless_the_application_gave_them() {
        let (mut r, mut conn, mut client) = started(GET11, "200 OK", &[]);
        send(&mut r, &mut conn, b"", true).unwrap();
        conn.write(&[], Deadline::after(SERVER.timeout)).unwrap();
        let text = String::from_utf8(received(&mut client)).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\nDate: "), "{text:?}");
        assert!(text.contains(" GMT\r\nServer: test-server/1\r\nContent-Length: 0\r\n\r\n"));
        let mine = [("server", "mine/2"), ("DATE", "then")];
        let (mut r, mut conn, mut client) = started(GET11, "200 OK", &mine);
        send(&mut r, &mut conn, b"", true).unwrap();
        assert_eq!(
            wire(&mut conn, &mut client),
            "HTTP/1.1 200 OK\r\nserver: mine/2\r\nDATE: then\r\nContent-Length: 0\r\n\r\n"
        );
        // The server's name goes out in Latin-1.
        let (mut r, mut conn, mut client) = started(GET11, "200 OK", &[]);
        let server = Server {
            software: "caf\u{e9}",
            ..SERVER
        };
        r.send(Some(&mut conn), &mut false, b"", true, true, &server)
            .unwrap();
        conn.write(&[], Deadline::after(SERVER.timeout)).unwrap();
        let bytes = received(&mut client);
        assert!(bytes.windows(13).any(|w| w == b"Server: caf\xe9\r"));
    }

    #[test]
    fn a_stopping_server_says_connection_close() {
        let (mut r, mut conn, mut client) = started(GET11, "200 OK", PLAIN);
        let stopping = Server {
            stopping: true,
            ..SERVER
        };
        r.send(Some(&mut conn), &mut false, b"bye", true, true, &stopping)
            .unwrap();
        assert!(!r.keep_alive);
        assert_eq!(
            wire(&mut conn, &mut client),
            format!("{HEAD_200}Content-Length: 3\r\nConnection: close\r\n\r\nbye")
        );
        // A client that asked to close is answered so.
        let close = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        let (mut r, mut conn, mut client) = started(close, "200 OK", PLAIN);
        send(&mut r, &mut conn, b"bye", true).unwrap();
        assert!(wire(&mut conn, &mut client).contains("\r\nConnection: close\r\n\r\nbye"));
    }

    #[test]
    fn a_failed_write_breaks_the_exchange_and_no_last_chunk_follows() {
        let (mut r, mut conn, client) = started(GET11, "200 OK", PLAIN);
        drop(client);
        let mut broken = false;
        let err = r
            .send(Some(&mut conn), &mut broken, b"hello", false, true, &SERVER)
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        assert!(broken);
        assert!(r
            .finish(Some(&mut conn), &mut broken, true, &SERVER)
            .is_ok());
    }

    #[test]
    fn without_its_connection_a_response_is_finished() {
        let (mut r, _conn, _client) = started(GET11, "200 OK", PLAIN);
        let mut broken = false;
        let err = r
            .send(None, &mut broken, b"late", false, true, &SERVER)
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotConnected);
        assert!(!broken, "no socket failed");
        assert!(!r.defers(None, 4, true, true));
    }

    #[test]
    fn a_file_response_sends_its_head_and_says_how_much_of_the_file_follows() {
        let (mut r, mut conn, mut client) = started(GET11, "200 OK", PLAIN);
        let mut broken = false;
        let file = r
            .start_file(Some(&mut conn), &mut broken, 1000, &SERVER)
            .unwrap();
        assert_eq!(file, Some(1000));
        assert_eq!(
            wire(&mut conn, &mut client),
            format!("{HEAD_200}Content-Length: 1000\r\n\r\n")
        );
        assert_eq!(r.bytes_sent, 1000);
        let err = r
            .start_file(Some(&mut conn), &mut broken, 1, &SERVER)
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(!broken);

        // A length the application declared holds: never more of the file.
        let (mut r, mut conn, mut client) = started(GET11, "200 OK", &[("Content-Length", "10")]);
        let file = r
            .start_file(Some(&mut conn), &mut broken, 1000, &SERVER)
            .unwrap();
        assert_eq!(file, Some(10));
        assert!(r.keep_alive);
        assert!(wire(&mut conn, &mut client).ends_with("Content-Length: 10\r\n\r\n"));
        let (mut r, mut conn, _client) = started(GET11, "200 OK", &[("Content-Length", "10")]);
        let file = r
            .start_file(Some(&mut conn), &mut broken, 4, &SERVER)
            .unwrap();
        assert_eq!(file, Some(4));
        assert!(!r.keep_alive, "shorter than declared");

        let (mut r, mut conn, _client) = started(HEAD11, "200 OK", PLAIN);
        assert_eq!(
            r.start_file(Some(&mut conn), &mut broken, 1000, &SERVER)
                .unwrap(),
            None
        );
    }

    #[test]
    fn reset_forgets_a_response_not_sent() {
        let (mut r, _conn, _client) = started(GET11, "200 OK", PLAIN);
        r.bytes_sent = 3;
        r.reset();
        assert!(!r.head.is_started());
        assert_eq!(r.bytes_sent, 0);
    }
}
