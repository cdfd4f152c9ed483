//! `parse_head` on any bytes: no panic, and the answers hang together.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../src/engine/limits.rs"]
mod limits;
#[allow(dead_code)]
#[path = "../../src/engine/parse.rs"]
mod parse;

use limits::Limits;
use parse::parse_head;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the limits: the defaults, or small ones that the
    // input can reach.
    let (choice, buf) = data.split_first().map_or((0, data), |(c, rest)| (*c, rest));
    let limits = if choice & 1 == 0 {
        Limits::default()
    } else {
        Limits {
            max_request_line: usize::from(choice >> 1) % 48,
            max_header_bytes: usize::from(choice >> 2) % 64,
            max_headers: usize::from(choice >> 5),
            max_body: Some(u64::from(choice >> 3)),
        }
    };
    match parse_head(buf, &limits) {
        Ok(Some((head, len))) => {
            assert!(len > 0 && len <= buf.len());
            assert!(head.headers.len() <= limits.max_headers);
            let exact = buf.get(..len).unwrap_or_default();
            // What follows the head does not change it (pipelining) ...
            assert_eq!(parse_head(exact, &limits), Ok(Some((head, len))));
            // ... and one byte less is not a head yet.
            let short = buf.get(..len - 1).unwrap_or_default();
            assert_eq!(parse_head(short, &limits), Ok(None));
        }
        Ok(None) => {}
        Err(e) => {
            assert!(matches!(e.status(), 400 | 413 | 414 | 431 | 501 | 505));
        }
    }
});
