//! One request/response exchange: the request body as the application reads it, and the
//! response as it goes out.
//!
//! An `Exchange` sits behind a mutex shared by the executor and the Python objects the
//! application holds (`wsgi.input`, `start_response`, `write`). Its methods do socket I/O and are
//! called with the GIL released; once the exchange is over the executor takes the connection
//! back and those objects see an empty body.

use std::io;
use std::time::Duration;

use crate::engine::http::chunked::{ChunkError, ChunkedDecoder};
use crate::engine::http::decimal::push_decimal;
use crate::engine::http::parse::{BodyFraming, RequestHead, Version};
use crate::engine::net::conn::Conn;
use crate::engine::net::io::{read_at_most, read_slice, read_some, Deadline};
use crate::engine::wsgi::response_head::StartedHead;
use crate::engine::wsgi::settings::Settings;

/// How much of the request body is still to come.
enum Body {
    Length(u64),
    Chunked(Box<ChunkedDecoder>),
}

/// How the response body is delimited on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Framing {
    Length(u64),
    Chunked,
    /// HTTP/1.0 without a length: the body ends when the connection closes.
    Close,
    /// 1xx, 204 and 304 responses, whatever the application says.
    NoBody,
}

/// The response the application started.
pub struct Response {
    /// Its status and headers (not started until `start_response` is called).
    pub head: StartedHead,
    pub headers_sent: bool,
    /// Body bytes the application gave (on HEAD too, though none are sent).
    pub bytes_sent: u64,
    pub framing: Framing,
    /// Body bytes written for a Content-Length response, to stop at the declared length.
    written: u64,
}

pub struct Exchange {
    pub conn: Option<Box<Conn>>,
    body: Option<Body>,
    /// Chunked bodies: decoded bytes not yet given to the application.
    decoded: Vec<u8>,
    dpos: usize,
    continue_pending: bool,
    version: Version,
    head_only: bool,
    pub keep_alive: bool,
    timeout: Duration,
    pub response: Response,
    /// Set when the body was malformed or the client went away: the connection must close.
    pub broken: bool,
    /// Why a chunked body was refused (malformed, or over the body limit).
    body_error: Option<ChunkError>,
    /// The server's software name and whether it is stopping.
    settings: std::sync::Arc<Settings>,
}

impl Exchange {
    pub fn new(
        mut conn: Box<Conn>,
        head: &RequestHead,
        settings: std::sync::Arc<Settings>,
    ) -> Self {
        let started = StartedHead::with_buffer(std::mem::take(&mut conn.head_buffer));
        let (limits, timeout) = (&settings.limits, settings.timeout);
        let body = match head.body {
            BodyFraming::None => None,
            BodyFraming::Length(0) => None,
            BodyFraming::Length(n) => Some(Body::Length(n)),
            BodyFraming::Chunked => Some(Body::Chunked(Box::new(ChunkedDecoder::new(limits)))),
        };
        Exchange {
            conn: Some(conn),
            continue_pending: head.expect_continue && body.is_some(),
            body,
            decoded: Vec::new(),
            dpos: 0,
            version: head.version,
            head_only: head.method == "HEAD",
            keep_alive: head.keep_alive,
            timeout,
            response: Response {
                head: started,
                headers_sent: false,
                bytes_sent: 0,
                framing: Framing::Close,
                written: 0,
            },
            broken: false,
            body_error: None,
            settings,
        }
    }

    // --- the request body ----------------------------------------------------------------------

    /// The decoded body bytes available without reading the socket.
    fn available(&mut self) -> &[u8] {
        let Some(conn) = self.conn.as_mut() else {
            return &[];
        };
        match &mut self.body {
            None => &[],
            Some(Body::Length(left)) => {
                let pending = conn.pending();
                let n = pending
                    .len()
                    .min(usize::try_from(*left).unwrap_or(usize::MAX));
                &conn.buf[conn.pos..conn.pos + n]
            }
            Some(Body::Chunked(decoder)) => {
                if self.dpos == self.decoded.len() {
                    self.decoded.clear();
                    self.dpos = 0;
                }
                if !decoder.is_done() && self.body_error.is_none() {
                    match decoder.decode(conn.pending(), &mut self.decoded) {
                        Ok(used) => conn.consume(used),
                        Err(e) => {
                            self.broken = true;
                            self.body_error = Some(e);
                        }
                    }
                }
                &self.decoded[self.dpos..]
            }
        }
    }

    fn take(&mut self, n: usize) {
        match &mut self.body {
            Some(Body::Length(left)) => {
                *left -= n as u64;
                if let Some(conn) = self.conn.as_mut() {
                    conn.consume(n);
                }
                if *left == 0 {
                    self.body = None;
                }
            }
            Some(Body::Chunked(decoder)) => {
                self.dpos += n;
                if decoder.is_done() && self.dpos == self.decoded.len() {
                    self.body = None;
                }
            }
            None => {}
        }
    }

    /// True when what is left of the body has all arrived: reading the socket would wait for
    /// bytes that belong to the next request.
    fn rest_is_buffered(&self) -> bool {
        match &self.body {
            None => true,
            Some(Body::Length(left)) => self
                .conn
                .as_ref()
                .is_some_and(|c| c.pending().len() as u64 >= *left),
            Some(Body::Chunked(d)) => d.is_done(),
        }
    }

    /// True once the whole body has been given to the application (or there was none).
    fn body_done(&self) -> bool {
        match &self.body {
            None => true,
            Some(Body::Length(_)) => false,
            Some(Body::Chunked(d)) => d.is_done() && self.dpos == self.decoded.len(),
        }
    }

    /// Why the chunked body was refused (malformed, or over the limit), if it was: found while
    /// the app read it, or in what has arrived so far.
    pub fn refused_body(&mut self) -> Option<ChunkError> {
        let _ = self.available();
        self.body_error
    }

    /// Reads more of the body from the socket; false at the end of the body.
    fn fill(&mut self) -> io::Result<bool> {
        if let Some(e) = &self.body_error {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("chunked body refused: {e}"),
            ));
        }
        if self.body.is_none() || self.broken {
            return Ok(false);
        }
        if let Some(Body::Chunked(d)) = &self.body {
            if d.is_done() {
                return Ok(false);
            }
        }
        if self.continue_pending {
            self.continue_pending = false;
            if let Some(conn) = self.conn.as_mut() {
                conn.write(
                    &[b"HTTP/1.1 100 Continue\r\n\r\n"],
                    Deadline::after(self.timeout),
                )?;
            }
        }
        let timeout = self.timeout;
        let Some(conn) = self.conn.as_mut() else {
            return Ok(false);
        };
        conn.undrained = true;
        if read_some(&mut conn.stream, &mut conn.buf, Deadline::after(timeout))? == 0 {
            self.broken = true;
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the client closed the connection mid-body",
            ));
        }
        Ok(true)
    }

    /// `limit` body bytes (all that is left when `None`), fewer only at the end of the body:
    /// what `read(n)` on the stdlib's buffered socket file gives.
    pub fn read(&mut self, limit: Option<usize>) -> io::Result<Vec<u8>> {
        let want = limit.unwrap_or(usize::MAX);
        let mut out = Vec::new();
        loop {
            let avail = self.available();
            let n = avail.len().min(want - out.len());
            out.extend_from_slice(&avail[..n]);
            self.take(n);
            if out.len() == want || self.body_done() {
                return Ok(out);
            }
            if !self.read_direct(&mut out, want)? && !self.fill()? {
                return Ok(out);
            }
        }
    }

    /// How much of a body framed by its length is left (buffered or not); None for a chunked
    /// body, whose length is not known ahead.
    pub fn length_left(&self) -> Option<u64> {
        match &self.body {
            None => Some(0),
            Some(Body::Length(left)) => Some(*left),
            Some(Body::Chunked(_)) => None,
        }
    }

    /// Fills `dst` with body bytes (fewer only at the end of the body): what is buffered first,
    /// then straight from the socket. The count.
    pub fn read_into(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        loop {
            let avail = self.available();
            let n = avail.len().min(dst.len() - filled);
            dst[filled..filled + n].copy_from_slice(&avail[..n]);
            self.take(n);
            filled += n;
            if filled == dst.len() || self.body_done() {
                return Ok(filled);
            }
            let direct = match (&mut self.body, self.conn.as_mut()) {
                (Some(Body::Length(left)), Some(conn))
                    if !self.continue_pending && !self.broken && conn.pending().is_empty() =>
                {
                    let room =
                        (dst.len() - filled).min(usize::try_from(*left).unwrap_or(usize::MAX));
                    conn.undrained = true;
                    let n = read_slice(
                        &mut conn.stream,
                        &mut dst[filled..filled + room],
                        Deadline::after(self.timeout),
                    )?;
                    if n == 0 {
                        self.broken = true;
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the client closed the connection mid-body",
                        ));
                    }
                    *left -= n as u64;
                    filled += n;
                    if *left == 0 {
                        self.body = None;
                    }
                    true
                }
                _ => false,
            };
            if !direct && !self.fill()? {
                return Ok(filled);
            }
        }
    }

    /// Reads the next bytes of a body framed by its length straight from the socket into `out`
    /// (up to `want` bytes in all), sparing the copy through the connection's buffer. False
    /// when it does not apply: bytes are buffered, a 100 Continue is due, or the body is chunked.
    fn read_direct(&mut self, out: &mut Vec<u8>, want: usize) -> io::Result<bool> {
        /// The most one read asks for, so a large declared length never reserves memory that
        /// the client has not sent.
        const MOST: usize = 1 << 20;
        let Some(Body::Length(left)) = &mut self.body else {
            return Ok(false);
        };
        let Some(conn) = self.conn.as_mut() else {
            return Ok(false);
        };
        if self.continue_pending || self.broken || !conn.pending().is_empty() {
            return Ok(false);
        }
        let room = (want - out.len())
            .min(usize::try_from(*left).unwrap_or(usize::MAX))
            .min(MOST);
        conn.undrained = true;
        let n = read_at_most(&mut conn.stream, out, room, Deadline::after(self.timeout))?;
        if n == 0 {
            self.broken = true;
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the client closed the connection mid-body",
            ));
        }
        *left -= n as u64;
        if *left == 0 {
            self.body = None;
        }
        Ok(true)
    }

    /// One line of the body, through `\n`, at most `limit` bytes.
    pub fn readline(&mut self, limit: Option<usize>) -> io::Result<Vec<u8>> {
        let limit = limit.unwrap_or(usize::MAX);
        loop {
            let avail = self.available();
            let scan = &avail[..avail.len().min(limit)];
            if let Some(i) = scan.iter().position(|&b| b == b'\n') {
                let out = scan[..=i].to_vec();
                self.take(i + 1);
                return Ok(out);
            }
            if scan.len() == limit || self.rest_is_buffered() || !self.fill()? {
                let avail = self.available();
                let n = avail.len().min(limit);
                let out = avail[..n].to_vec();
                self.take(n);
                return Ok(out);
            }
        }
    }

    /// Reads and drops what is left of the body, up to `max` bytes, so that the next request on
    /// the connection can be read; false when that was not possible.
    pub fn discard_body(&mut self, max: usize) -> bool {
        let mut dropped = 0usize;
        loop {
            let n = self.available().len();
            self.take(n);
            dropped += n;
            if self.body_done() {
                return !self.broken;
            }
            if dropped > max || self.continue_pending {
                // An unread body the client has not even sent yet (100-continue): close instead.
                return false;
            }
            match self.fill() {
                Ok(true) => {}
                _ => return false,
            }
        }
    }

    // --- the response --------------------------------------------------------------------------

    fn head(&mut self, one_chunk: Option<u64>, out: &mut Vec<u8>) {
        let started = &self.response.head;
        let (code, declared) = (started.code(), started.declared);
        let framing = if (100..200).contains(&code) || code == 204 || code == 304 {
            Framing::NoBody
        } else if let Some(n) = declared {
            Framing::Length(n)
        } else if let Some(n) = one_chunk {
            Framing::Length(n)
        } else if self.version == Version::Http11 {
            Framing::Chunked
        } else {
            Framing::Close
        };
        if framing == Framing::Close || self.settings.stop.stopping() {
            // A server on its way out says so: the client sends its next request elsewhere.
            self.keep_alive = false;
        }
        if self.continue_pending {
            // A final answer before the application asked for the body: the client will not send
            // it (or not in a way we could skip reliably), and a 100 may no longer follow.
            self.continue_pending = false;
            self.keep_alive = false;
        }
        self.response.framing = framing;
        let started = &self.response.head;
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
            latin1_into(out, &self.settings.server_software);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(started.lines());
        match framing {
            Framing::Length(n) if declared.is_none() => {
                out.extend_from_slice(b"Content-Length: ");
                push_decimal(out, n);
                out.extend_from_slice(b"\r\n");
            }
            Framing::Chunked => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
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
    /// response, small, whose request body has been read.
    pub fn defers(&self, len: usize, one_chunk: bool) -> bool {
        one_chunk
            && !self.response.headers_sent
            && self.body_done()
            && self.conn.as_ref().is_some_and(|c| c.holds(len))
    }

    /// Sends a body chunk, preceded by the head when it has not gone yet. `one_chunk` says the
    /// application's result is this single chunk, so its length can frame the response. When
    /// [`defers`](Self::defers) says so, the bytes only go into the connection's `out`.
    pub fn send(&mut self, data: &[u8], one_chunk: bool) -> io::Result<()> {
        let defer = self.defers(data.len(), one_chunk);
        self.response.bytes_sent += data.len() as u64;
        // A deferred response is made right in the connection's `out`; else the head, if it is
        // still to go, is made in a buffer of its own.
        let mut head = match self.conn.as_mut() {
            Some(conn) if defer => std::mem::take(&mut conn.out),
            _ => Vec::new(),
        };
        if !self.response.headers_sent {
            let length = one_chunk.then_some(data.len() as u64);
            head.reserve(256);
            self.head(length, &mut head);
            self.response.headers_sent = true;
        }
        let body: &[u8] = if self.head_only { &[] } else { data };
        let size;
        let body_parts: [&[u8]; 3] = match self.response.framing {
            Framing::NoBody => [&[], &[], &[]],
            Framing::Length(n) => {
                let room = n.saturating_sub(self.response.written);
                let part = &body[..body.len().min(usize::try_from(room).unwrap_or(usize::MAX))];
                if part.len() < body.len() {
                    // More than the declared length: never let it run into the next response.
                    self.keep_alive = false;
                }
                self.response.written += part.len() as u64;
                [part, &[], &[]]
            }
            Framing::Chunked if !body.is_empty() => {
                size = format!("{:x}\r\n", body.len());
                [size.as_bytes(), body, b"\r\n"]
            }
            Framing::Chunked | Framing::Close => [body, &[], &[]],
        };
        let timeout = self.timeout;
        let Some(conn) = self.conn.as_mut() else {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the response is already finished",
            ));
        };
        if defer {
            body_parts.iter().for_each(|p| head.extend_from_slice(p));
            conn.out = head;
            return Ok(());
        }
        let [a, b, c] = body_parts;
        let parts: [&[u8]; 4] = [&head, a, b, c];
        let result = conn.write(&parts, Deadline::after(timeout));
        if result.is_err() {
            self.broken = true;
        }
        result
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends the head of a response whose body is `len` bytes of a file, and gives the socket's
    /// descriptor and how many bytes to copy into it (None: no body goes out, as for HEAD).
    pub fn start_file(&mut self, len: u64) -> io::Result<Option<(std::os::fd::RawFd, u64)>> {
        use std::os::fd::AsRawFd;
        if self.response.headers_sent {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the head has been sent",
            ));
        }
        let mut head = Vec::with_capacity(256);
        self.head(Some(len), &mut head);
        self.response.headers_sent = true;
        self.response.bytes_sent += len;
        let deadline = Deadline::after(self.timeout);
        let Some(conn) = self.conn.as_mut() else {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the response is already finished",
            ));
        };
        let sent = conn.write(&[&head], deadline);
        if sent.is_err() {
            self.broken = true;
        }
        sent?;
        // The file's bytes are the connection's next write.
        conn.before_next_write();
        let fd = conn.stream.as_raw_fd();
        match self.response.framing {
            _ if self.head_only => Ok(None),
            Framing::NoBody => Ok(None),
            Framing::Length(n) => {
                // The application may have declared its own length: never send past it.
                let count = n.saturating_sub(self.response.written).min(len);
                if count < n {
                    self.keep_alive = false;
                }
                self.response.written += count;
                Ok(Some((fd, count)))
            }
            Framing::Chunked | Framing::Close => Ok(Some((fd, len))),
        }
    }

    /// Whether [`finish`](Self::finish) and [`discard_body`](Self::discard_body) could do socket
    /// I/O: false once a response framed by its length is sent whole and the body is read.
    pub fn finish_needs_io(&self) -> bool {
        let sent_whole = match self.response.framing {
            Framing::Length(n) => self.response.written == n,
            Framing::NoBody => true,
            Framing::Chunked | Framing::Close => self.head_only,
        };
        !(self.response.headers_sent && sent_whole && self.body_done())
    }

    /// Ends the response: the head if nothing was sent (with a zero length unless the
    /// application declared one), the last chunk of a chunked body. False when the connection
    /// cannot carry another request.
    pub fn finish(&mut self) -> io::Result<()> {
        if !self.response.headers_sent {
            return self.send(&[], true);
        }
        if self.broken {
            // The body was cut short (an error mid-body, a client gone): no last chunk, so the
            // client cannot take the truncated body for a whole one.
            return Ok(());
        }
        let deadline = Deadline::after(self.timeout);
        let Some(conn) = self.conn.as_mut() else {
            return Ok(());
        };
        match self.response.framing {
            Framing::Chunked if !self.head_only => conn.write(&[b"0\r\n\r\n"], deadline),
            Framing::Length(n) if self.response.written < n && !self.head_only => {
                // The application sent less than it declared: the client would wait forever.
                self.keep_alive = false;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Forgets a response that was started but not sent, for the error page.
    pub fn reset_response(&mut self) {
        self.response.head.reset();
        self.response.bytes_sent = 0;
    }

    /// The connection back from a finished exchange, holding the head's buffer for its next
    /// response; None once it has been taken.
    pub fn take_conn(&mut self) -> Option<Box<Conn>> {
        let mut conn = self.conn.take()?;
        conn.head_buffer = self.response.head.take_buffer();
        // The exchange may outlive its request (see `request_objects`): it keeps no body.
        if self.decoded.capacity() > 0 {
            self.decoded = Vec::new();
        }
        Some(conn)
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
