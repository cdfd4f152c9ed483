//! Bounds on what a client may send, checked while the bytes arrive.

use super::defaults;

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
    pub max_request_line: usize,
    /// Longest header section: every byte after the request line up to and
    /// including the empty line that ends the head. Longer: 431. The chunked
    /// decoder holds the trailer section to the same bound.
    pub max_header_bytes: usize,
    /// Most header fields in one request. More: 431.
    pub max_headers: usize,
    /// Largest request body (declared by Content-Length, or the sum of the
    /// chunk sizes). Larger: 413. `None`: no limit.
    pub max_body: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_line: defaults::LIMIT_REQUEST_LINE,
            max_header_bytes: defaults::LIMIT_REQUEST_FIELD_SIZE,
            max_headers: defaults::LIMIT_REQUEST_FIELDS,
            max_body: defaults::LIMIT_REQUEST_BODY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_standard_library() {
        let l = Limits::default();
        assert_eq!(l.max_request_line, 65536);
        assert_eq!(l.max_header_bytes, 65536);
        assert_eq!(l.max_headers, 100);
        assert_eq!(l.max_body, None);
    }
}
