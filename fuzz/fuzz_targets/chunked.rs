//! `ChunkedDecoder` on any bytes, split anywhere: no panic, never past the
//! input, and the same answer however the input is split.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../src/engine/chunked.rs"]
mod chunked;
#[allow(dead_code)]
#[path = "../../src/engine/limits.rs"]
mod limits;

use chunked::{ChunkError, ChunkedDecoder};
use limits::Limits;

/// Decodes `input` in pieces of `step` bytes: (consumed, done, data) or the
/// error.
fn run(input: &[u8], step: usize, limits: &Limits) -> Result<(usize, bool, Vec<u8>), ChunkError> {
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
    }
    assert!(out.len() as u64 <= d.body_len());
    Ok((consumed, d.is_done(), out))
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the piece size and the limits.
    let (choice, input) = data.split_first().map_or((0, data), |(c, rest)| (*c, rest));
    let step = usize::from(choice % 16) + 1;
    let limits = if choice & 0x80 == 0 {
        Limits::default()
    } else {
        Limits {
            max_body: Some(u64::from(choice & 0x3f)),
            max_header_bytes: usize::from(choice & 0x1f),
            ..Limits::default()
        }
    };
    let whole = run(input, input.len().max(1), &limits);
    assert_eq!(run(input, step, &limits), whole);
    if let Ok((consumed, true, _)) = whole {
        // The body ends where it ends, whatever follows.
        let body = input.get(..consumed).unwrap_or_default();
        assert_eq!(run(body, step, &limits), whole);
    }
});
