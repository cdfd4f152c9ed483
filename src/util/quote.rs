//! `urllib.parse.quote(value, safe=..., encoding='latin1')`, as `application_uri` quotes
//! SCRIPT_NAME and `request_uri` quotes PATH_INFO: a pure-Rust percent-encoder over Latin-1
//! for exact `str`, the stdlib's own `quote` for `str` subclasses.

use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString};

use super::text::Text;
use crate::pep3333::latin1;

static URLLIB_QUOTE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Characters `urllib.parse.quote` never escapes (RFC 3986 "unreserved").
const ALWAYS_SAFE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~";

/// A lookup table over ASCII: `true` when the byte is left as is.
pub type SafeTable = [bool; 128];

const fn safe_table(extra: &[u8]) -> SafeTable {
    let mut table = [false; 128];
    let mut i = 0;
    while i < ALWAYS_SAFE.len() {
        table[ALWAYS_SAFE[i] as usize] = true;
        i += 1;
    }
    let mut j = 0;
    while j < extra.len() {
        table[extra[j] as usize] = true;
        j += 1;
    }
    table
}

/// `quote(..., safe='/')`, as `application_uri` quotes SCRIPT_NAME.
pub const SCRIPT_NAME_SAFE: SafeTable = safe_table(b"/");
/// `quote(..., safe='/;=,')`, as `request_uri` quotes PATH_INFO.
pub const PATH_INFO_SAFE: SafeTable = safe_table(b"/;=,");

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Percent-encodes `text` the way `urllib.parse.quote(text, safe, encoding='latin1')` does:
/// every character is one latin-1 byte, kept when safe and written `%XX` (uppercase)
/// otherwise. `None` when a character is above U+00FF, where `quote` fails in its first step,
/// the encoding.
pub fn quote_latin1(text: &str, safe: &SafeTable) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match latin1::byte(c)? {
            byte if byte < 128 && safe[usize::from(byte)] => out.push(char::from(byte)),
            byte => {
                out.push('%');
                out.push(char::from(HEX_UPPER[usize::from(byte >> 4)]));
                out.push(char::from(HEX_UPPER[usize::from(byte & 0x0F)]));
            }
        }
    }
    Some(out)
}

/// Which `safe` argument the stdlib passes to `quote`.
#[derive(Clone, Copy)]
pub(super) enum Safe {
    /// `quote(x, encoding='latin1')` (safe defaults to '/')
    ScriptName,
    /// `quote(x, safe='/;=,', encoding='latin1')`
    PathInfo,
}

impl Safe {
    fn table(self) -> &'static SafeTable {
        match self {
            Safe::ScriptName => &SCRIPT_NAME_SAFE,
            Safe::PathInfo => &PATH_INFO_SAFE,
        }
    }
}

/// `urllib.parse.quote(value, safe=..., encoding='latin1')`.
pub(super) fn quote<'py>(
    py: Python<'py>,
    value: Bound<'py, PyAny>,
    safe: Safe,
) -> PyResult<Text<'py>> {
    if let Ok(text) = value.cast_exact::<PyString>() {
        // A character above U+00FF, or lone surrogates (no UTF-8 view; they are all above
        // U+00FF too): `quote` fails encoding, and the interpreter's encoder gives its error.
        let quoted = text
            .to_str()
            .ok()
            .and_then(|s| quote_latin1(s, safe.table()));
        return match quoted {
            Some(quoted) => Ok(Text::Rust(quoted)),
            None => Err(latin1::encode_error(text)),
        };
    }
    if value.is_instance(&py.get_type::<PyString>())? {
        // A str subclass may override anything quote() touches: let quote() do it.
        let kwargs = PyDict::new(py);
        if let Safe::PathInfo = safe {
            kwargs.set_item(intern!(py, "safe"), intern!(py, "/;=,"))?;
        }
        kwargs.set_item(intern!(py, "encoding"), intern!(py, "latin1"))?;
        let quote = URLLIB_QUOTE.import(py, "urllib.parse", "quote")?;
        return Ok(Text::Py(quote.call((value,), Some(&kwargs))?));
    }
    Err(PyTypeError::new_err(
        "quote() doesn't support 'encoding' for bytes",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pyo3::exceptions::PyUnicodeEncodeError;

    /// (input, safe table, quoted text, or `None` where encoding fails)
    type QuoteCase = (&'static str, &'static SafeTable, Option<&'static str>);

    #[test]
    fn quote_table() {
        let cases: &[QuoteCase] = &[
            ("", &SCRIPT_NAME_SAFE, Some("")),
            ("/", &SCRIPT_NAME_SAFE, Some("/")),
            ("/a b", &SCRIPT_NAME_SAFE, Some("/a%20b")),
            ("azAZ09_.-~", &SCRIPT_NAME_SAFE, Some("azAZ09_.-~")),
            ("/;=,", &SCRIPT_NAME_SAFE, Some("/%3B%3D%2C")),
            ("/;=,", &PATH_INFO_SAFE, Some("/;=,")),
            ("%", &PATH_INFO_SAFE, Some("%25")),
            ("?#&+", &PATH_INFO_SAFE, Some("%3F%23%26%2B")),
            ("\u{0}\u{7f}", &PATH_INFO_SAFE, Some("%00%7F")),
            ("\u{e9}\u{ff}", &PATH_INFO_SAFE, Some("%E9%FF")),
            ("\u{80}", &SCRIPT_NAME_SAFE, Some("%80")),
            ("a\u{100}", &SCRIPT_NAME_SAFE, None),
            ("\u{100}\u{20ac}b\u{101}", &SCRIPT_NAME_SAFE, None),
            ("ab\u{1f600}", &PATH_INFO_SAFE, None),
            ("\u{e9}\u{ffff}\u{10000}", &PATH_INFO_SAFE, None),
        ];
        for (input, safe, expected) in cases {
            assert_eq!(quote_latin1(input, safe).as_deref(), *expected, "{input:?}");
        }
    }

    #[test]
    fn unencodable_error_spans() {
        Python::initialize();
        Python::attach(|py| -> PyResult<()> {
            let chr = py.import("builtins")?.getattr("chr")?;
            // (code points, span of the UnicodeEncodeError) -- surrogates included
            let cases: &[(&[u32], (usize, usize))] = &[
                (&[0x61, 0x100], (1, 2)),
                (&[0x100, 0x20AC, 0x62, 0x101], (0, 2)),
                (&[0x61, 0x62, 0x1F600], (2, 3)),
                (&[0xE9, 0xFFFF, 0x10000], (1, 3)),
                (&[0xD800], (0, 1)),
                (&[0x61, 0xDC80, 0xD800, 0x62], (1, 3)),
                (&[0xE9, 0xDFFF, 0x100], (1, 3)),
            ];
            for (cps, (start, end)) in cases {
                let chars = cps
                    .iter()
                    .map(|c| chr.call1((c,)))
                    .collect::<PyResult<Vec<_>>>()?;
                let text = PyString::new(py, "").call_method1("join", (chars,))?;
                let Err(err) = quote(py, text.clone(), Safe::PathInfo) else {
                    panic!("{cps:?} quoted");
                };
                let err = err.value(py);
                assert!(err.is_instance_of::<PyUnicodeEncodeError>(), "{cps:?}");
                let field = |name: &str| err.getattr(name);
                assert_eq!(field("encoding")?.extract::<String>()?, "latin-1");
                assert!(field("object")?.is(&text), "{cps:?}");
                assert_eq!(field("start")?.extract::<usize>()?, *start, "{cps:?}");
                assert_eq!(field("end")?.extract::<usize>()?, *end, "{cps:?}");
                let reason = field("reason")?.extract::<String>()?;
                assert_eq!(reason, "ordinal not in range(256)");
            }
            Ok(())
        })
        .unwrap();
    }
}
