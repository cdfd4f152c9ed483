//! Bounds on what a client may send, checked while the bytes arrive.

/// Limits on one request, checked by [`super::parse::parse_head`] and
/// [`super::chunked::ChunkedDecoder`].
///
/// The defaults follow the standard library's `http.server` where it has a
/// limit (a request line of at most 65536 bytes, at most 100 header fields);
/// the header section is bounded as a whole rather than line by line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest request line, counted from the start of the buffer (so with any
    /// empty lines a client sent before it) up to and including its line
    /// ending. Longer: 414 URI Too Long.
    pub limit_request_line: usize,
    /// Longest header section: every byte after the request line up to and
    /// including the empty line that ends the head. Longer: 431. The chunked
    /// decoder holds the trailer section to the same bound.
    pub limit_request_field_size: usize,
    /// Most header fields in one request. More: 431.
    pub limit_request_fields: usize,
    /// Largest request body (declared by Content-Length, or the sum of the
    /// chunk sizes). Larger: 413. `None`: no limit.
    pub limit_request_body: Option<u64>,
}

impl Limits {
    /// The defaults, defined here once (`engine::defaults` hands them to Python).
    pub const DEFAULT: Limits = Limits {
        limit_request_line: 65536,
        limit_request_field_size: 64 * 1024,
        limit_request_fields: 100,
        limit_request_body: None,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_standard_library() {
        let l = Limits::default();
        assert_eq!(l.limit_request_line, 65536);
        assert_eq!(l.limit_request_field_size, 65536);
        assert_eq!(l.limit_request_fields, 100);
        assert_eq!(l.limit_request_body, None);
    }
}
