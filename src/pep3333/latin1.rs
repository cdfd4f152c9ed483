//! Latin-1 encoding with the interpreter's own errors.
//!
//! HTTP/1.x header bytes are Latin-1 (PEP 3333 "native strings"). The common case, ASCII, is a
//! plain copy; anything else goes through `PyUnicode_AsLatin1String`, which is what
//! `str.encode('iso-8859-1')` runs, so an unencodable character raises exactly the stdlib's
//! `UnicodeEncodeError` (codec name, object, start, end, reason).

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

/// Appends the Latin-1 bytes of `s` to `buf`.
pub fn push_latin1(buf: &mut Vec<u8>, s: &Bound<'_, PyString>) -> PyResult<()> {
    if let Ok(text) = s.to_str() {
        if text.is_ascii() {
            buf.extend_from_slice(text.as_bytes());
            return Ok(());
        }
    }
    let py = s.py();
    // SAFETY: `s` is a live str; the call returns a new reference or NULL with an exception set.
    let encoded = unsafe {
        Bound::from_owned_ptr_or_err(py, pyo3::ffi::PyUnicode_AsLatin1String(s.as_ptr()))?
    };
    buf.extend_from_slice(encoded.cast::<PyBytes>()?.as_bytes());
    Ok(())
}

/// The `UnicodeEncodeError` that `s.encode('latin-1')` raises, built by the interpreter's own
/// encoder, for text the caller knows holds a character above U+00FF (lone surrogates
/// included).
pub fn encode_error(s: &Bound<'_, PyString>) -> PyErr {
    match push_latin1(&mut Vec::new(), s) {
        Err(err) => err,
        Ok(()) => PyValueError::new_err("internal: text expected not to encode as Latin-1"),
    }
}

/// The Latin-1 byte of `c`, or `None` above U+00FF.
pub fn byte(c: char) -> Option<u8> {
    u8::try_from(u32::from(c)).ok()
}

/// Encodes Rust text as Latin-1, or `None` if it holds a character above U+00FF.
pub fn encode(s: &str) -> Option<Vec<u8>> {
    if s.is_ascii() {
        return Some(s.as_bytes().to_vec());
    }
    s.chars().map(byte).collect()
}

/// Whether Latin-1 can encode `text`.
pub fn is_latin1(text: &str) -> bool {
    text.is_ascii() || text.chars().all(|c| u32::from(c) < 256)
}

/// Appends `text` in Latin-1, for text already checked with [`is_latin1`]: a character beyond
/// it would become '?'.
pub fn push_text(out: &mut Vec<u8>, text: &str) {
    if text.is_ascii() {
        out.extend_from_slice(text.as_bytes());
    } else {
        out.extend(
            text.chars()
                .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_encoding() {
        let cases: &[(&str, Option<&[u8]>)] = &[
            ("", Some(b"")),
            ("abc", Some(b"abc")),
            ("caf\u{e9}", Some(b"caf\xe9")),
            ("\u{ff}", Some(b"\xff")),
            ("\u{100}", None),
            ("a\u{20ac}", None),
        ];
        for &(text, expected) in cases {
            assert_eq!(encode(text).as_deref(), expected, "latin1 {text:?}");
        }
    }
}
