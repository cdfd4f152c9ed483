//! What each fuzz target asserts about one input: no panic, and answers that hang together.
//!
//! The first byte of an input picks the limits (and for the chunked decoder the piece size), so
//! the fuzzer reaches the limit checks as well as the syntax.

use crate::chunked::{ChunkError, ChunkedDecoder};
use crate::limits::Limits;
use crate::parse::{parse_head as parse, BodyFraming, Version};
use crate::proxy_protocol;

/// `parse_head` on any bytes: no panic, a head never longer than the limits allow, the same head
/// whatever follows it, and only the statuses a refusal may carry.
pub fn parse_head(data: &[u8]) {
    // The first byte picks the limits: the defaults, or small ones that the input can reach.
    let (choice, buf) = data.split_first().map_or((0, data), |(c, rest)| (*c, rest));
    let limits = if choice & 1 == 0 {
        Limits::default()
    } else {
        Limits {
            limit_request_line: usize::from(choice >> 1) % 48,
            limit_request_field_size: usize::from(choice >> 2) % 64,
            limit_request_fields: usize::from(choice >> 5),
            limit_request_body: Some(u64::from(choice >> 3)),
        }
    };
    // The most a head may take of the buffer: the request line (empty lines before it included)
    // and the header section, each within its limit.
    let most = limits
        .limit_request_line
        .saturating_add(limits.limit_request_field_size);
    match parse(buf, &limits) {
        Ok(Some((head, len))) => {
            assert!(len > 0 && len <= buf.len() && len <= most);
            // At most the fields allowed, and the Host field an HTTP/1.0 absolute-form request
            // without one is given (its target's authority).
            let made_host = usize::from(head.path_start > 0);
            assert!(head.headers.len() <= limits.limit_request_fields + made_host);
            assert!(!head.target.is_empty());
            // RFC 9112 section 3.2: one Host field, well-formed, and always one in HTTP/1.1
            // (an absolute-form target's authority stands in for it).
            let hosts: Vec<&[u8]> = head
                .headers
                .iter()
                .filter(|(name, _)| name.eq_ignore_ascii_case(b"host"))
                .map(|(_, value)| value)
                .collect();
            assert!(hosts.len() <= 1);
            assert!(hosts.iter().all(|value| crate::host::is_valid_host(value)));
            if head.version == Version::Http11 {
                assert_eq!(hosts.len(), 1);
            }
            // The origin-form part starts past an http(s) absolute-form target's authority.
            assert!(head.path_start <= head.target.len());
            if head.path_start > 0 {
                let target = head.target.to_ascii_lowercase();
                assert!(target.starts_with(b"http://") || target.starts_with(b"https://"));
                assert_eq!(hosts.len(), 1);
            }
            // A Content-Length list reaches the application as one value.
            let lengths = head
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(b"content-length"));
            for (_, value) in lengths {
                assert!(!value.contains(&b','));
            }
            if head.body == BodyFraming::Chunked || head.expect_continue {
                assert_eq!(head.version, Version::Http11);
            }
            if let (BodyFraming::Length(n), Some(max)) = (head.body, limits.limit_request_body) {
                assert!(n <= max);
            }
            let exact = buf.get(..len).unwrap_or_default();
            // What follows the head does not change it (pipelining) ...
            assert_eq!(parse(exact, &limits), Ok(Some((head, len))));
            // ... and one byte less is not a head yet.
            let short = buf.get(..len - 1).unwrap_or_default();
            assert_eq!(parse(short, &limits), Ok(None));
        }
        // Waiting for more bytes is only allowed while the buffer is within the limits, so a
        // client cannot make a connection's buffer grow past them.
        Ok(None) => assert!(buf.len() < most),
        Err(e) => assert!(matches!(e.status(), 400 | 413 | 414 | 431 | 501 | 505)),
    }
}

/// `ChunkedDecoder` on any bytes, split anywhere: no panic, never past the input, within
/// `limit_request_body`, and the same answer however the input is split.
pub fn chunked(data: &[u8]) {
    // The first byte picks the piece size and the limits.
    let (choice, input) = data.split_first().map_or((0, data), |(c, rest)| (*c, rest));
    let step = usize::from(choice % 16) + 1;
    let limits = if choice & 0x80 == 0 {
        Limits::default()
    } else {
        Limits {
            limit_request_body: Some(u64::from(choice & 0x3f)),
            limit_request_field_size: usize::from(choice & 0x1f),
            ..Limits::default()
        }
    };
    let whole = decode(input, input.len().max(1), &limits);
    assert_eq!(decode(input, step, &limits), whole);
    if let Ok((consumed, true, _)) = whole {
        // The body ends where it ends, whatever follows.
        let body = input.get(..consumed).unwrap_or_default();
        assert_eq!(decode(body, step, &limits), whole);
    }
}

/// Decodes `input` in pieces of `step` bytes: (consumed, done, data) or the error.
fn decode(
    input: &[u8],
    step: usize,
    limits: &Limits,
) -> Result<(usize, bool, Vec<u8>), ChunkError> {
    let mut d = ChunkedDecoder::new(limits);
    let mut out = Vec::new();
    let mut consumed = 0;
    let mut available = 0;
    while available < input.len() && !d.is_done() {
        available = (available + step).min(input.len());
        let piece = input.get(consumed..available).unwrap_or_default();
        let n = d.decode(piece, &mut out)?;
        assert!(n <= piece.len());
        if n < piece.len() {
            assert!(d.is_done());
        }
        consumed += n;
        if let Some(max) = limits.limit_request_body {
            assert!(d.body_len() <= max);
        }
    }
    assert!(out.len() as u64 <= d.body_len());
    if d.is_done() {
        assert_eq!(out.len() as u64, d.body_len());
    }
    Ok((consumed, d.is_done(), out))
}

/// The PROXY protocol header's `parse` on any bytes: no panic; a whole header is at most the
/// bytes given, the same header whatever follows it, and no shorter prefix of it is whole
/// already; bytes refused stay refused whatever is added to them; a v1 header is at most
/// `V1_MAX` bytes.
pub fn proxy_protocol(data: &[u8]) {
    match proxy_protocol::parse(data) {
        Ok(Some(header)) => {
            assert!(header.len > 0 && header.len <= data.len());
            assert_eq!(proxy_protocol::parse(&data[..header.len]), Ok(Some(header)));
            if data.starts_with(b"PROXY ") {
                assert!(header.len <= proxy_protocol::V1_MAX);
            } else {
                assert!(data.starts_with(&proxy_protocol::V2_SIGNATURE));
            }
            // A header is whole only at its end (the checks stop at a few hundred bytes).
            for end in 0..header.len.min(300) {
                assert_eq!(proxy_protocol::parse(&data[..end]), Ok(None), "at {end}");
            }
        }
        Ok(None) => {
            // Not enough yet: no more than the longest header, and a prefix is no better off.
            assert!(data.len() < 16 + usize::from(u16::MAX));
            for end in 0..data.len().min(300) {
                assert_eq!(proxy_protocol::parse(&data[..end]), Ok(None), "at {end}");
            }
        }
        Err(_) => {
            let mut more = data.to_vec();
            more.extend_from_slice(b"\r\nGET / HTTP/1.1\r\n\r\n");
            assert!(proxy_protocol::parse(&more).is_err());
        }
    }
}
