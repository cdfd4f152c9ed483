//! The response as it goes out: the head (the status and headers the application gave, with
//! Date, Server, the framing and Connection added), then a body framed by its length, chunked,
//! or ended by closing the connection, never past a length the application declared.
//!
//! A [`Response`] keeps the response's own state. Each method that writes is given the
//! connection (None once the exchange has given it back: the call fails with `NotConnected`),
//! the exchange's `broken` flag (set here when a write fails; then no last chunk goes out) and
//! what the head says of the server ([`Server`]). Call without the GIL.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use crate::engine::http::decimal::push_decimal;
use crate::engine::http::parse::{RequestHead, Version};
use crate::engine::net::conn::Conn;
use crate::engine::net::io::Deadline;
use crate::engine::wsgi::response_head::StartedHead;

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
            crate::handlers::date::push_http_date_now(out);
            out.extend_from_slice(b"\r\n");
        }
        if !started.has_server {
            out.extend_from_slice(b"Server: ");
            latin1_into(out, server.software);
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

    /// Sends the head of a response whose body is `len` bytes of a file, and gives the socket's
    /// descriptor and how many bytes to copy into it (None: no body goes out, as for HEAD).
    pub fn start_file(
        &mut self,
        conn: Option<&mut Conn>,
        broken: &mut bool,
        len: u64,
        server: &Server<'_>,
    ) -> io::Result<Option<(RawFd, u64)>> {
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
        let fd = conn.stream.as_raw_fd();
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
                Ok(Some((fd, count)))
            }
            ResponseFraming::Chunked | ResponseFraming::Close => Ok(Some((fd, len))),
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

/// Appends Latin-1 bytes of text already checked to be Latin-1 (a head that is not never gets
/// here: see `Response::unencodable`); anything else would become '?'.
fn latin1_into(out: &mut Vec<u8>, text: &str) {
    if text.is_ascii() {
        out.extend_from_slice(text.as_bytes());
    } else {
        out.extend(
            text.chars()
                .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')),
        );
    }
}
