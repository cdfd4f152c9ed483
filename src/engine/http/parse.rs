//! Request heads: httparse for the syntax, RFC 9112 for the framing.
//!
//! [`parse_head`] takes the bytes a connection has buffered so far and answers
//! "need more", "here is a head of N bytes" or "this is invalid, answer with
//! status S". It does no I/O and holds no GIL.
//!
//! Choices made here (where RFC 9112 lets a server choose):
//! - A bare LF ends a line, as httparse accepts it (RFC 9112 section 2.2 allows
//!   that); a CR not followed by LF is refused.
//! - Empty lines before the request line are skipped (section 2.2) and count
//!   against [`Limits::limit_request_line`] and in the head's length.
//! - A well-formed HTTP-version other than 1.0 and 1.1 is 505; httparse reads
//!   only those two, so HTTP/1.2 is 505 as well (a deviation from RFC 9110
//!   section 6.2, which would read it as 1.1).
//! - Transfer-Encoding: only exactly `chunked` (case-insensitive, OWS and
//!   empty list elements ignored, several field lines combined) is accepted.
//!   A final coding other than `chunked`, or `chunked` twice, is 400 (section
//!   6.3: the length cannot be determined); `chunked` preceded by a coding we
//!   do not implement (`gzip, chunked`) is 501 (section 6.1).
//! - Content-Length: each field line may be a comma list; every element must
//!   be 1*DIGIT and all of them the same number (`5, 5` and `05` are 5),
//!   else 400.
//! - Content-Length: a list of identical values (`5, 5`) is given on as its
//!   first element (`5`), so the application sees a number it can read.
//! - The request-target is kept as sent (the access log shows it so). An
//!   absolute-form target with the `http` or `https` scheme
//!   (`http://host/p?q`, section 3.2.2) gives the path and query from
//!   [`RequestHead::path_start`] on, and its authority replaces the Host
//!   field's value, which the RFC says to ignore (a Host field is added for
//!   an HTTP/1.0 request that has none). Userinfo or an empty host in it is
//!   400. Any other form is kept as sent.
//! - Host (section 3.2): an HTTP/1.1 request without one, any request with
//!   two Host field lines, and a Host value that is not
//!   `uri-host [":" port]` are 400, as the RFC requires. The standard
//!   library accepts all three.

use std::borrow::Cow;
use std::fmt;
use std::mem::MaybeUninit;

use super::fields::Fields;
use super::host::{self, AuthorityError};
use super::limits::Limits;

/// The HTTP-version of a request; httparse reads no other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `HTTP/1.0`
    Http10,
    /// `HTTP/1.1`
    Http11,
}

impl Version {
    /// The protocol as written in the request line (`SERVER_PROTOCOL`).
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

/// How the message body is delimited (RFC 9112 section 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// Neither Content-Length nor Transfer-Encoding: no body.
    None,
    /// Content-Length: exactly this many bytes follow the head.
    Length(u64),
    /// Transfer-Encoding: chunked; decode with [`super::chunked::ChunkedDecoder`].
    Chunked,
}

/// A parsed request head (request line and header section).
///
/// Owned copies of the parts of the buffer: the method (unless a common
/// one), the target, and the header fields in one buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// The method token, as sent (case-sensitive); the common ones without an allocation.
    pub method: Cow<'static, str>,
    /// The request-target, raw bytes as sent.
    pub target: Vec<u8>,
    /// Where the origin-form part (path and query) of `target` starts: past the scheme and
    /// authority of an absolute-form target, else 0.
    pub path_start: usize,
    /// The HTTP-version of the request line.
    pub version: Version,
    /// The header fields in order, names in their original case, values
    /// without leading and trailing OWS (SP / HTAB). For an absolute-form
    /// target, the Host field holds its authority, and an HTTP/1.0 request
    /// without one gets one at the end (so one field past
    /// [`Limits::limit_request_fields`] at most).
    pub headers: Fields,
    /// Whether the connection may stay open after the response: HTTP/1.1
    /// unless `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`.
    pub keep_alive: bool,
    /// How the body is delimited.
    pub body: BodyFraming,
    /// `Expect: 100-continue` on an HTTP/1.1 request.
    pub expect_continue: bool,
}

/// Why a head was refused; [`ParseError::status`] is the response status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// The request line (with any empty lines before it) is longer than
    /// [`Limits::limit_request_line`]. 414.
    RequestLineTooLong,
    /// The header section is longer than [`Limits::limit_request_field_size`]. 431.
    HeaderSectionTooLarge,
    /// More header fields than [`Limits::limit_request_fields`]. 431.
    TooManyHeaders,
    /// The method is empty or has a byte outside tchar. 400.
    InvalidMethod,
    /// The request-target is empty, has a byte httparse refuses (controls,
    /// space, DEL) or is not valid UTF-8. 400.
    InvalidTarget,
    /// The HTTP-version is not `HTTP/` DIGIT `.` DIGIT. 400.
    InvalidVersion,
    /// A well-formed HTTP-version other than 1.0 and 1.1. 505.
    UnsupportedVersion,
    /// A CR not followed by LF, or something other than a line ending after
    /// the HTTP-version. 400.
    InvalidLineEnding,
    /// A field name with a byte outside tchar, an empty name, or whitespace
    /// between the name and the colon. 400.
    InvalidHeaderName,
    /// A header line starting with whitespace: obsolete line folding (or
    /// whitespace before the first field). 400.
    ObsFold,
    /// A field value with a control byte (other than HTAB). 400.
    InvalidHeaderValue,
    /// A Content-Length element that is not 1*DIGIT (a sign, hex, spaces
    /// inside, empty) or does not fit in 64 bits. 400.
    InvalidContentLength,
    /// Content-Length elements with different values. 400.
    ConflictingContentLength,
    /// Both Transfer-Encoding and Content-Length (request smuggling). 400.
    TransferEncodingWithContentLength,
    /// Transfer-Encoding on an HTTP/1.0 request. 400.
    TransferEncodingInHttp10,
    /// A Transfer-Encoding whose final coding is not `chunked`, or that
    /// lists no coding at all. 400.
    TransferEncodingNotChunked,
    /// `chunked` applied more than once. 400.
    ChunkedTwice,
    /// A transfer coding before `chunked` that we do not implement
    /// (`gzip, chunked`). 501.
    UnsupportedTransferCoding,
    /// A Content-Length over [`Limits::limit_request_body`]. 413.
    BodyTooLarge,
    /// An HTTP/1.1 request without a Host field. 400.
    MissingHost,
    /// More than one Host field line. 400.
    RepeatedHost,
    /// A Host value that is not `uri-host [":" port]`. 400.
    InvalidHost,
    /// An `http` or `https` absolute-form target whose authority is refused. 400.
    InvalidAuthority(AuthorityError),
}

impl ParseError {
    /// The status code of the response that refuses the request.
    pub fn status(&self) -> u16 {
        match self {
            ParseError::RequestLineTooLong => 414,
            ParseError::HeaderSectionTooLarge | ParseError::TooManyHeaders => 431,
            ParseError::UnsupportedVersion => 505,
            ParseError::UnsupportedTransferCoding => 501,
            ParseError::BodyTooLarge => 413,
            ParseError::InvalidMethod
            | ParseError::InvalidTarget
            | ParseError::InvalidVersion
            | ParseError::InvalidLineEnding
            | ParseError::InvalidHeaderName
            | ParseError::ObsFold
            | ParseError::InvalidHeaderValue
            | ParseError::InvalidContentLength
            | ParseError::ConflictingContentLength
            | ParseError::TransferEncodingWithContentLength
            | ParseError::TransferEncodingInHttp10
            | ParseError::TransferEncodingNotChunked
            | ParseError::ChunkedTwice
            | ParseError::MissingHost
            | ParseError::RepeatedHost
            | ParseError::InvalidHost
            | ParseError::InvalidAuthority(_) => 400,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseError::RequestLineTooLong => "request line too long",
            ParseError::HeaderSectionTooLarge => "header section too large",
            ParseError::TooManyHeaders => "too many header fields",
            ParseError::InvalidMethod => "invalid method",
            ParseError::InvalidTarget => "invalid request target",
            ParseError::InvalidVersion => "invalid HTTP version",
            ParseError::UnsupportedVersion => "unsupported HTTP version",
            ParseError::InvalidLineEnding => "invalid line ending",
            ParseError::InvalidHeaderName => "invalid header field name",
            ParseError::ObsFold => "obsolete line folding in header section",
            ParseError::InvalidHeaderValue => "invalid header field value",
            ParseError::InvalidContentLength => "invalid Content-Length",
            ParseError::ConflictingContentLength => "conflicting Content-Length values",
            ParseError::TransferEncodingWithContentLength => {
                "both Transfer-Encoding and Content-Length"
            }
            ParseError::TransferEncodingInHttp10 => "Transfer-Encoding in an HTTP/1.0 request",
            ParseError::TransferEncodingNotChunked => "final transfer coding is not chunked",
            ParseError::ChunkedTwice => "chunked transfer coding applied more than once",
            ParseError::UnsupportedTransferCoding => "unsupported transfer coding",
            ParseError::BodyTooLarge => "request body too large",
            ParseError::MissingHost => "HTTP/1.1 request without a Host field",
            ParseError::RepeatedHost => "more than one Host field",
            ParseError::InvalidHost => "invalid Host field value",
            ParseError::InvalidAuthority(AuthorityError::Userinfo) => {
                "userinfo in the request target's authority"
            }
            ParseError::InvalidAuthority(AuthorityError::EmptyHost) => {
                "empty host in the request target"
            }
            ParseError::InvalidAuthority(AuthorityError::Invalid) => {
                "invalid authority in the request target"
            }
        })
    }
}

impl std::error::Error for ParseError {}

/// Header slots on the stack; a larger [`Limits::limit_request_fields`] uses the heap.
const INLINE_HEADERS: usize = 100;

/// Parses the request head at the start of `buf`.
///
/// - `Ok(None)`: the head is incomplete (and within the limits); call again
///   with more bytes.
/// - `Ok(Some((head, len)))`: `buf[..len]` is the head, exactly (the body or a
///   pipelined request starts at `len`).
/// - `Err(e)`: refuse with `e.status()` and close the connection.
///
/// The limits are enforced on incomplete heads too, so a client cannot make
/// the connection buffer grow past them.
pub fn parse_head(buf: &[u8], limits: &Limits) -> Result<Option<(RequestHead, usize)>, ParseError> {
    // Where the request line ends, looked for only within its limit.
    let window = prefix(buf, limits.limit_request_line);
    let line_start = window.iter().position(|&b| b != b'\r' && b != b'\n');
    let line_end = line_start.and_then(|start| {
        let rest = window.get(start..)?;
        rest.iter().position(|&b| b == b'\n').map(|i| start + i + 1)
    });
    let cap = match line_end {
        Some(end) => end.saturating_add(limits.limit_request_field_size),
        // Whatever comes next, the line will be longer than the limit.
        None if buf.len() >= limits.limit_request_line => {
            return Err(ParseError::RequestLineTooLong)
        }
        None => buf.len(),
    };
    // httparse never sees more than the limits allow, so a client trickling
    // an endless head costs at most the limits per call.
    let input = prefix(buf, cap);

    let mut inline = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; INLINE_HEADERS];
    let mut heap;
    let slots: &mut [MaybeUninit<httparse::Header<'_>>] =
        match inline.get_mut(..limits.limit_request_fields) {
            Some(s) => s,
            None => {
                // httparse stores a field once its LF is in, so it never needs
                // more slots than there are LFs: a large limit_request_fields costs only
                // what the client has sent.
                let lines = line_end
                    .and_then(|end| input.get(end..))
                    .map_or(0, |section| section.iter().filter(|&&b| b == b'\n').count());
                heap = vec![MaybeUninit::uninit(); limits.limit_request_fields.min(lines)];
                &mut heap
            }
        };

    let mut req = httparse::Request::new(&mut []);
    match req.parse_with_uninit_headers(input, slots) {
        Ok(httparse::Status::Complete(len)) => {
            build_head(&req, limits).map(|head| Some((head, len)))
        }
        Ok(httparse::Status::Partial) => {
            if line_end.is_some() && input.len() >= cap {
                Err(ParseError::HeaderSectionTooLarge)
            } else {
                Ok(None)
            }
        }
        Err(e) => {
            let line = match (line_start, line_end) {
                (Some(start), Some(end)) => window.get(start..end - 1).unwrap_or_default(),
                (Some(start), None) => window.get(start..).unwrap_or_default(),
                (None, _) => &[],
            };
            let section = line_end
                .and_then(|end| input.get(end..))
                .unwrap_or_default();
            classify(e, &req, line, line_end.is_some(), section)
        }
    }
}

/// `buf[..n]`, or all of `buf` when it is shorter.
fn prefix(buf: &[u8], n: usize) -> &[u8] {
    buf.get(..n).unwrap_or(buf)
}

/// Names what httparse refused. `line` is the request line without its LF,
/// `section` what there is of the header section.
#[cold]
#[inline(never)]
fn classify(
    e: httparse::Error,
    req: &httparse::Request<'_, '_>,
    line: &[u8],
    line_complete: bool,
    section: &[u8],
) -> Result<Option<(RequestHead, usize)>, ParseError> {
    // The version is the third word (method and target hold no space).
    let version_word = || line.splitn(3, |&b| b == b' ').nth(2).unwrap_or_default();
    Err(match e {
        httparse::Error::Token | httparse::Error::Status => {
            if req.method.is_none() {
                ParseError::InvalidMethod
            } else {
                ParseError::InvalidTarget
            }
        }
        httparse::Error::Version => {
            let word = version_word();
            if line_complete {
                let word = word.strip_suffix(b"\r").unwrap_or(word);
                if word.len() == 8 && version_shaped(word) {
                    ParseError::UnsupportedVersion
                } else {
                    ParseError::InvalidVersion
                }
            } else {
                // Wait for the line to end before telling 400 from 505.
                let word = match word {
                    [w @ .., b'\r'] if w.len() == 8 => w,
                    w => w,
                };
                if version_shaped(word) {
                    return Ok(None);
                }
                ParseError::InvalidVersion
            }
        }
        httparse::Error::NewLine => {
            // `HTTP/1.10` or `HTTP/1.1x`: httparse read a version, then no
            // line ending.
            match version_word().get(8) {
                Some(&b) if b != b'\r' && req.version.is_some() => ParseError::InvalidVersion,
                _ => ParseError::InvalidLineEnding,
            }
        }
        httparse::Error::HeaderName => header_name_error(section),
        httparse::Error::HeaderValue => ParseError::InvalidHeaderValue,
        httparse::Error::TooManyHeaders => ParseError::TooManyHeaders,
    })
}

/// Whether `word` is `HTTP/` DIGIT `.` DIGIT or a prefix of it.
fn version_shaped(word: &[u8]) -> bool {
    word.len() <= 8
        && word.iter().zip(b"HTTP/#.#").all(|(&b, &t)| {
            if t == b'#' {
                b.is_ascii_digit()
            } else {
                b == t
            }
        })
}

/// httparse refused a field name; find the first bad line to say why. Lines
/// before the bad one are well-formed (httparse stops at the first).
fn header_name_error(section: &[u8]) -> ParseError {
    for line in section.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(b' ' | b'\t') = line.first() {
            return ParseError::ObsFold;
        }
        let name_ok = match line.iter().position(|&b| b == b':') {
            Some(i) if i > 0 => line
                .get(..i)
                .unwrap_or_default()
                .iter()
                .all(|&b| is_tchar(b)),
            _ => false,
        };
        if !name_ok {
            break;
        }
    }
    ParseError::InvalidHeaderName
}

/// tchar (RFC 9110 section 5.6.2).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Strips leading and trailing OWS (SP / HTAB).
fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// The elements of a comma list, OWS trimmed (empty ones included).
fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(trim_ows)
}

/// 1*DIGIT as a u64; `None` for anything else or an overflow.
fn parse_digits(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// What the fields that decide the framing said, gathered in one pass.
#[derive(Default)]
struct FramingFields {
    content_length: Option<u64>,
    content_length_seen: bool,
    content_length_error: Option<ParseError>,
    te_seen: bool,
    te_codings: usize,
    te_last_chunked: bool,
    te_chunked_not_last: bool,
    close: bool,
    keep_alive: bool,
    expect_continue: bool,
}

impl FramingFields {
    fn content_length(&mut self, value: &[u8]) {
        self.content_length_seen = true;
        if self.content_length_error.is_some() {
            return;
        }
        for element in list_elements(value) {
            match (parse_digits(element), self.content_length) {
                (None, _) => {
                    self.content_length_error = Some(ParseError::InvalidContentLength);
                    return;
                }
                (Some(n), Some(prev)) if n != prev => {
                    self.content_length_error = Some(ParseError::ConflictingContentLength);
                    return;
                }
                (Some(n), _) => self.content_length = Some(n),
            }
        }
    }

    fn transfer_encoding(&mut self, value: &[u8]) {
        self.te_seen = true;
        for coding in list_elements(value).filter(|c| !c.is_empty()) {
            if self.te_last_chunked {
                self.te_chunked_not_last = true;
            }
            self.te_last_chunked = coding.eq_ignore_ascii_case(b"chunked");
            self.te_codings += 1;
        }
    }

    fn connection(&mut self, value: &[u8]) {
        for option in list_elements(value) {
            if option.eq_ignore_ascii_case(b"close") {
                self.close = true;
            } else if option.eq_ignore_ascii_case(b"keep-alive") {
                self.keep_alive = true;
            }
        }
    }

    /// The body framing, or why there is none that can be trusted.
    fn body(&self, version: Version, limits: &Limits) -> Result<BodyFraming, ParseError> {
        if self.te_seen {
            if version == Version::Http10 {
                return Err(ParseError::TransferEncodingInHttp10);
            }
            if self.content_length_seen {
                return Err(ParseError::TransferEncodingWithContentLength);
            }
            if !self.te_last_chunked {
                return Err(ParseError::TransferEncodingNotChunked);
            }
            if self.te_chunked_not_last {
                return Err(ParseError::ChunkedTwice);
            }
            if self.te_codings > 1 {
                return Err(ParseError::UnsupportedTransferCoding);
            }
            return Ok(BodyFraming::Chunked);
        }
        if let Some(e) = self.content_length_error {
            return Err(e);
        }
        match self.content_length {
            Some(n) if limits.limit_request_body.is_some_and(|max| n > max) => {
                Err(ParseError::BodyTooLarge)
            }
            Some(n) => Ok(BodyFraming::Length(n)),
            None => Ok(BodyFraming::None),
        }
    }
}

/// The method token: the common ones as static text.
fn method(sent: &str) -> Cow<'static, str> {
    const COMMON: [&str; 7] = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"];
    match COMMON.iter().find(|&&m| m == sent) {
        Some(&m) => Cow::Borrowed(m),
        None => Cow::Owned(sent.to_owned()),
    }
}

/// The head httparse found complete, with the framing rules applied.
fn build_head(req: &httparse::Request<'_, '_>, limits: &Limits) -> Result<RequestHead, ParseError> {
    let version = match req.version {
        Some(0) => Version::Http10,
        _ => Version::Http11,
    };
    let target = req.path.unwrap_or_default().as_bytes();
    let absolute = host::absolute_form(target).map_err(ParseError::InvalidAuthority)?;
    let authority = absolute
        .as_ref()
        .and_then(|form| target.get(form.authority.clone()));
    let mut framing = FramingFields::default();
    let (mut hosts, mut host_valid) = (0usize, true);
    let size = req
        .headers
        .iter()
        .map(|h| h.name.len() + h.value.len())
        .sum();
    let mut headers = Fields::with_capacity(req.headers.len(), size);
    for h in req.headers.iter() {
        let name = h.name.as_bytes();
        // httparse already trims; trim again so the contract does not hang on it.
        let mut value = trim_ows(h.value);
        if name.eq_ignore_ascii_case(b"content-length") {
            framing.content_length(value);
            // `5, 5` (identical values, else refused below): the application gets `5`.
            value = list_elements(value).next().unwrap_or(value);
        } else if name.eq_ignore_ascii_case(b"host") {
            hosts += 1;
            host_valid &= host::is_valid_host(value);
            if let Some(authority) = authority {
                // The target's authority is the host; the field is ignored (section 3.2.2).
                value = authority;
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            framing.transfer_encoding(value);
        } else if name.eq_ignore_ascii_case(b"connection") {
            framing.connection(value);
        } else if name.eq_ignore_ascii_case(b"expect")
            && value.eq_ignore_ascii_case(b"100-continue")
        {
            framing.expect_continue = true;
        }
        headers.push(name, value);
    }
    match hosts {
        0 if version == Version::Http11 => return Err(ParseError::MissingHost),
        0 => {
            if let Some(authority) = authority {
                headers.push(b"Host", authority);
            }
        }
        1 if !host_valid => return Err(ParseError::InvalidHost),
        1 => {}
        _ => return Err(ParseError::RepeatedHost),
    }
    let body = framing.body(version, limits)?;
    let keep_alive = match version {
        Version::Http11 => !framing.close,
        Version::Http10 => framing.keep_alive && !framing.close,
    };
    Ok(RequestHead {
        method: method(req.method.unwrap_or_default()),
        target: target.to_vec(),
        path_start: absolute.map_or(0, |form| form.path_start),
        version,
        headers,
        keep_alive,
        body,
        expect_continue: framing.expect_continue && version == Version::Http11,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use BodyFraming::{Chunked, Length};
    use Outcome::{Err, Head, Partial, Whole};
    use ParseError::*;

    /// What one call said, without the head's contents.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Outcome {
        /// `Ok(None)`.
        Partial,
        /// A head exactly as long as the input.
        Whole,
        /// A head of this many bytes (more input follows it).
        Head(usize),
        Err(ParseError),
    }

    fn outcome(buf: &[u8], limits: &Limits) -> Outcome {
        match parse_head(buf, limits) {
            Ok(None) => Partial,
            Ok(Some((_, len))) if len == buf.len() => Whole,
            Ok(Some((_, len))) => Head(len),
            Result::Err(e) => Err(e),
        }
    }

    fn head(buf: &[u8]) -> RequestHead {
        match parse_head(buf, &Limits::default()) {
            Ok(Some((head, _))) => head,
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(buf)),
        }
    }

    fn show(buf: &[u8]) -> String {
        String::from_utf8_lossy(buf).into_owned()
    }

    /// `GET / HTTP/1.1` with `fields` as its header section.
    fn get_with(fields: &str) -> Vec<u8> {
        format!("GET / HTTP/1.1\r\nHost: a\r\n{fields}\r\n").into_bytes()
    }

    #[rustfmt::skip]
    const CASES: &[(&[u8], Outcome)] = &[
        // Complete heads.
        (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", Whole),
        (b"GET / HTTP/1.0\r\n\r\n", Whole),
        (b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", Whole),
        (b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", Whole),
        (b"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", Whole),
        (b"GET / HTTP/1.1\nHost: a\n\n", Whole),
        (b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", Whole),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: \xff\xfe\r\n\r\n", Whole),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX:\r\n\r\n", Whole),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\tb\r\n\r\n", Whole),
        // Pipelined: the head ends exactly where the next bytes start.
        (b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\n\r\n", Head(28)),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n", Head(47)),
        (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n\r\n", Head(27)),
        // Incomplete.
        (b"", Partial),
        (b"\r\n", Partial),
        (b"G", Partial),
        (b"GET / HTTP/1.", Partial),
        (b"GET / HTTP/1.1", Partial),
        (b"GET / HTTP/1.1\r", Partial),
        (b"GET / HTTP/1.1\r\n", Partial),
        (b"GET / HTTP/1.1\r\nHost: a\r\n", Partial),
        (b"GET / HTTP/1.1\r\nHost: a\r\n\r", Partial),
        (b"GET / HTTP/2", Partial),
        (b"GET / HTTP/2.0", Partial),
        (b"GET / HTTP/2.0\r", Partial),
        // Request line.
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", Err(InvalidMethod)),
        (b"G(T / HTTP/1.1\r\n\r\n", Err(InvalidMethod)),
        (b" GET / HTTP/1.1\r\n\r\n", Err(InvalidMethod)),
        (b"GET  / HTTP/1.1\r\n\r\n", Err(InvalidTarget)),
        (b"GET  HTTP/1.1\r\nHost: a\r\n\r\n", Err(InvalidTarget)),
        (b"GET /a\x00b HTTP/1.1\r\nHost: a\r\n\r\n", Err(InvalidTarget)),
        (b"GET /a\x7fb HTTP/1.1\r\nHost: a\r\n\r\n", Err(InvalidTarget)),
        (b"GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", Err(InvalidTarget)),
        (b"GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n", Err(InvalidTarget)),
        (b"GET /\r\n\r\n", Err(InvalidTarget)),
        (b"GET / HTTX/1.1\r\n\r\n", Err(InvalidVersion)),
        (b"GET / http/1.1\r\n\r\n", Err(InvalidVersion)),
        (b"GET / HTTP/11\r\n\r\n", Err(InvalidVersion)),
        (b"GET / HTTP/1.10\r\n\r\n", Err(InvalidVersion)),
        (b"GET / HTTP/1.1x\r\n\r\n", Err(InvalidVersion)),
        (b"GET / HTTP/1.1 \r\n\r\n", Err(InvalidVersion)),
        (b"GET / HTTP/2\r\n\r\n", Err(InvalidVersion)),
        (b"GET / HTTP/2.0 \r\n\r\n", Err(InvalidVersion)),
        (b"GET / HTTP/a.0", Err(InvalidVersion)),
        (b"GET / HTTP/2.0x", Err(InvalidVersion)),
        (b"GET / HTTP/2.0\r\n\r\n", Err(UnsupportedVersion)),
        (b"GET / HTTP/2.0\n", Err(UnsupportedVersion)),
        (b"GET / HTTP/1.2\r\n\r\n", Err(UnsupportedVersion)),
        (b"GET / HTTP/0.9\r\n\r\n", Err(UnsupportedVersion)),
        (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", Err(UnsupportedVersion)),
        (b"\rGET / HTTP/1.1\r\n\r\n", Err(InvalidLineEnding)),
        (b"GET / HTTP/1.1\rX\n\r\n", Err(InvalidLineEnding)),
        (b"GET / HTTP/1.1\r\nHost: a\r\n\rX", Err(InvalidLineEnding)),
        // Header fields.
        (b"GET / HTTP/1.1\r\nHost: a\r\nHo st: a\r\n\r\n", Err(InvalidHeaderName)),
        (b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", Err(InvalidHeaderName)),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length\t: 5\r\n\r\n", Err(InvalidHeaderName)),
        (b"GET / HTTP/1.1\r\nHost: a\r\n: a\r\n\r\n", Err(InvalidHeaderName)),
        (b"GET / HTTP/1.1\r\nHost\r\n\r\n", Err(InvalidHeaderName)),
        (b"GET / HTTP/1.1\r\nHost: a\r\nHo\x01st: a\r\n\r\n", Err(InvalidHeaderName)),
        (b"GET / HTTP/1.1\r\nHost: a\r\nH\xc3\xa9: a\r\n\r\n", Err(InvalidHeaderName)),
        (b"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB(: 2\r\n\r\n", Err(InvalidHeaderName)),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX-A: a\r\n b\r\n\r\n", Err(ObsFold)),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX-A: a\r\n\tb\r\n\r\n", Err(ObsFold)),
        (b"GET / HTTP/1.1\r\n Host: a\r\n\r\n", Err(ObsFold)),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x00b\r\n\r\n", Err(InvalidHeaderValue)),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x7fb\r\n\r\n", Err(InvalidHeaderValue)),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX-A: a\rb\r\n\r\n", Err(InvalidHeaderValue)),
        // Content-Length (RFC 9112 section 6.3, item 5).
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", Err(InvalidContentLength)),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n", Err(InvalidContentLength)),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", Err(InvalidContentLength)),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5a\r\n\r\n", Err(InvalidContentLength)),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\n", Err(InvalidContentLength)),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5.0\r\n\r\n", Err(InvalidContentLength)),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", Err(InvalidContentLength)),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,\r\n\r\n", Err(InvalidContentLength)),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: ,5\r\n\r\n", Err(InvalidContentLength)),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n", Err(InvalidContentLength)),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: x\r\n\r\n", Err(InvalidContentLength)),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", Err(ConflictingContentLength)),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", Err(ConflictingContentLength)),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,5,6\r\n\r\n", Err(ConflictingContentLength)),
        // Transfer-Encoding (RFC 9112 sections 6.1 and 6.3).
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", Err(TransferEncodingWithContentLength)),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", Err(TransferEncodingWithContentLength)),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\nTransfer-Encoding: chunked\r\n\r\n", Err(TransferEncodingWithContentLength)),
        (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", Err(TransferEncodingInHttp10)),
        (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", Err(TransferEncodingInHttp10)),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n", Err(TransferEncodingNotChunked)),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", Err(TransferEncodingNotChunked)),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", Err(TransferEncodingNotChunked)),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", Err(TransferEncodingNotChunked)),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", Err(TransferEncodingNotChunked)),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", Err(TransferEncodingNotChunked)),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,\r\n\r\n", Err(TransferEncodingNotChunked)),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", Err(TransferEncodingNotChunked)),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", Err(ChunkedTwice)),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", Err(ChunkedTwice)),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", Err(UnsupportedTransferCoding)),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", Err(UnsupportedTransferCoding)),
        // Host (RFC 9112 section 3.2): required in HTTP/1.1, once, and well-formed in any request.
        (b"GET / HTTP/1.1\r\n\r\n", Err(MissingHost)),
        (b"GET / HTTP/1.1\r\nX-Host: a\r\n\r\n", Err(MissingHost)),
        (b"OPTIONS * HTTP/1.1\r\n\r\n", Err(MissingHost)),
        (b"GET http://h/ HTTP/1.1\r\n\r\n", Err(MissingHost)),
        (b"GET / HTTP/1.0\r\n\r\n", Whole),
        (b"GET / HTTP/1.1\r\nHost:\r\n\r\n", Whole),
        (b"GET / HTTP/1.1\r\nhOST: [::1]:8000\r\n\r\n", Whole),
        (b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", Err(RepeatedHost)),
        (b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", Err(RepeatedHost)),
        (b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", Err(RepeatedHost)),
        (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", Err(InvalidHost)),
        (b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", Err(InvalidHost)),
        (b"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", Err(InvalidHost)),
        (b"GET / HTTP/1.1\r\nHost: a:b\r\n\r\n", Err(InvalidHost)),
        (b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", Err(InvalidHost)),
        (b"GET / HTTP/1.1\r\nHost: caf\xc3\xa9\r\n\r\n", Err(InvalidHost)),
        (b"GET / HTTP/1.0\r\nHost: a b\r\n\r\n", Err(InvalidHost)),
        // An absolute-form target's authority must be a host (RFC 9110 section 4.2).
        (b"GET http://u:p@h/ HTTP/1.1\r\nHost: h\r\n\r\n", Err(InvalidAuthority(AuthorityError::Userinfo))),
        (b"GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n", Err(InvalidAuthority(AuthorityError::EmptyHost))),
        (b"GET http://a%zz/ HTTP/1.1\r\nHost: h\r\n\r\n", Err(InvalidAuthority(AuthorityError::Invalid))),
        (b"GET http://h:x/ HTTP/1.1\r\nHost: h\r\n\r\n", Err(InvalidAuthority(AuthorityError::Invalid))),
        (b"GET http://h/ HTTP/1.1\r\nHost: a b\r\n\r\n", Err(InvalidHost)),
    ];

    #[test]
    fn table() {
        for &(input, want) in CASES {
            assert_eq!(
                outcome(input, &Limits::default()),
                want,
                "{:?}",
                show(input)
            );
        }
    }

    /// A head is found only once its last byte is there; every shorter
    /// prefix of a valid head asks for more.
    #[test]
    fn prefixes_of_a_valid_head_ask_for_more() {
        for &(input, want) in CASES {
            let len = match want {
                Whole => input.len(),
                Head(n) => n,
                _ => continue,
            };
            for cut in 0..len {
                let prefix = input.get(..cut).unwrap_or_default();
                assert_eq!(
                    outcome(prefix, &Limits::default()),
                    Partial,
                    "{:?}",
                    show(prefix)
                );
            }
        }
    }

    #[test]
    fn statuses() {
        #[rustfmt::skip]
        let cases = [
            (RequestLineTooLong, 414), (HeaderSectionTooLarge, 431), (TooManyHeaders, 431),
            (InvalidMethod, 400), (InvalidTarget, 400), (InvalidVersion, 400),
            (UnsupportedVersion, 505), (InvalidLineEnding, 400), (InvalidHeaderName, 400),
            (ObsFold, 400), (InvalidHeaderValue, 400), (InvalidContentLength, 400),
            (ConflictingContentLength, 400), (TransferEncodingWithContentLength, 400),
            (TransferEncodingInHttp10, 400), (TransferEncodingNotChunked, 400),
            (ChunkedTwice, 400), (UnsupportedTransferCoding, 501), (BodyTooLarge, 413),
            (MissingHost, 400), (RepeatedHost, 400), (InvalidHost, 400),
            (InvalidAuthority(AuthorityError::Userinfo), 400),
            (InvalidAuthority(AuthorityError::EmptyHost), 400),
            (InvalidAuthority(AuthorityError::Invalid), 400),
        ];
        for (e, status) in cases {
            assert_eq!(e.status(), status, "{e:?}");
            assert!(!e.to_string().is_empty());
        }
    }

    fn limits(
        request_line: usize,
        header_bytes: usize,
        headers: usize,
        body: Option<u64>,
    ) -> Limits {
        Limits {
            limit_request_line: request_line,
            limit_request_field_size: header_bytes,
            limit_request_fields: headers,
            limit_request_body: body,
        }
    }

    #[test]
    fn limits_are_enforced_on_complete_and_incomplete_heads() {
        let d = Limits::default();
        #[rustfmt::skip]
        let cases: &[(Limits, &[u8], Outcome)] = &[
            // The request line counts its CRLF (and empty lines before it).
            (limits(16, 100, 100, None), b"GET / HTTP/1.0\r\n\r\n", Whole),
            (limits(16, 100, 100, None), b"GET /a HTTP/1.0\r\n\r\n", Err(RequestLineTooLong)),
            (limits(16, 100, 100, None), b"\r\nGET / HTTP/1.0\r\n\r\n", Err(RequestLineTooLong)),
            (limits(16, 100, 100, None), b"GET / HTTP/1.0\r", Partial),
            (limits(16, 100, 100, None), b"GET /aaaaaaaaaaa", Err(RequestLineTooLong)),
            (limits(16, 100, 100, None), b"GET /aaaaaaaaaa", Partial),
            (limits(16, 100, 100, None), b"GET / HTTP/2.0\r", Partial),
            (limits(16, 100, 100, None), b"GET / HTTP/2.00", Err(InvalidVersion)),
            (limits(16, 100, 100, None), b"GET /a HTTP/2.0", Partial),
            (limits(16, 100, 100, None), b"GET /a HTTP/2.0\r", Err(RequestLineTooLong)),
            (limits(16, 100, 100, None), b"\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n", Err(RequestLineTooLong)),
            (limits(16, 100, 100, None), b"\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r", Partial),
            (limits(0, 100, 100, None), b"", Err(RequestLineTooLong)),
            // The header section counts everything after the request line.
            (limits(100, 8, 100, None), b"GET / HTTP/1.0\r\nA: b\r\n\r\n", Whole),
            (limits(100, 10, 100, None), b"GET / HTTP/1.0\r\nA: bcd\r\n\r\n", Whole),
            (limits(100, 10, 100, None), b"GET / HTTP/1.0\r\nA: bcde\r\n\r\n", Err(HeaderSectionTooLarge)),
            (limits(100, 10, 100, None), b"GET / HTTP/1.0\r\nA: bcdefg", Partial),
            (limits(100, 10, 100, None), b"GET / HTTP/1.0\r\nA: bcdefgh", Err(HeaderSectionTooLarge)),
            (limits(100, 2, 100, None), b"GET / HTTP/1.0\r\n\r\n", Whole),
            (limits(100, 1, 100, None), b"GET / HTTP/1.0\r\n\r\n", Err(HeaderSectionTooLarge)),
            (limits(100, 0, 100, None), b"GET / HTTP/1.0\r\n", Err(HeaderSectionTooLarge)),
            (limits(100, 9, 100, None), b"GET / HTTP/1.0\r\na:\na:\na:\na:\na:\n\n", Err(HeaderSectionTooLarge)),
            // Header count.
            (limits(100, 100, 2, None), b"GET / HTTP/1.0\r\nA: 1\r\nB: 2\r\n\r\n", Whole),
            (limits(100, 100, 2, None), b"GET / HTTP/1.0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", Err(TooManyHeaders)),
            (limits(100, 100, 0, None), b"GET / HTTP/1.0\r\n\r\n", Whole),
            (limits(100, 100, 0, None), b"GET / HTTP/1.0\r\nA: 1\r\n\r\n", Err(TooManyHeaders)),
            // Content-Length against limit_request_body (a chunked body is the decoder's).
            (limits(100, 100, 100, Some(4)), b"POST / HTTP/1.0\r\nContent-Length: 4\r\n\r\n", Whole),
            (limits(100, 100, 100, Some(4)), b"POST / HTTP/1.0\r\nContent-Length: 5\r\n\r\n", Err(BodyTooLarge)),
            (limits(100, 100, 100, Some(0)), b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", Whole),
            (d, b"POST / HTTP/1.0\r\nContent-Length: 18446744073709551615\r\n\r\n", Whole),
        ];
        for (limits, input, want) in cases {
            assert_eq!(
                outcome(input, limits),
                *want,
                "{:?} {limits:?}",
                show(input)
            );
        }
    }

    #[test]
    fn header_count_matches_the_standard_library() {
        let fields = |n: usize| (0..n).map(|i| format!("X-{i}: v\r\n")).collect::<String>();
        let d = Limits::default();
        // get_with() sends a Host field too.
        assert_eq!(outcome(&get_with(&fields(99)), &d), Whole);
        assert_eq!(outcome(&get_with(&fields(100)), &d), Err(TooManyHeaders));
        // Past the slots kept on the stack.
        let many = limits(100, 1 << 20, 150, None);
        assert_eq!(outcome(&get_with(&fields(149)), &many), Whole);
        assert_eq!(outcome(&get_with(&fields(150)), &many), Err(TooManyHeaders));
        let huge = limits(100, 1 << 20, usize::MAX, None);
        assert_eq!(outcome(&get_with(&fields(1000)), &huge), Whole);
    }

    #[test]
    fn body_framing() {
        #[rustfmt::skip]
        let cases: &[(&str, BodyFraming)] = &[
            ("", BodyFraming::None),
            ("Content-Length: 0\r\n", Length(0)),
            ("Content-Length: 5\r\n", Length(5)),
            ("Content-Length:   5 \t\r\n", Length(5)),
            ("Content-Length: 007\r\n", Length(7)),
            ("Content-Length: 5, 5\r\n", Length(5)),
            ("Content-Length: 5,05\r\n", Length(5)),
            ("Content-Length: 5\r\ncontent-length: 5\r\n", Length(5)),
            ("Transfer-Encoding: chunked\r\n", Chunked),
            ("transfer-encoding: Chunked\r\n", Chunked),
            ("Transfer-Encoding: CHUNKED \t\r\n", Chunked),
            ("Transfer-Encoding: , chunked,\r\n", Chunked),
            ("Transfer-Encoding: \r\nTransfer-Encoding: chunked\r\n", Chunked),
        ];
        for &(fields, want) in cases {
            assert_eq!(head(&get_with(fields)).body, want, "{fields:?}");
        }
    }

    #[test]
    fn keep_alive() {
        #[rustfmt::skip]
        let cases: &[(&[u8], bool)] = &[
            (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true),
            (b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false),
            (b"GET / HTTP/1.1\r\nHost: a\r\nConnection: CLOSE\r\n\r\n", false),
            (b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, close\r\n\r\n", false),
            (b"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", false),
            (b"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", true),
            (b"GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n", true),
            (b"GET / HTTP/1.0\r\n\r\n", false),
            (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true),
            (b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true),
            (b"GET / HTTP/1.0\r\nConnection: keep-alive, Upgrade\r\n\r\n", true),
            (b"GET / HTTP/1.0\r\nConnection: Upgrade,keep-alive\r\n\r\n", true),
            (b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false),
            (b"GET / HTTP/1.0\r\nConnection: keep-alivex\r\n\r\n", false),
        ];
        for &(input, want) in cases {
            assert_eq!(head(input).keep_alive, want, "{:?}", show(input));
        }
    }

    #[test]
    fn expect_continue() {
        #[rustfmt::skip]
        let cases: &[(&[u8], bool)] = &[
            (b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n", true),
            (b"POST / HTTP/1.1\r\nHost: a\r\nexpect: 100-Continue \r\n\r\n", true),
            (b"POST / HTTP/1.1\r\nHost: a\r\nX: 1\r\nExpect: 100-continue\r\n\r\n", true),
            (b"POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", false),
            (b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continuex\r\n\r\n", false),
            (b"POST / HTTP/1.1\r\nHost: a\r\nX-Expect: 100-continue\r\n\r\n", false),
            (b"POST / HTTP/1.1\r\nHost: a\r\n\r\n", false),
        ];
        for &(input, want) in cases {
            assert_eq!(head(input).expect_continue, want, "{:?}", show(input));
        }
    }

    #[test]
    fn target_kept_as_sent() {
        #[rustfmt::skip]
        let cases: &[&str] = &[
            "/",
            "/a/b",
            "/a?b=1&c",
            "/a?b?c",
            "/a?",
            "/%2F%3F?x",
            "//a/b",
            "?x",
            "*",
            "example.com:443",
            "http://h/p?q",
            "http://h/p",
            "HTTPS://h:8080/a/b?c?d",
            "http://h",
            "http://h?q",
            "svn+ssh://h/x",
            "1http://h/x",
            "ht_tp://h/x",
            "http:/h/x",
        ];
        for &target in cases {
            let h = head(format!("GET {target} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes());
            assert_eq!(h.target, target.as_bytes(), "{target}");
        }
    }

    /// An http(s) absolute-form target: the path and query start past the authority, which
    /// stands for the Host field (RFC 9112 section 3.2.2); other forms start at 0.
    #[test]
    fn absolute_form_authority_replaces_the_host() {
        let host_of = |h: &RequestHead| {
            let hosts: Vec<String> = h
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(b"host"))
                .map(|(_, v)| show(v))
                .collect();
            hosts
        };
        let h = head(b"GET http://example.test/abs/p?q=1 HTTP/1.1\r\nHost: other\r\n\r\n");
        assert_eq!(h.target, b"http://example.test/abs/p?q=1");
        assert_eq!(&h.target[h.path_start..], b"/abs/p?q=1");
        assert_eq!(host_of(&h), ["example.test"]);
        let h = head(b"GET HTTP://Example.TEST:8080 HTTP/1.1\r\nX: 1\r\nHost: other\r\n\r\n");
        assert_eq!(&h.target[h.path_start..], b"");
        assert_eq!(host_of(&h), ["Example.TEST:8080"]);
        // HTTP/1.0 may come without Host: the authority becomes one, even past limit_request_fields.
        let h = head(b"GET https://[::1]:8443/x HTTP/1.0\r\n\r\n");
        assert_eq!(&h.target[h.path_start..], b"/x");
        assert_eq!(host_of(&h), ["[::1]:8443"]);
        let full = b"GET http://a/ HTTP/1.0\r\nX: 1\r\n\r\n";
        match parse_head(full, &limits(100, 100, 1, None)) {
            Ok(Some((h, _))) => assert_eq!(h.headers.len(), 2),
            other => panic!("{other:?}"),
        }
        for origin in ["/p?q", "*", "//h/p", "ftp://h/p"] {
            let h = head(format!("GET {origin} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes());
            assert_eq!(h.path_start, 0, "{origin}");
            assert_eq!(host_of(&h), ["a"], "{origin}");
        }
    }

    /// A list of identical Content-Length values is given on as one (RFC 9110 section 8.6).
    #[test]
    fn content_length_list_is_given_on_as_one_value() {
        for (fields, want, length) in [
            ("Content-Length: 5, 5\r\n", "5", 5),
            ("Content-Length: 5,5,5\r\n", "5", 5),
            ("Content-Length: 05, 5\r\n", "05", 5),
            ("Content-Length: 007\r\n", "007", 7),
            ("Content-Length: 5\r\ncontent-length: 5 , 5\r\n", "5", 5),
        ] {
            let h = head(&get_with(fields));
            assert_eq!(h.body, Length(length), "{fields:?}");
            let lengths: Vec<String> = h
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(b"content-length"))
                .map(|(_, v)| show(v))
                .collect();
            assert_eq!(lengths[0], want, "{fields:?}");
            assert!(lengths.iter().all(|v| !v.contains(',')), "{fields:?}");
        }
    }

    #[test]
    fn fields_keep_their_case_and_order_and_lose_ows() {
        let h = head(b"PUT /x HTTP/1.0\r\nX-Mixed-CASE:   a b \t\r\nhost:h\r\nEmpty: \t \r\nX-Mixed-CASE: 2\r\n\r\n");
        assert_eq!(h.method, "PUT");
        assert_eq!(h.version, Version::Http10);
        assert_eq!(h.version.as_str(), "HTTP/1.0");
        let fields: Vec<(String, String)> =
            h.headers.iter().map(|(n, v)| (show(n), show(v))).collect();
        let want = [
            ("X-Mixed-CASE", "a b"),
            ("host", "h"),
            ("Empty", ""),
            ("X-Mixed-CASE", "2"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(fields, want);
        let h = head(b"get / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!((&*h.method, h.version.as_str()), ("get", "HTTP/1.1"));
    }

    #[test]
    fn trim_ows_and_digits() {
        #[rustfmt::skip]
        let trims: &[(&[u8], &[u8])] = &[
            (b"", b""), (b" ", b""), (b" \t a b \t ", b"a b"), (b"a", b"a"), (b"\ta\t", b"a"),
        ];
        for &(input, want) in trims {
            assert_eq!(trim_ows(input), want, "{:?}", show(input));
        }
        #[rustfmt::skip]
        let digits: &[(&[u8], Option<u64>)] = &[
            (b"", None), (b"0", Some(0)), (b"42", Some(42)), (b"+1", None), (b" 1", None),
            (b"18446744073709551615", Some(u64::MAX)), (b"18446744073709551616", None),
            (b"\xd9\xa3", None),
        ];
        for &(input, want) in digits {
            assert_eq!(parse_digits(input), want, "{:?}", show(input));
        }
    }
}
