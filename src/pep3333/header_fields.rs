//! What a response header may hold: no control characters, no hop-by-hop name (PEP 3333: the
//! server, not the application, manages the connection). Pure text checks, no GIL needed.

/// True if `s` holds a character that is not allowed in a header name (`is_name`) or value:
/// any of U+0000..U+001F or U+007F, except that a value may hold a horizontal tab.
pub fn has_control_chars(s: &str, is_name: bool) -> bool {
    // Control characters are ASCII, and UTF-8 never uses ASCII bytes inside a multi-byte
    // character, so a byte scan is exact.
    s.bytes()
        .any(|b| b == 0x7f || (b < 0x20 && (is_name || b != b'\t')))
}

/// The hop-by-hop header names of HTTP/1.1, lowercase.
pub const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
];

/// Whether an ASCII header name is hop-by-hop, ignoring ASCII case.
pub fn is_hop_by_hop_ascii(name: &str) -> bool {
    HOP_BY_HOP.iter().any(|h| h.eq_ignore_ascii_case(name))
}

/// Whether an already lowercased header name is hop-by-hop.
pub fn is_hop_by_hop_lowered(name: &str) -> bool {
    HOP_BY_HOP.contains(&name)
}
