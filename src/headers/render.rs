//! The text `Headers` produces: the header block (`str`), the `repr` of the list, and the
//! value `add_header` builds from MIME parameters. Built in Rust for exact `str`; through the
//! interpreter for anything else.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use super::checks::checked_text;
use crate::pyhelpers::{exact_str, live_items};

/// Appends the Python `repr()` of the ASCII string `s` to `out`.
///
/// Python picks single quotes unless the text holds a single quote and no double quote;
/// it escapes the chosen quote, the backslash, `\t`, `\n`, `\r` and other control characters
/// (as `\xhh`, lowercase hex). The caller guarantees `s.is_ascii()`.
pub(super) fn push_ascii_repr(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c < ' ' || c == '\x7f' => {
                let b = c as u8;
                out.push_str("\\x");
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 0xf)] as char);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

/// Appends a MIME parameter key with its underscores turned into dashes.
pub(super) fn push_param_key(out: &mut String, key: &str) {
    for c in key.chars() {
        out.push(if c == '_' { '-' } else { c });
    }
}

/// Appends a MIME parameter `key="value"` (key with dashes for underscores; backslash and
/// double quote in the value escaped with a backslash). An empty value gives the bare key.
pub(super) fn push_param(out: &mut String, key: &str, value: &str) {
    push_param_key(out, key);
    if value.is_empty() {
        return;
    }
    out.push_str("=\"");
    for c in value.chars() {
        if c == '\\' || c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// `"%s: %s" % kv` lines joined by CRLF plus the blank line, built in Rust when every item is
/// an exact 2-tuple of exact `str` (valid UTF-8); `None` otherwise.
pub(super) fn render_fast(list: &Bound<'_, PyList>) -> Option<String> {
    let mut out = String::with_capacity(list.len() * 32 + 2);
    for item in list.iter() {
        let t = item.cast_exact::<PyTuple>().ok()?;
        if t.len() != 2 {
            return None;
        }
        let k = t.get_borrowed_item(0).ok()?;
        let v = t.get_borrowed_item(1).ok()?;
        let k = exact_str(&k)?;
        let v = exact_str(&v)?;
        out.push_str(k);
        out.push_str(": ");
        out.push_str(v);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    Some(out)
}

/// `str(headers)` of the base class, for any list content.
pub(super) fn render<'py>(list: &Bound<'py, PyList>) -> PyResult<Bound<'py, PyAny>> {
    let py = list.py();
    if let Some(text) = render_fast(list) {
        return Ok(PyString::new(py, &text).into_any());
    }
    let format = intern!(py, "%s: %s");
    let lines = PyList::empty(py);
    for item in live_items(list) {
        lines.append(format.rem(&item?)?)?;
    }
    let empty = intern!(py, "");
    lines.append(empty)?;
    lines.append(empty)?;
    intern!(py, "\r\n").call_method1(intern!(py, "join"), (lines,))
}

/// The `repr()` of the list, built in Rust when every item is an exact 2-tuple of exact `str`;
/// `None` otherwise. Non-ASCII strings get Python's own `repr`.
pub(super) fn list_repr_fast(list: &Bound<'_, PyList>) -> PyResult<Option<String>> {
    let mut out = String::with_capacity(list.len() * 40 + 2);
    out.push('[');
    for (n, item) in list.iter().enumerate() {
        let Ok(t) = item.cast_exact::<PyTuple>() else {
            return Ok(None);
        };
        if t.len() != 2 {
            return Ok(None);
        }
        if n > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for j in 0..2 {
            if j == 1 {
                out.push_str(", ");
            }
            let part = t.get_borrowed_item(j)?;
            let Ok(s) = part.cast_exact::<PyString>() else {
                return Ok(None);
            };
            match s.to_str() {
                Ok(text) if text.is_ascii() => push_ascii_repr(&mut out, text),
                // Python's repr of an exact str runs no user code and is always valid UTF-8.
                _ => out.push_str(s.repr()?.to_str()?),
            }
        }
        out.push(')');
    }
    out.push(']');
    Ok(Some(out))
}

/// The value `add_header` builds, for the base class's checks, built in Rust. Raises what the
/// checks raise, in the same order; `None` if a string is not valid UTF-8 (the caller then
/// starts again through Python: these checks change nothing, so running them twice is safe).
pub(super) fn add_header_text(
    name: &Bound<'_, PyAny>,
    value: &Bound<'_, PyAny>,
    params: Option<&Bound<'_, PyDict>>,
) -> PyResult<Option<String>> {
    let mut out = String::with_capacity(64);
    // Whether every string so far was valid UTF-8 (else `out` is abandoned, checks go on).
    let mut utf8 = true;
    let mut parts = 0usize;
    if !value.is_none() {
        match checked_text(value, false)? {
            Some(text) => out.push_str(text),
            None => utf8 = false,
        }
        parts += 1;
    }
    if let Some(params) = params {
        for (key, value) in params.iter() {
            let key_text = checked_text(&key, true)?;
            let value_text = if value.is_none() {
                None
            } else {
                let text = checked_text(&value, false)?;
                utf8 &= text.is_some();
                text
            };
            utf8 &= key_text.is_some();
            if let (true, Some(key_text)) = (utf8, key_text) {
                if parts > 0 {
                    out.push_str("; ");
                }
                match value_text {
                    Some(v) => push_param(&mut out, key_text, v),
                    None => push_param_key(&mut out, key_text),
                }
            }
            parts += 1;
        }
    }
    checked_text(name, true)?;
    Ok(utf8.then_some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_repr() {
        let cases: &[(&str, &str)] = &[
            ("", "''"),
            ("abc", "'abc'"),
            ("it's", "\"it's\""),
            ("say \"hi\"", "'say \"hi\"'"),
            ("both ' and \"", "'both \\' and \"'"),
            ("back\\slash", "'back\\\\slash'"),
            ("\t\n\r", "'\\t\\n\\r'"),
            ("\x00\x1f\x7f", "'\\x00\\x1f\\x7f'"),
            ("\x0b\x0c", "'\\x0b\\x0c'"),
            ("'", "\"'\""),
            ("\"", "'\"'"),
            ("'\\", "\"'\\\\\""),
        ];
        for &(text, expected) in cases {
            let mut out = String::new();
            push_ascii_repr(&mut out, text);
            assert_eq!(out, expected, "repr of {text:?}");
        }
    }

    #[test]
    fn params() {
        // (key, value, expected)
        let cases: &[(&str, &str, &str)] = &[
            ("filename", "bud.gif", "filename=\"bud.gif\""),
            ("file_name", "x", "file-name=\"x\""),
            ("__a__", "x", "--a--=\"x\""),
            ("k", "", "k"),
            ("k", "a\\b", "k=\"a\\\\b\""),
            ("k", "say \"hi\"", "k=\"say \\\"hi\\\"\""),
            ("k", "\\\"", "k=\"\\\\\\\"\""),
            ("k", "caf\u{e9}", "k=\"caf\u{e9}\""),
            ("k", "plain", "k=\"plain\""),
        ];
        for &(key, value, expected) in cases {
            let mut out = String::new();
            push_param(&mut out, key, value);
            assert_eq!(out, expected, "param {key:?}={value:?}");
        }
    }

    #[test]
    fn param_keys() {
        let cases: &[(&str, &str)] = &[("a_b", "a-b"), ("", ""), ("_", "-"), ("no", "no")];
        for &(key, expected) in cases {
            let mut out = String::new();
            push_param_key(&mut out, key);
            assert_eq!(out, expected);
        }
    }
}
