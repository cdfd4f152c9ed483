//! The request body as the application reads it (`wsgi.input`): framed by its length or chunked,
//! taken from what the connection has buffered and then from the socket, never past its end,
//! with `Expect: 100-continue` answered on the first read.
//!
//! A [`RequestBody`] keeps the body's own state only; each read is given the [`Wire`] it reads
//! from. Call without the GIL.

use std::io;
use std::time::Duration;

use crate::engine::http::chunked::{ChunkError, ChunkedDecoder};
use crate::engine::http::limits::Limits;
use crate::engine::http::parse::{BodyFraming, RequestHead};
use crate::engine::net::conn::Conn;
use crate::engine::net::io::{read_at_most, read_slice, read_some, Deadline};

/// How much of the request body is still to come.
enum Remaining {
    Length(u64),
    Chunked(Box<ChunkedDecoder>),
}

/// A request's body, as far as the application has read it.
pub struct RequestBody {
    /// None once the whole body has been given to the application (or when there was none).
    remaining: Option<Remaining>,
    /// Chunked bodies: decoded bytes; `decoded[dpos..]` are not given to the application yet.
    decoded: Vec<u8>,
    dpos: usize,
    /// `Expect: 100-continue` not answered yet: the 100 goes out before the first read.
    continue_pending: bool,
    /// Why a chunked body was refused (malformed, or over the body limit).
    refused: Option<ChunkError>,
}

/// The error of a body the client stopped sending before its end.
#[cold]
fn cut_short() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the client closed the connection mid-body",
    )
}

/// Where a body is read from, as each read is given it: the connection (None once the exchange
/// has given it back: nothing more is read, and a refusal found before stays), the exchange's
/// `broken` flag (set here when the body is malformed or the client goes away mid-body; once it
/// is set, nothing more is read) and how long one read may wait.
pub struct Wire<'a> {
    pub conn: Option<&'a mut Conn>,
    pub broken: &'a mut bool,
    pub timeout: Duration,
}

impl RequestBody {
    /// The body `head` announces, held to `limits` when chunked.
    pub fn new(head: &RequestHead, limits: &Limits) -> Self {
        let remaining = match head.body {
            BodyFraming::None => None,
            BodyFraming::Length(0) => None,
            BodyFraming::Length(n) => Some(Remaining::Length(n)),
            BodyFraming::Chunked => Some(Remaining::Chunked(Box::new(ChunkedDecoder::new(limits)))),
        };
        RequestBody {
            continue_pending: head.expect_continue && remaining.is_some(),
            remaining,
            decoded: Vec::new(),
            dpos: 0,
            refused: None,
        }
    }

    /// The decoded body bytes available without reading the socket.
    fn available<'a>(&'a mut self, wire: &'a mut Wire<'_>) -> &'a [u8] {
        let Some(conn) = wire.conn.as_deref_mut() else {
            return &[];
        };
        match &mut self.remaining {
            None => &[],
            Some(Remaining::Length(left)) => {
                let pending = conn.pending();
                let n = pending
                    .len()
                    .min(usize::try_from(*left).unwrap_or(usize::MAX));
                &pending[..n]
            }
            Some(Remaining::Chunked(decoder)) => {
                if self.dpos == self.decoded.len() {
                    self.decoded.clear();
                    self.dpos = 0;
                }
                if !decoder.is_done() && self.refused.is_none() {
                    match decoder.decode(conn.pending(), &mut self.decoded) {
                        Ok(used) => conn.consume(used),
                        Err(e) => {
                            *wire.broken = true;
                            self.refused = Some(e);
                        }
                    }
                }
                &self.decoded[self.dpos..]
            }
        }
    }

    /// Marks the first `n` available bytes as given to the application.
    fn take(&mut self, conn: Option<&mut Conn>, n: usize) {
        match &mut self.remaining {
            Some(Remaining::Length(left)) => {
                *left -= n as u64;
                if let Some(conn) = conn {
                    conn.consume(n);
                }
                if *left == 0 {
                    self.remaining = None;
                }
            }
            Some(Remaining::Chunked(decoder)) => {
                self.dpos += n;
                if decoder.is_done() && self.dpos == self.decoded.len() {
                    self.remaining = None;
                }
            }
            None => {}
        }
    }

    /// True when what is left of the body has all arrived: reading the socket would wait for
    /// bytes that belong to the next request.
    fn rest_is_buffered(&self, conn: Option<&Conn>) -> bool {
        match &self.remaining {
            None => true,
            Some(Remaining::Length(left)) => {
                conn.is_some_and(|c| c.pending().len() as u64 >= *left)
            }
            Some(Remaining::Chunked(d)) => d.is_done(),
        }
    }

    /// True once the whole body has been given to the application (or there was none).
    pub fn done(&self) -> bool {
        match &self.remaining {
            None => true,
            Some(Remaining::Length(_)) => false,
            Some(Remaining::Chunked(d)) => d.is_done() && self.dpos == self.decoded.len(),
        }
    }

    /// Why the chunked body was refused (malformed, or over the limit), if it was: found while
    /// the app read it, or in what has arrived so far.
    pub fn refused(&mut self, wire: &mut Wire<'_>) -> Option<ChunkError> {
        let _ = self.available(wire);
        self.refused
    }

    /// Forgets a 100 Continue not sent yet, as a final response goes out first; whether one was
    /// due.
    pub fn cancel_continue(&mut self) -> bool {
        std::mem::take(&mut self.continue_pending)
    }

    /// Reads more of the body from the socket; false at the end of the body.
    fn fill(&mut self, wire: &mut Wire<'_>) -> io::Result<bool> {
        if let Some(e) = &self.refused {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("chunked body refused: {e}"),
            ));
        }
        if self.remaining.is_none() || *wire.broken {
            return Ok(false);
        }
        if let Some(Remaining::Chunked(d)) = &self.remaining {
            if d.is_done() {
                return Ok(false);
            }
        }
        if self.continue_pending {
            self.continue_pending = false;
            if let Some(conn) = wire.conn.as_deref_mut() {
                conn.write(
                    &[b"HTTP/1.1 100 Continue\r\n\r\n"],
                    Deadline::after(wire.timeout),
                )?;
            }
        }
        let Some(conn) = wire.conn.as_deref_mut() else {
            return Ok(false);
        };
        conn.undrained = true;
        let n = read_some(
            &mut conn.stream,
            &mut conn.buf,
            Deadline::after(wire.timeout),
        )?;
        conn.received += n as u64;
        if n == 0 {
            *wire.broken = true;
            return Err(cut_short());
        }
        Ok(true)
    }

    /// `limit` body bytes (all that is left when `None`), fewer only at the end of the body:
    /// what `read(n)` on the stdlib's buffered socket file gives.
    pub fn read(&mut self, wire: &mut Wire<'_>, limit: Option<usize>) -> io::Result<Vec<u8>> {
        let want = limit.unwrap_or(usize::MAX);
        let mut out = Vec::new();
        loop {
            let avail = self.available(wire);
            let n = avail.len().min(want - out.len());
            out.extend_from_slice(&avail[..n]);
            self.take(wire.conn.as_deref_mut(), n);
            if out.len() == want || self.done() {
                return Ok(out);
            }
            if !self.read_direct(wire, &mut out, want)? && !self.fill(wire)? {
                return Ok(out);
            }
        }
    }

    /// How much of a body framed by its length is left (buffered or not); None for a chunked
    /// body, whose length is not known ahead.
    pub fn length_left(&self) -> Option<u64> {
        match &self.remaining {
            None => Some(0),
            Some(Remaining::Length(left)) => Some(*left),
            Some(Remaining::Chunked(_)) => None,
        }
    }

    /// Fills `dst` with body bytes (fewer only at the end of the body): what is buffered first,
    /// then straight from the socket. The count.
    pub fn read_into(&mut self, wire: &mut Wire<'_>, dst: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        loop {
            let avail = self.available(wire);
            let n = avail.len().min(dst.len() - filled);
            dst[filled..filled + n].copy_from_slice(&avail[..n]);
            self.take(wire.conn.as_deref_mut(), n);
            filled += n;
            if filled == dst.len() || self.done() {
                return Ok(filled);
            }
            let direct = match (&mut self.remaining, wire.conn.as_deref_mut()) {
                (Some(Remaining::Length(left)), Some(conn))
                    if !self.continue_pending && !*wire.broken && conn.pending().is_empty() =>
                {
                    let room =
                        (dst.len() - filled).min(usize::try_from(*left).unwrap_or(usize::MAX));
                    conn.undrained = true;
                    let n = read_slice(
                        &mut conn.stream,
                        &mut dst[filled..filled + room],
                        Deadline::after(wire.timeout),
                    )?;
                    conn.received += n as u64;
                    if n == 0 {
                        *wire.broken = true;
                        return Err(cut_short());
                    }
                    *left -= n as u64;
                    filled += n;
                    if *left == 0 {
                        self.remaining = None;
                    }
                    true
                }
                _ => false,
            };
            if !direct && !self.fill(wire)? {
                return Ok(filled);
            }
        }
    }

    /// Reads the next bytes of a body framed by its length straight from the socket into `out`
    /// (up to `want` bytes in all), sparing the copy through the connection's buffer. False
    /// when it does not apply: bytes are buffered, a 100 Continue is due, or the body is chunked.
    fn read_direct(
        &mut self,
        wire: &mut Wire<'_>,
        out: &mut Vec<u8>,
        want: usize,
    ) -> io::Result<bool> {
        /// The most one read asks for, so a large declared length never reserves memory that
        /// the client has not sent.
        const MOST: usize = 1 << 20;
        let Some(Remaining::Length(left)) = &mut self.remaining else {
            return Ok(false);
        };
        let Some(conn) = wire.conn.as_deref_mut() else {
            return Ok(false);
        };
        if self.continue_pending || *wire.broken || !conn.pending().is_empty() {
            return Ok(false);
        }
        let room = (want - out.len())
            .min(usize::try_from(*left).unwrap_or(usize::MAX))
            .min(MOST);
        conn.undrained = true;
        let n = read_at_most(&mut conn.stream, out, room, Deadline::after(wire.timeout))?;
        conn.received += n as u64;
        if n == 0 {
            *wire.broken = true;
            return Err(cut_short());
        }
        *left -= n as u64;
        if *left == 0 {
            self.remaining = None;
        }
        Ok(true)
    }

    /// One line of the body, through `\n`, at most `limit` bytes.
    pub fn readline(&mut self, wire: &mut Wire<'_>, limit: Option<usize>) -> io::Result<Vec<u8>> {
        let limit = limit.unwrap_or(usize::MAX);
        loop {
            let avail = self.available(wire);
            let scan = &avail[..avail.len().min(limit)];
            if let Some(i) = scan.iter().position(|&b| b == b'\n') {
                let out = scan[..=i].to_vec();
                self.take(wire.conn.as_deref_mut(), i + 1);
                return Ok(out);
            }
            if scan.len() == limit
                || self.rest_is_buffered(wire.conn.as_deref())
                || !self.fill(wire)?
            {
                let avail = self.available(wire);
                let n = avail.len().min(limit);
                let out = avail[..n].to_vec();
                self.take(wire.conn.as_deref_mut(), n);
                return Ok(out);
            }
        }
    }

    /// Reads and drops what is left of the body, up to `max` bytes, so that the next request on
    /// the connection can be read; false when that was not possible.
    pub fn discard(&mut self, wire: &mut Wire<'_>, max: usize) -> bool {
        let mut dropped = 0usize;
        loop {
            let n = self.available(wire).len();
            self.take(wire.conn.as_deref_mut(), n);
            dropped += n;
            if self.done() {
                return !*wire.broken;
            }
            if dropped > max || self.continue_pending {
                // An unread body the client has not even sent yet (100-continue): close instead.
                return false;
            }
            match self.fill(wire) {
                Ok(true) => {}
                _ => return false,
            }
        }
    }

    /// Frees the decoded bytes' buffer: the exchange may outlive its request (see
    /// `recycled.rs`), and keeps no body.
    pub fn release(&mut self) {
        if self.decoded.capacity() > 0 {
            self.decoded = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::unix::net::UnixStream;

    use super::*;

    fn wire<'a>(conn: Option<&'a mut Conn>, broken: &'a mut bool, timeout: Duration) -> Wire<'a> {
        Wire {
            conn,
            broken,
            timeout,
        }
    }
    use crate::engine::http::parse::parse_head;
    use crate::engine::net::conn::testing::{pair, received};

    const TIMEOUT: Duration = Duration::from_secs(5);

    fn head(bytes: &[u8]) -> RequestHead {
        parse_head(bytes, &Limits::default())
            .expect("a valid head")
            .expect("a whole head")
            .0
    }

    /// A body of `length` bytes whose connection has `buffered` read already (as it came with
    /// the head) and whose client then sends `sent`.
    fn length_body(
        length: usize,
        buffered: &[u8],
        sent: &[u8],
    ) -> (RequestBody, Box<Conn>, UnixStream) {
        let request = format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n");
        body_of(&head(request.as_bytes()), buffered, sent)
    }

    fn chunked_body(buffered: &[u8], sent: &[u8]) -> (RequestBody, Box<Conn>, UnixStream) {
        let request = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
        body_of(&head(request), buffered, sent)
    }

    fn body_of(
        head: &RequestHead,
        buffered: &[u8],
        sent: &[u8],
    ) -> (RequestBody, Box<Conn>, UnixStream) {
        let (mut conn, mut client) = pair();
        conn.buf.extend_from_slice(buffered);
        client.write_all(sent).unwrap();
        (RequestBody::new(head, &Limits::default()), conn, client)
    }

    const NEXT: &[u8] = b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n";

    /// What is left for the next request: buffered, then still in the socket.
    fn left_over(conn: &mut Conn) -> Vec<u8> {
        let mut rest = conn.pending().to_vec();
        while let Ok(n) = read_some(
            &mut conn.stream,
            &mut rest,
            Deadline::after(Duration::from_millis(20)),
        ) {
            if n == 0 {
                break;
            }
        }
        rest
    }

    #[test]
    fn a_length_body_is_read_whole_from_the_buffer_then_the_socket_and_never_past_its_end() {
        let (mut body, mut conn, _client) = length_body(11, b"hello", &[b" world", NEXT].concat());
        let mut broken = false;
        assert_eq!(body.length_left(), Some(11));
        let got = body
            .read(&mut wire(Some(&mut conn), &mut broken, TIMEOUT), None)
            .unwrap();
        assert_eq!(got, b"hello world");
        assert!(body.done() && !broken);
        assert_eq!(body.length_left(), Some(0));
        assert_eq!(
            body.read(&mut wire(Some(&mut conn), &mut broken, TIMEOUT), None)
                .unwrap(),
            b""
        );
        assert_eq!(left_over(&mut conn), NEXT);
        assert!(conn.undrained, "serving read the socket itself");
    }

    #[test]
    fn a_length_body_is_read_in_pieces() {
        let (mut body, mut conn, _client) = length_body(11, b"hel", &[b"lo world", NEXT].concat());
        let mut broken = false;
        let mut pieces = Vec::new();
        for _ in 0..4 {
            pieces.push(
                body.read(&mut wire(Some(&mut conn), &mut broken, TIMEOUT), Some(4))
                    .unwrap(),
            );
        }
        assert_eq!(pieces, [&b"hell"[..], b"o wo", b"rld", b""]);
        assert_eq!(
            body.read(&mut wire(Some(&mut conn), &mut broken, TIMEOUT), Some(0))
                .unwrap(),
            b""
        );
        assert_eq!(left_over(&mut conn), NEXT);
    }

    #[test]
    fn read_into_fills_from_the_buffer_then_the_socket() {
        let (mut body, mut conn, _client) = length_body(6, b"ab", &[b"cdef", NEXT].concat());
        let mut broken = false;
        let mut dst = [0u8; 4];
        assert_eq!(
            body.read_into(&mut wire(Some(&mut conn), &mut broken, TIMEOUT), &mut dst)
                .unwrap(),
            4
        );
        assert_eq!(&dst, b"abcd");
        assert_eq!(body.length_left(), Some(2));
        let mut dst = [0u8; 10];
        assert_eq!(
            body.read_into(&mut wire(Some(&mut conn), &mut broken, TIMEOUT), &mut dst)
                .unwrap(),
            2
        );
        assert_eq!(&dst[..2], b"ef");
        assert_eq!(left_over(&mut conn), NEXT);
    }

    #[test]
    fn readline_stops_after_a_newline_at_the_limit_or_at_the_end() {
        let text = b"line one\nline two\nlast";
        let (mut body, mut conn, _client) =
            length_body(text.len(), b"", &[&text[..], NEXT].concat());
        let mut broken = false;
        let mut line = |limit| {
            body.readline(&mut wire(Some(&mut conn), &mut broken, TIMEOUT), limit)
                .unwrap()
        };
        assert_eq!(line(None), b"line one\n");
        assert_eq!(line(Some(4)), b"line");
        assert_eq!(line(Some(5)), b" two\n");
        assert_eq!(line(Some(0)), b"");
        assert_eq!(line(None), b"last");
        assert_eq!(line(None), b"");
        // Read ahead into the buffer, the next request stays there.
        assert_eq!(left_over(&mut conn), NEXT);
    }

    #[test]
    fn a_chunked_body_is_decoded_whole_or_by_lines() {
        let chunks = b"5\r\nhello\r\n5\r\n worl\r\n1;ext=1\r\nd\r\n0\r\nTrailer: x\r\n\r\n";
        let (mut body, mut conn, _client) =
            chunked_body(&chunks[..7], &[&chunks[7..], NEXT].concat());
        let mut broken = false;
        assert_eq!(body.length_left(), None);
        assert_eq!(
            body.read(&mut wire(Some(&mut conn), &mut broken, TIMEOUT), None)
                .unwrap(),
            b"hello world"
        );
        assert!(body.done() && !broken);
        assert_eq!(
            body.refused(&mut wire(Some(&mut conn), &mut broken, TIMEOUT)),
            None
        );
        assert_eq!(left_over(&mut conn), NEXT);

        let chunks = b"4\r\nab\nc\r\n3\r\nd\ne\r\n0\r\n\r\n";
        let (mut body, mut conn, _client) = chunked_body(b"", chunks);
        let mut line = |limit| {
            body.readline(&mut wire(Some(&mut conn), &mut broken, TIMEOUT), limit)
                .unwrap()
        };
        assert_eq!(line(None), b"ab\n");
        assert_eq!(line(Some(1)), b"c");
        assert_eq!(line(None), b"d\n");
        assert_eq!(line(None), b"e");
        assert_eq!(line(None), b"");
    }

    #[test]
    fn a_malformed_chunked_body_breaks_the_exchange_with_its_error() {
        // Chunk data longer than its size: no CRLF where one must be.
        let (mut body, mut conn, _client) = chunked_body(b"", b"5\r\nhelloXX\r\n0\r\n\r\n");
        let mut broken = false;
        let err = body
            .read(&mut wire(Some(&mut conn), &mut broken, TIMEOUT), None)
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(
            err.to_string().starts_with("chunked body refused: "),
            "{err}"
        );
        assert!(broken);
        assert_eq!(
            body.refused(&mut wire(Some(&mut conn), &mut broken, TIMEOUT)),
            Some(ChunkError::MissingDataCrlf)
        );
        assert!(!body.discard(&mut wire(Some(&mut conn), &mut broken, TIMEOUT), 1 << 20));
    }

    #[test]
    fn a_refusal_in_what_has_arrived_is_found_before_the_application_reads() {
        let limits = Limits {
            limit_request_body: Some(4),
            ..Limits::default()
        };
        let request = head(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
        let (mut conn, _client) = pair();
        conn.buf.extend_from_slice(b"5\r\nhello\r\n");
        let mut body = RequestBody::new(&request, &limits);
        let mut broken = false;
        assert_eq!(
            body.refused(&mut wire(Some(&mut conn), &mut broken, TIMEOUT)),
            Some(ChunkError::BodyTooLarge)
        );
        assert!(broken);
        // Nothing arrived yet: nothing refused.
        let (mut body, mut conn, _client) = chunked_body(b"", b"");
        let mut broken = false;
        assert_eq!(
            body.refused(&mut wire(Some(&mut conn), &mut broken, TIMEOUT)),
            None
        );
        assert!(!broken);
    }

    #[test]
    fn a_client_that_closes_mid_body_is_an_unexpected_eof() {
        type Read = fn(&mut RequestBody, &mut Conn, &mut bool) -> io::Result<usize>;
        let reads: [(&str, Read); 4] = [
            ("read", |b, c, k| {
                b.read(&mut wire(Some(c), k, TIMEOUT), None)
                    .map(|v| v.len())
            }),
            ("read(n)", |b, c, k| {
                b.read(&mut wire(Some(c), k, TIMEOUT), Some(8))
                    .map(|v| v.len())
            }),
            ("readline", |b, c, k| {
                b.readline(&mut wire(Some(c), k, TIMEOUT), None)
                    .map(|v| v.len())
            }),
            ("read_into", |b, c, k| {
                b.read_into(&mut wire(Some(c), k, TIMEOUT), &mut [0; 8])
            }),
        ];
        for (name, read) in reads {
            let (mut body, mut conn, client) = length_body(10, b"ab", b"cd");
            drop(client);
            let mut broken = false;
            let err = read(&mut body, &mut conn, &mut broken).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{name}");
            assert!(broken, "{name}");
        }
        let (mut body, mut conn, client) = chunked_body(b"", b"5\r\nhel");
        drop(client);
        let mut broken = false;
        let err = body
            .read(&mut wire(Some(&mut conn), &mut broken, TIMEOUT), None)
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(broken);
    }

    #[test]
    fn a_client_that_sends_nothing_times_out_without_breaking_the_exchange() {
        let (mut body, mut conn, _client) = length_body(5, b"", b"");
        let mut broken = false;
        let short = Duration::from_millis(20);
        let err = body
            .read(&mut wire(Some(&mut conn), &mut broken, short), None)
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(!broken);
    }

    #[test]
    fn expect_100_continue_is_answered_once_on_the_first_read() {
        let request = head(
            b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n",
        );
        let (mut body, mut conn, mut client) = body_of(&request, b"", b"hello");
        let mut broken = false;
        assert_eq!(
            received(&mut client),
            b"",
            "not before the application reads"
        );
        assert_eq!(
            body.read(&mut wire(Some(&mut conn), &mut broken, TIMEOUT), Some(5))
                .unwrap(),
            b"hello"
        );
        assert_eq!(received(&mut client), b"HTTP/1.1 100 Continue\r\n\r\n");
        client.write_all(b"world").unwrap();
        assert_eq!(
            body.read(&mut wire(Some(&mut conn), &mut broken, TIMEOUT), None)
                .unwrap(),
            b"world"
        );
        assert_eq!(received(&mut client), b"", "once");
        assert!(!body.cancel_continue(), "answered already");
    }

    #[test]
    fn a_100_continue_not_sent_yet_can_be_cancelled_and_its_body_is_not_waited_for() {
        let request = head(
            b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n",
        );
        let (mut body, mut conn, mut client) = body_of(&request, b"", b"");
        let mut broken = false;
        assert!(!body.discard(&mut wire(Some(&mut conn), &mut broken, TIMEOUT), 1 << 20));
        assert!(body.cancel_continue());
        assert!(!body.cancel_continue());
        assert_eq!(received(&mut client), b"");
        // No body: nothing to continue for.
        let request = head(b"GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n");
        let (mut body, _conn, _client) = body_of(&request, b"", b"");
        assert!(!body.cancel_continue());
        assert!(body.done());
    }

    #[test]
    fn discard_drops_the_rest_up_to_a_limit() {
        let (mut body, mut conn, _client) = length_body(10, b"0123", &[b"456789", NEXT].concat());
        let mut broken = false;
        assert_eq!(
            body.read(&mut wire(Some(&mut conn), &mut broken, TIMEOUT), Some(2))
                .unwrap(),
            b"01"
        );
        assert!(body.discard(&mut wire(Some(&mut conn), &mut broken, TIMEOUT), 1 << 20));
        assert!(body.done());
        assert_eq!(left_over(&mut conn), NEXT);

        let (mut body, mut conn, _client) = length_body(100, b"0123", b"4567");
        assert!(
            !body.discard(&mut wire(Some(&mut conn), &mut broken, TIMEOUT), 3),
            "over the limit"
        );
    }

    #[test]
    fn without_its_connection_a_body_gives_nothing_more_but_keeps_its_refusal() {
        let (mut body, _conn, _client) = length_body(10, b"", b"");
        let mut broken = false;
        assert_eq!(
            body.read(&mut wire(None, &mut broken, TIMEOUT), None)
                .unwrap(),
            b""
        );
        assert_eq!(
            body.readline(&mut wire(None, &mut broken, TIMEOUT), None)
                .unwrap(),
            b""
        );
        assert_eq!(
            body.read_into(&mut wire(None, &mut broken, TIMEOUT), &mut [0; 4])
                .unwrap(),
            0
        );

        let (mut body, mut conn, _client) = chunked_body(b"zz\r\n", b"");
        assert!(body
            .refused(&mut wire(Some(&mut conn), &mut broken, TIMEOUT))
            .is_some());
        body.release();
        let err = body
            .read(&mut wire(None, &mut broken, TIMEOUT), None)
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
