//! The request body as the application reads it (`wsgi.input`): framed by its length or chunked,
//! taken from what the connection has buffered and then from the socket, never past its end,
//! with `Expect: 100-continue` answered on the first read.
//!
//! A [`RequestBody`] keeps the body's own state only. Each method is given the connection (None
//! once the exchange has given it back: nothing more is read, and a refusal found before stays),
//! the exchange's `broken` flag (set here when the body is malformed or the client goes away
//! mid-body; once it is set, nothing more is read) and how long one read may wait. Call without
//! the GIL.

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
    fn available<'a>(&'a mut self, conn: Option<&'a mut Conn>, broken: &mut bool) -> &'a [u8] {
        let Some(conn) = conn else {
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
                            *broken = true;
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
    pub fn refused(&mut self, conn: Option<&mut Conn>, broken: &mut bool) -> Option<ChunkError> {
        let _ = self.available(conn, broken);
        self.refused
    }

    /// Forgets a 100 Continue not sent yet, as a final response goes out first; whether one was
    /// due.
    pub fn cancel_continue(&mut self) -> bool {
        std::mem::take(&mut self.continue_pending)
    }

    /// Reads more of the body from the socket; false at the end of the body.
    fn fill(
        &mut self,
        mut conn: Option<&mut Conn>,
        broken: &mut bool,
        timeout: Duration,
    ) -> io::Result<bool> {
        if let Some(e) = &self.refused {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("chunked body refused: {e}"),
            ));
        }
        if self.remaining.is_none() || *broken {
            return Ok(false);
        }
        if let Some(Remaining::Chunked(d)) = &self.remaining {
            if d.is_done() {
                return Ok(false);
            }
        }
        if self.continue_pending {
            self.continue_pending = false;
            if let Some(conn) = conn.as_deref_mut() {
                conn.write(
                    &[b"HTTP/1.1 100 Continue\r\n\r\n"],
                    Deadline::after(timeout),
                )?;
            }
        }
        let Some(conn) = conn else {
            return Ok(false);
        };
        conn.undrained = true;
        if read_some(&mut conn.stream, &mut conn.buf, Deadline::after(timeout))? == 0 {
            *broken = true;
            return Err(cut_short());
        }
        Ok(true)
    }

    /// `limit` body bytes (all that is left when `None`), fewer only at the end of the body:
    /// what `read(n)` on the stdlib's buffered socket file gives.
    pub fn read(
        &mut self,
        mut conn: Option<&mut Conn>,
        broken: &mut bool,
        timeout: Duration,
        limit: Option<usize>,
    ) -> io::Result<Vec<u8>> {
        let want = limit.unwrap_or(usize::MAX);
        let mut out = Vec::new();
        loop {
            let avail = self.available(conn.as_deref_mut(), broken);
            let n = avail.len().min(want - out.len());
            out.extend_from_slice(&avail[..n]);
            self.take(conn.as_deref_mut(), n);
            if out.len() == want || self.done() {
                return Ok(out);
            }
            if !self.read_direct(conn.as_deref_mut(), broken, timeout, &mut out, want)?
                && !self.fill(conn.as_deref_mut(), broken, timeout)?
            {
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
    pub fn read_into(
        &mut self,
        mut conn: Option<&mut Conn>,
        broken: &mut bool,
        timeout: Duration,
        dst: &mut [u8],
    ) -> io::Result<usize> {
        let mut filled = 0;
        loop {
            let avail = self.available(conn.as_deref_mut(), broken);
            let n = avail.len().min(dst.len() - filled);
            dst[filled..filled + n].copy_from_slice(&avail[..n]);
            self.take(conn.as_deref_mut(), n);
            filled += n;
            if filled == dst.len() || self.done() {
                return Ok(filled);
            }
            let direct = match (&mut self.remaining, conn.as_deref_mut()) {
                (Some(Remaining::Length(left)), Some(conn))
                    if !self.continue_pending && !*broken && conn.pending().is_empty() =>
                {
                    let room =
                        (dst.len() - filled).min(usize::try_from(*left).unwrap_or(usize::MAX));
                    conn.undrained = true;
                    let n = read_slice(
                        &mut conn.stream,
                        &mut dst[filled..filled + room],
                        Deadline::after(timeout),
                    )?;
                    if n == 0 {
                        *broken = true;
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
            if !direct && !self.fill(conn.as_deref_mut(), broken, timeout)? {
                return Ok(filled);
            }
        }
    }

    /// Reads the next bytes of a body framed by its length straight from the socket into `out`
    /// (up to `want` bytes in all), sparing the copy through the connection's buffer. False
    /// when it does not apply: bytes are buffered, a 100 Continue is due, or the body is chunked.
    fn read_direct(
        &mut self,
        conn: Option<&mut Conn>,
        broken: &mut bool,
        timeout: Duration,
        out: &mut Vec<u8>,
        want: usize,
    ) -> io::Result<bool> {
        /// The most one read asks for, so a large declared length never reserves memory that
        /// the client has not sent.
        const MOST: usize = 1 << 20;
        let Some(Remaining::Length(left)) = &mut self.remaining else {
            return Ok(false);
        };
        let Some(conn) = conn else {
            return Ok(false);
        };
        if self.continue_pending || *broken || !conn.pending().is_empty() {
            return Ok(false);
        }
        let room = (want - out.len())
            .min(usize::try_from(*left).unwrap_or(usize::MAX))
            .min(MOST);
        conn.undrained = true;
        let n = read_at_most(&mut conn.stream, out, room, Deadline::after(timeout))?;
        if n == 0 {
            *broken = true;
            return Err(cut_short());
        }
        *left -= n as u64;
        if *left == 0 {
            self.remaining = None;
        }
        Ok(true)
    }

    /// One line of the body, through `\n`, at most `limit` bytes.
    pub fn readline(
        &mut self,
        mut conn: Option<&mut Conn>,
        broken: &mut bool,
        timeout: Duration,
        limit: Option<usize>,
    ) -> io::Result<Vec<u8>> {
        let limit = limit.unwrap_or(usize::MAX);
        loop {
            let avail = self.available(conn.as_deref_mut(), broken);
            let scan = &avail[..avail.len().min(limit)];
            if let Some(i) = scan.iter().position(|&b| b == b'\n') {
                let out = scan[..=i].to_vec();
                self.take(conn.as_deref_mut(), i + 1);
                return Ok(out);
            }
            if scan.len() == limit
                || self.rest_is_buffered(conn.as_deref())
                || !self.fill(conn.as_deref_mut(), broken, timeout)?
            {
                let avail = self.available(conn.as_deref_mut(), broken);
                let n = avail.len().min(limit);
                let out = avail[..n].to_vec();
                self.take(conn.as_deref_mut(), n);
                return Ok(out);
            }
        }
    }

    /// Reads and drops what is left of the body, up to `max` bytes, so that the next request on
    /// the connection can be read; false when that was not possible.
    pub fn discard(
        &mut self,
        mut conn: Option<&mut Conn>,
        broken: &mut bool,
        timeout: Duration,
        max: usize,
    ) -> bool {
        let mut dropped = 0usize;
        loop {
            let n = self.available(conn.as_deref_mut(), broken).len();
            self.take(conn.as_deref_mut(), n);
            dropped += n;
            if self.done() {
                return !*broken;
            }
            if dropped > max || self.continue_pending {
                // An unread body the client has not even sent yet (100-continue): close instead.
                return false;
            }
            match self.fill(conn.as_deref_mut(), broken, timeout) {
                Ok(true) => {}
                _ => return false,
            }
        }
    }

    /// Frees the decoded bytes' buffer: the exchange may outlive its request (see
    /// `request_objects`), and keeps no body.
    pub fn release(&mut self) {
        if self.decoded.capacity() > 0 {
            self.decoded = Vec::new();
        }
    }
}
