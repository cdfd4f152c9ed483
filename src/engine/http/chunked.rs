//! The chunked transfer coding (RFC 9112 section 7.1), decoded incrementally.
//!
//! Bytes may arrive in any pieces, down to one at a time; the decoder keeps
//! its place between calls and never consumes a byte past the body's final
//! CRLF, so a pipelined request that follows stays in the caller's buffer.
//!
//! Choices made here:
//! - Every line must end in CRLF; a bare LF is refused (400). A server that
//!   reads lines differently from a proxy in front of it is a smuggling risk,
//!   and no client needs bare LF inside a chunked body.
//! - Whitespace after the chunk-size is accepted only before a `;` (the BWS of
//!   chunk-ext); `5 \r\n` is refused.
//! - Chunk extensions are skipped without being parsed, but may not contain
//!   control bytes (other than HTAB); the size line with its extensions is
//!   bounded by [`MAX_SIZE_LINE`].
//! - Trailer fields are skipped, not merged into the header fields; they may
//!   not contain control bytes, may not start with whitespace (obs-fold), and
//!   the trailer section is bounded like the header section, by
//!   [`Limits::limit_request_field_size`].
//! - [`Limits::limit_request_body`] bounds the sum of the chunk sizes, checked as soon
//!   as a size line is read (before its data arrives).

use std::fmt;

use super::limits::Limits;

/// Longest chunk size line (chunk-size, chunk-ext and CRLF), in bytes.
pub const MAX_SIZE_LINE: usize = 4096;

/// Why a chunked body was refused; [`ChunkError::status`] is the status a
/// response would carry if none has started yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkError {
    /// A size line with no hex digit (`\r\n`, `;ext\r\n`). 400.
    EmptyChunkSize,
    /// A byte in the chunk-size that is not HEXDIG (`+5`, `0x5`, `-1`), or
    /// whitespace after it not followed by `;`. 400.
    InvalidChunkSize,
    /// A chunk size, or the sum of the chunk sizes, over 64 bits. 400.
    SizeOverflow,
    /// A size line (with its extensions) longer than [`MAX_SIZE_LINE`]. 400.
    SizeLineTooLong,
    /// A control byte in a chunk extension. 400.
    InvalidChunkExtension,
    /// An LF not preceded by CR. 400.
    BareLf,
    /// A CR followed by something other than LF. 400.
    CrWithoutLf,
    /// Chunk data not followed by CRLF (more data than the size said). 400.
    MissingDataCrlf,
    /// A trailer line with a control byte, or starting with whitespace. 400.
    InvalidTrailer,
    /// A trailer section longer than [`Limits::limit_request_field_size`]. 431.
    TrailerSectionTooLarge,
    /// The chunk sizes add up to more than [`Limits::limit_request_body`]. 413.
    BodyTooLarge,
}

impl ChunkError {
    /// The status code of a response that refuses the request.
    pub fn status(&self) -> u16 {
        match self {
            ChunkError::BodyTooLarge => 413,
            ChunkError::TrailerSectionTooLarge => 431,
            ChunkError::EmptyChunkSize
            | ChunkError::InvalidChunkSize
            | ChunkError::SizeOverflow
            | ChunkError::SizeLineTooLong
            | ChunkError::InvalidChunkExtension
            | ChunkError::BareLf
            | ChunkError::CrWithoutLf
            | ChunkError::MissingDataCrlf
            | ChunkError::InvalidTrailer => 400,
        }
    }
}

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChunkError::EmptyChunkSize => "empty chunk size",
            ChunkError::InvalidChunkSize => "invalid chunk size",
            ChunkError::SizeOverflow => "chunk size too large",
            ChunkError::SizeLineTooLong => "chunk size line too long",
            ChunkError::InvalidChunkExtension => "invalid chunk extension",
            ChunkError::BareLf => "bare LF in chunked body",
            ChunkError::CrWithoutLf => "CR without LF in chunked body",
            ChunkError::MissingDataCrlf => "chunk data not followed by CRLF",
            ChunkError::InvalidTrailer => "invalid trailer field",
            ChunkError::TrailerSectionTooLarge => "trailer section too large",
            ChunkError::BodyTooLarge => "request body too large",
        })
    }
}

impl std::error::Error for ChunkError {}

/// Where the decoder is in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a size line, no digit yet.
    SizeStart,
    /// Reading the hex digits of the chunk-size.
    Size,
    /// Whitespace after the chunk-size; a `;` must follow.
    SizeWs,
    /// Inside the chunk extensions, up to CR.
    Ext,
    /// After the size line's CR.
    SizeLf,
    /// Chunk data, this many bytes still to come (never 0).
    Data(u64),
    /// After the data, expecting CR.
    DataCr,
    /// After the data's CR.
    DataLf,
    /// At the start of a trailer line or of the final CRLF.
    TrailerStart,
    /// Inside a trailer line, up to CR.
    Trailer,
    /// After a trailer line's CR.
    TrailerLf,
    /// After the final CR.
    FinalLf,
    /// The final CRLF has been consumed.
    Done,
    /// Refused; every later call returns the same error.
    Failed(ChunkError),
}

/// An incremental decoder for one chunked body.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    /// The chunk-size being read.
    size: u64,
    /// Bytes of the current size line so far.
    line_len: usize,
    /// Bytes of the trailer section so far.
    trailer_len: usize,
    /// Sum of the chunk sizes so far.
    body_len: u64,
    limit_request_body: Option<u64>,
    max_trailer: usize,
}

impl ChunkedDecoder {
    /// A decoder at the start of a body, bounded by `limits.limit_request_body` and, for
    /// the trailer section, `limits.limit_request_field_size`.
    pub fn new(limits: &Limits) -> Self {
        ChunkedDecoder {
            state: State::SizeStart,
            size: 0,
            line_len: 0,
            trailer_len: 0,
            body_len: 0,
            limit_request_body: limits.limit_request_body,
            max_trailer: limits.limit_request_field_size,
        }
    }

    /// Decodes what it can of `input`, appending the chunk data to `out`, and
    /// returns how many bytes of `input` it consumed. Consumes all of `input`
    /// unless the body ends inside it: then exactly up to the final CRLF.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, ChunkError> {
        let mut pos = 0;
        loop {
            let rest = input.get(pos..).unwrap_or_default();
            match self.state {
                State::Failed(e) => return Err(e),
                State::Done => return Ok(pos),
                _ if rest.is_empty() => return Ok(pos),
                State::Data(remaining) => {
                    let n = usize::try_from(remaining).map_or(rest.len(), |r| r.min(rest.len()));
                    out.extend_from_slice(rest.get(..n).unwrap_or_default());
                    pos += n;
                    // n <= remaining, so this does not wrap.
                    let left = remaining - n as u64;
                    self.state = if left == 0 {
                        State::DataCr
                    } else {
                        State::Data(left)
                    };
                }
                _ => {
                    // Everything but data is read a byte at a time: lines
                    // are short and bounded.
                    for &b in rest {
                        pos += 1;
                        if let Err(e) = self.step(b) {
                            self.state = State::Failed(e);
                            return Err(e);
                        }
                        if matches!(self.state, State::Data(_) | State::Done) {
                            break;
                        }
                    }
                }
            }
        }
    }

    /// Whether the whole body, final CRLF included, has been decoded.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Sum of the chunk sizes read so far.
    pub fn body_len(&self) -> u64 {
        self.body_len
    }

    /// Moves the state machine one (non-data) byte on.
    fn step(&mut self, b: u8) -> Result<(), ChunkError> {
        match self.state {
            State::SizeStart | State::Size | State::SizeWs | State::Ext | State::SizeLf => {
                self.line_len += 1;
                if self.line_len > MAX_SIZE_LINE {
                    return Err(ChunkError::SizeLineTooLong);
                }
            }
            State::TrailerStart | State::Trailer | State::TrailerLf | State::FinalLf => {
                self.trailer_len += 1;
                if self.trailer_len > self.max_trailer {
                    return Err(ChunkError::TrailerSectionTooLarge);
                }
            }
            _ => {}
        }
        self.state = match (self.state, b) {
            (State::SizeStart | State::Size, _) if b.is_ascii_hexdigit() => {
                let digit = u64::from(hex_value(b));
                self.size = self
                    .size
                    .checked_mul(16)
                    .and_then(|s| s.checked_add(digit))
                    .ok_or(ChunkError::SizeOverflow)?;
                State::Size
            }
            (State::SizeStart, b'\r' | b';' | b' ' | b'\t') => {
                return Err(ChunkError::EmptyChunkSize)
            }
            (State::Size, b';') | (State::SizeWs, b';') => State::Ext,
            (State::Size | State::SizeWs, b' ' | b'\t') => State::SizeWs,
            (State::Size | State::Ext, b'\r') => State::SizeLf,
            (State::SizeStart | State::Size | State::SizeWs | State::Ext, b'\n') => {
                return Err(ChunkError::BareLf)
            }
            (State::SizeStart | State::Size | State::SizeWs, _) => {
                return Err(ChunkError::InvalidChunkSize)
            }
            (State::Ext, _) if is_ctl(b) => return Err(ChunkError::InvalidChunkExtension),
            (State::Ext, _) => State::Ext,
            (State::SizeLf, b'\n') => self.end_size_line()?,
            (State::DataCr, b'\r') => State::DataLf,
            (State::DataCr, b'\n') => return Err(ChunkError::BareLf),
            (State::DataCr, _) => return Err(ChunkError::MissingDataCrlf),
            (State::DataLf, b'\n') => State::SizeStart,
            (State::TrailerStart, b'\r') => State::FinalLf,
            (State::TrailerStart | State::Trailer, b'\n') => return Err(ChunkError::BareLf),
            (State::TrailerStart, b' ' | b'\t') => return Err(ChunkError::InvalidTrailer),
            (State::TrailerStart | State::Trailer, _) if is_ctl(b) && b != b'\r' => {
                return Err(ChunkError::InvalidTrailer)
            }
            (State::Trailer, b'\r') => State::TrailerLf,
            (State::TrailerStart | State::Trailer, _) => State::Trailer,
            (State::TrailerLf, b'\n') => State::TrailerStart,
            (State::FinalLf, b'\n') => State::Done,
            (State::SizeLf | State::DataLf | State::TrailerLf | State::FinalLf, _) => {
                return Err(ChunkError::CrWithoutLf)
            }
            // decode() never steps in these states.
            (State::Data(_) | State::Done | State::Failed(_), _) => self.state,
        };
        Ok(())
    }

    /// The size line is complete: data next, or the trailer after the last
    /// chunk.
    fn end_size_line(&mut self) -> Result<State, ChunkError> {
        let size = std::mem::take(&mut self.size);
        self.line_len = 0;
        if size == 0 {
            return Ok(State::TrailerStart);
        }
        self.body_len = self
            .body_len
            .checked_add(size)
            .ok_or(ChunkError::SizeOverflow)?;
        if self
            .limit_request_body
            .is_some_and(|max| self.body_len > max)
        {
            return Err(ChunkError::BodyTooLarge);
        }
        Ok(State::Data(size))
    }
}

/// The value of a hex digit (callers check `is_ascii_hexdigit` first).
fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

/// A control byte other than HTAB (CTL in RFC 5234, minus what field values
/// and extensions may hold).
fn is_ctl(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

#[cfg(test)]
mod tests {
    use super::super::rng::Rng;
    use super::*;
    use ChunkError::*;

    /// What decoding a whole input said: the bytes consumed and the data, or
    /// an error. `done` is whether the body ended.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Outcome {
        Ok {
            consumed: usize,
            done: bool,
            data: Vec<u8>,
        },
        Err(ChunkError),
    }

    fn show(buf: &[u8]) -> String {
        String::from_utf8_lossy(buf).into_owned()
    }

    /// Feeds `input` in pieces of `step` bytes, offering each piece again
    /// from where the decoder stopped, as a connection's buffer would.
    fn feed(input: &[u8], step: usize, limits: &Limits) -> Outcome {
        let mut d = ChunkedDecoder::new(limits);
        let mut data = Vec::new();
        let mut consumed = 0;
        let mut available = 0;
        while available < input.len() && !d.is_done() {
            available = (available + step).min(input.len());
            let piece = input.get(consumed..available).unwrap_or_default();
            match d.decode(piece, &mut data) {
                Ok(n) => {
                    assert!(n <= piece.len());
                    consumed += n;
                }
                Err(e) => {
                    // The decoder stays failed.
                    assert_eq!(d.decode(b"0\r\n\r\n", &mut data), Err(e));
                    return Outcome::Err(e);
                }
            }
        }
        // Once done, nothing more is consumed.
        if d.is_done() {
            assert_eq!(d.decode(b"0\r\n\r\n", &mut data), Ok(0));
        }
        Outcome::Ok {
            consumed,
            done: d.is_done(),
            data,
        }
    }

    fn done(consumed: usize, data: &[u8]) -> Outcome {
        Outcome::Ok {
            consumed,
            done: true,
            data: data.to_vec(),
        }
    }

    fn more(data: &[u8]) -> Outcome {
        Outcome::Ok {
            consumed: usize::MAX,
            done: false,
            data: data.to_vec(),
        }
    }

    /// `done(ALL, ..)`: the body is the whole input.
    const ALL: usize = usize::MAX;

    #[rustfmt::skip]
    fn cases() -> Vec<(&'static [u8], Outcome)> {
        vec![
            // Valid bodies.
            (b"0\r\n\r\n", done(ALL, b"")),
            (b"5\r\nhello\r\n0\r\n\r\n", done(ALL, b"hello")),
            (b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", done(ALL, b"hello world")),
            (b"a\r\n0123456789\r\nA\r\nabcdefghij\r\n0\r\n\r\n", done(ALL, b"0123456789abcdefghij")),
            (b"000005\r\nhello\r\n000\r\n\r\n", done(ALL, b"hello")),
            (b"5;name=value\r\nhello\r\n0;x\r\n\r\n", done(ALL, b"hello")),
            (b"5 ;a\r\nhello\r\n0\t; b=\"q;\\\"x\"\r\n\r\n", done(ALL, b"hello")),
            (b"5;\xff\r\nhello\r\n0\r\n\r\n", done(ALL, b"hello")),
            (b"2\r\n\r\n\r\n0\r\n\r\n", done(ALL, b"\r\n")),
            (b"0\r\nExpires: never\r\nX-Sum: 1\r\n\r\n", done(ALL, b"")),
            (b"0\r\nX: \xff\tb\r\n\r\n", done(ALL, b"")),
            // The body ends at its final CRLF, whatever follows.
            (b"0\r\n\r\nGET / HTTP/1.1\r\n\r\n", done(5, b"")),
            (b"3\r\nabc\r\n0\r\n\r\n\r\n", done(13, b"abc")),
            (b"3\r\nabc\r\n0\r\nT: 1\r\n\r\n0\r\n\r\n", done(19, b"abc")),
            // Incomplete.
            (b"", more(b"")),
            (b"5", more(b"")),
            (b"5\r\nhel", more(b"hel")),
            (b"5\r\nhello\r", more(b"hello")),
            (b"5\r\nhello\r\n0\r\n", more(b"hello")),
            (b"0\r\nX: 1\r\n", more(b"")),
            (b"0\r\n\r", more(b"")),
            // Size line.
            (b"\r\n", Outcome::Err(EmptyChunkSize)),
            (b";ext\r\n", Outcome::Err(EmptyChunkSize)),
            (b" 5\r\n", Outcome::Err(EmptyChunkSize)),
            (b"+5\r\nhello\r\n0\r\n\r\n", Outcome::Err(InvalidChunkSize)),
            (b"-1\r\n", Outcome::Err(InvalidChunkSize)),
            (b"0x5\r\nhello\r\n0\r\n\r\n", Outcome::Err(InvalidChunkSize)),
            (b"5g\r\n", Outcome::Err(InvalidChunkSize)),
            (b"5 \r\nhello\r\n0\r\n\r\n", Outcome::Err(InvalidChunkSize)),
            (b"5 5\r\n", Outcome::Err(InvalidChunkSize)),
            (b"ffffffffffffffff\r\n", more(b"")),
            (b"10000000000000000\r\n", Outcome::Err(SizeOverflow)),
            (b"5;a\x00b\r\n", Outcome::Err(InvalidChunkExtension)),
            (b"5;a\x7f\r\n", Outcome::Err(InvalidChunkExtension)),
            (b"5\nhello\r\n0\r\n\r\n", Outcome::Err(BareLf)),
            (b"5;x\nhello\r\n0\r\n\r\n", Outcome::Err(BareLf)),
            (b"\n", Outcome::Err(BareLf)),
            (b"5\rhello\r\n", Outcome::Err(CrWithoutLf)),
            // Data.
            (b"5\r\nhello!\r\n0\r\n\r\n", Outcome::Err(MissingDataCrlf)),
            (b"5\r\nhelloGET", Outcome::Err(MissingDataCrlf)),
            (b"5\r\nhello\n0\r\n\r\n", Outcome::Err(BareLf)),
            (b"5\r\nhello\rX", Outcome::Err(CrWithoutLf)),
            // Trailer section and final CRLF.
            (b"0\r\n\n", Outcome::Err(BareLf)),
            (b"0\r\nX: 1\n\r\n", Outcome::Err(BareLf)),
            (b"0\r\n\rX", Outcome::Err(CrWithoutLf)),
            (b"0\r\nX: 1\rY", Outcome::Err(CrWithoutLf)),
            (b"0\r\nX: a\x00b\r\n\r\n", Outcome::Err(InvalidTrailer)),
            (b"0\r\n\x01X: a\r\n\r\n", Outcome::Err(InvalidTrailer)),
            (b"0\r\nX: 1\r\n folded\r\n\r\n", Outcome::Err(InvalidTrailer)),
            (b"0\r\n\tX: 1\r\n\r\n", Outcome::Err(InvalidTrailer)),
        ]
    }

    /// Every case gives the same outcome whole, a byte at a time, and in
    /// pieces of 2, 3 and 7 bytes.
    #[test]
    fn table() {
        for (input, want) in cases() {
            let want = match want {
                Outcome::Ok {
                    consumed,
                    done,
                    data,
                } => Outcome::Ok {
                    consumed: if consumed == ALL {
                        input.len()
                    } else {
                        consumed
                    },
                    done,
                    data,
                },
                e => e,
            };
            for step in [input.len().max(1), 1, 2, 3, 7] {
                assert_eq!(
                    feed(input, step, &Limits::default()),
                    want,
                    "{:?} step {step}",
                    show(input)
                );
            }
        }
    }

    fn limits(limit_request_body: Option<u64>, limit_request_field_size: usize) -> Limits {
        Limits {
            limit_request_body,
            limit_request_field_size,
            ..Limits::default()
        }
    }

    #[test]
    fn limits_are_enforced() {
        #[rustfmt::skip]
        let cases: &[(Limits, &[u8], Outcome)] = &[
            (limits(Some(5), 100), b"5\r\nhello\r\n0\r\n\r\n", done(15, b"hello")),
            (limits(Some(5), 100), b"6\r\n", Outcome::Err(BodyTooLarge)),
            (limits(Some(5), 100), b"3\r\nabc\r\n3\r\n", Outcome::Err(BodyTooLarge)),
            (limits(Some(0), 100), b"0\r\n\r\n", done(5, b"")),
            (limits(Some(0), 100), b"1\r\n", Outcome::Err(BodyTooLarge)),
            // The trailer section counts its final CRLF, like a header section.
            (limits(None, 2), b"0\r\n\r\n", done(5, b"")),
            (limits(None, 1), b"0\r\n\r\n", Outcome::Err(TrailerSectionTooLarge)),
            (limits(None, 8), b"0\r\nX: 1\r\n\r\n", done(11, b"")),
            (limits(None, 7), b"0\r\nX: 1\r\n\r\n", Outcome::Err(TrailerSectionTooLarge)),
            (limits(None, 7), b"0\r\nXXXXXXXX", Outcome::Err(TrailerSectionTooLarge)),
        ];
        for (limits, input, want) in cases {
            for step in [input.len(), 1] {
                assert_eq!(
                    feed(input, step, limits),
                    *want,
                    "{:?} {limits:?}",
                    show(input)
                );
            }
        }
    }

    #[test]
    fn size_line_is_bounded() {
        let mut line = b"5;".to_vec();
        line.resize(MAX_SIZE_LINE - 2, b'x');
        line.extend_from_slice(b"\r\nhello\r\n0\r\n\r\n");
        assert_eq!(
            feed(&line, 1, &Limits::default()),
            done(line.len(), b"hello")
        );
        let mut line = b"5;".to_vec();
        line.resize(MAX_SIZE_LINE - 1, b'x');
        line.extend_from_slice(b"\r\n");
        assert_eq!(
            feed(&line, 1, &Limits::default()),
            Outcome::Err(SizeLineTooLong)
        );
        // Leading zeros cannot spin forever either.
        let zeros = vec![b'0'; MAX_SIZE_LINE + 1];
        assert_eq!(
            feed(&zeros, 64, &Limits::default()),
            Outcome::Err(SizeLineTooLong)
        );
    }

    #[test]
    fn statuses() {
        #[rustfmt::skip]
        let cases = [
            (EmptyChunkSize, 400), (InvalidChunkSize, 400), (SizeOverflow, 400),
            (SizeLineTooLong, 400), (InvalidChunkExtension, 400), (BareLf, 400),
            (CrWithoutLf, 400), (MissingDataCrlf, 400), (InvalidTrailer, 400),
            (TrailerSectionTooLarge, 431), (BodyTooLarge, 413),
        ];
        for (e, status) in cases {
            assert_eq!(e.status(), status, "{e:?}");
            assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn body_len_is_the_sum_of_the_chunk_sizes() {
        let mut d = ChunkedDecoder::new(&Limits::default());
        let mut out = Vec::new();
        assert_eq!(d.decode(b"3\r\nabc\r\n4\r\nde", &mut out), Ok(13));
        assert_eq!(
            (d.body_len(), out.as_slice(), d.is_done()),
            (7, &b"abcde"[..], false)
        );
    }

    /// Encodes `payload` as a chunked body with random chunk sizes, size
    /// spellings, extensions and trailers.
    fn encode(payload: &[u8], rng: &mut Rng) -> Vec<u8> {
        let mut body = Vec::new();
        let mut rest = payload;
        while !rest.is_empty() {
            let n = 1 + rng.below(rest.len().min(300));
            let (chunk, tail) = rest.split_at(n);
            let size = match rng.below(3) {
                0 => format!("{n:x}"),
                1 => format!("{n:X}"),
                _ => format!("000{n:x}"),
            };
            body.extend_from_slice(size.as_bytes());
            if rng.below(4) == 0 {
                body.extend_from_slice(b" ; name=\"v;al\" ;x");
            }
            body.extend_from_slice(b"\r\n");
            body.extend_from_slice(chunk);
            body.extend_from_slice(b"\r\n");
            rest = tail;
        }
        body.extend_from_slice(b"0\r\n");
        for i in 0..rng.below(3) {
            body.extend_from_slice(format!("X-Trailer-{i}: v{i}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body
    }

    /// Random payloads, random encodings, random splits: the decoder gives
    /// back the payload and stops exactly at the end of the body.
    #[test]
    fn random_splits_round_trip() {
        let mut rng = Rng(0x0123_4567_89ab_cdef);
        let pipelined = b"GET /next HTTP/1.1\r\n\r\n";
        for _ in 0..500 {
            // Payloads full of CR, LF and digits, to tempt a wrong parser.
            let payload: Vec<u8> = (0..rng.below(2000))
                .filter_map(|_| rng.pick(b"\r\n0123456789abcdef;\x00\xff").copied())
                .collect();
            let body = encode(&payload, &mut rng);
            let mut wire = body.clone();
            wire.extend_from_slice(pipelined);

            let mut d = ChunkedDecoder::new(&Limits::default());
            let mut out = Vec::new();
            let mut pos = 0;
            while pos < wire.len() && !d.is_done() {
                let end = (pos + 1 + rng.below(64)).min(wire.len());
                let piece = wire.get(pos..end).unwrap_or_default();
                let n = d
                    .decode(piece, &mut out)
                    .unwrap_or_else(|e| panic!("{e}: {:?}", show(&body)));
                assert!(n <= piece.len());
                pos += n;
                if n < piece.len() {
                    assert!(d.is_done());
                }
            }
            assert!(d.is_done());
            assert_eq!(pos, body.len());
            assert_eq!(out, payload);
            assert_eq!(d.body_len(), payload.len() as u64);
        }
    }

    /// Mutated bodies never panic and never consume more than they were given.
    #[test]
    fn mutations_never_panic() {
        let mut rng = Rng(0xdead_beef_cafe_f00d);
        let interesting = b"\r\n;: \t0fF\x00\xffx";
        for _ in 0..5_000 {
            let payload: Vec<u8> = (0..rng.below(40)).map(|i| i as u8).collect();
            let mut body = encode(&payload, &mut rng);
            for _ in 0..=rng.below(3) {
                let at = rng.below(body.len());
                if let Some(b) = body.get_mut(at) {
                    *b = rng.pick(interesting).copied().unwrap_or(b'x');
                }
            }
            let l = limits(Some(rng.below(50) as u64), rng.below(40));
            let mut d = ChunkedDecoder::new(&l);
            let mut out = Vec::new();
            let mut pos = 0;
            while pos < body.len() && !d.is_done() {
                let end = (pos + 1 + rng.below(8)).min(body.len());
                let piece = body.get(pos..end).unwrap_or_default();
                match d.decode(piece, &mut out) {
                    Ok(n) => {
                        assert!(n <= piece.len());
                        pos += n;
                    }
                    Err(_) => break,
                }
            }
            assert!(out.len() as u64 <= d.body_len());
        }
    }
}
