//! What a response header may hold: no control characters, no hop-by-hop name (PEP 3333: the
//! server, not the application, manages the connection). Text checks, and `wsgiref.util.is_hop_by_hop`
//! for any object.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PySet, PyString};

use crate::pyhelpers::exact_str;

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

static HOP_BY_HOP_SET: PyOnceLock<Py<PySet>> = PyOnceLock::new();

/// Return true if 'header_name' is an HTTP/1.1 "Hop-by-Hop" header
///
/// Compares `header_name.lower()` with connection, keep-alive, proxy-authenticate,
/// proxy-authorization, te, trailers, transfer-encoding and upgrade.
/// Holds the GIL (no I/O).
#[pyfunction]
#[pyo3(signature = (header_name))]
pub fn is_hop_by_hop(py: Python<'_>, header_name: &Bound<'_, PyAny>) -> PyResult<bool> {
    if let Some(name) = exact_str(header_name) {
        if name.is_ascii() {
            return Ok(is_hop_by_hop_ascii(name));
        }
    }
    // Non-ASCII, surrogates, str subclasses, other types: Python's own lower().
    let lowered = header_name.call_method0(intern!(py, "lower"))?;
    if let Ok(s) = lowered.cast_exact::<PyString>() {
        return Ok(s.to_str().is_ok_and(is_hop_by_hop_lowered));
    }
    let names =
        HOP_BY_HOP_SET.get_or_try_init(py, || PySet::new(py, HOP_BY_HOP).map(Bound::unbind))?;
    names.bind(py).contains(lowered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_table() {
        // (ASCII header name, hop-by-hop?)
        let cases = [
            ("Connection", true),
            ("KEEP-ALIVE", true),
            ("te", true),
            ("Transfer-Encoding", true),
            ("upgrade", true),
            ("Proxy-Authorization", true),
            ("content-type", false),
            ("", false),
            ("connection ", false),
            ("t", false),
        ];
        for (name, expected) in cases {
            assert_eq!(is_hop_by_hop_ascii(name), expected, "{name:?}");
        }
    }
}
