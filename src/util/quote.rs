//! `urllib.parse.quote(value, safe=..., encoding='latin1')`, as `application_uri` quotes
//! SCRIPT_NAME and `request_uri` quotes PATH_INFO: a pure-Rust percent-encoder over Latin-1
//! for exact `str`, the stdlib's own `quote` for `str` subclasses.

use pyo3::exceptions::{PyTypeError, PyUnicodeEncodeError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyString};

use super::text::Text;

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

/// The code points latin-1 cannot encode, as `str.encode('latin-1')` reports them:
/// `start` is the first one, `end` is one past the run of unencodable code points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unencodable {
    pub start: usize,
    pub end: usize,
}

/// Percent-encodes code points the way `urllib.parse.quote(s, safe, encoding='latin1')`
/// does, appending the ASCII result to `out`: every code point up to U+00FF is one
/// latin-1 byte, kept when safe and written `%XX` (uppercase) otherwise; a code point
/// above U+00FF (surrogates included) is an encoding error.
pub fn quote_latin1_into(
    code_points: impl IntoIterator<Item = u32>,
    safe: &SafeTable,
    out: &mut String,
) -> Result<(), Unencodable> {
    let mut iter = code_points.into_iter().enumerate();
    while let Some((index, cp)) = iter.next() {
        match u8::try_from(cp) {
            Ok(byte) if byte < 128 && safe[usize::from(byte)] => out.push(char::from(byte)),
            Ok(byte) => {
                out.push('%');
                out.push(char::from(HEX_UPPER[usize::from(byte >> 4)]));
                out.push(char::from(HEX_UPPER[usize::from(byte & 0x0F)]));
            }
            Err(_) => {
                let run = iter.take_while(|&(_, c)| c > 0xFF).count();
                return Err(Unencodable {
                    start: index,
                    end: index + 1 + run,
                });
            }
        }
    }
    Ok(())
}

/// [`quote_latin1_into`] on Rust text.
pub fn quote_latin1(text: &str, safe: &SafeTable) -> Result<String, Unencodable> {
    let mut out = String::with_capacity(text.len());
    quote_latin1_into(text.chars().map(u32::from), safe, &mut out)?;
    Ok(out)
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

/// The `UnicodeEncodeError` that `text.encode('latin1')` raises.
fn latin1_error(text: &Bound<'_, PyAny>, bad: Unencodable) -> PyErr {
    let py = text.py();
    match py.get_type::<PyUnicodeEncodeError>().call1((
        "latin-1",
        text,
        bad.start,
        bad.end,
        "ordinal not in range(256)",
    )) {
        Ok(error) => PyErr::from_value(error),
        Err(error) => error,
    }
}

/// `urllib.parse.quote(value, safe=..., encoding='latin1')`.
pub(super) fn quote<'py>(
    py: Python<'py>,
    value: Bound<'py, PyAny>,
    safe: Safe,
) -> PyResult<Text<'py>> {
    if let Ok(text) = value.cast_exact::<PyString>() {
        let result = match text.to_str() {
            Ok(s) => quote_latin1(s, safe.table()),
            Err(_) => {
                // Lone surrogates: no UTF-8 view, so read the code points (they are
                // all above U+00FF, so this always ends in the encoding error).
                let raw = text.call_method1(
                    intern!(py, "encode"),
                    (intern!(py, "utf-32-le"), intern!(py, "surrogatepass")),
                )?;
                let raw = raw.cast::<PyBytes>()?.as_bytes();
                let code_points = raw
                    .chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
                let mut out = String::new();
                quote_latin1_into(code_points, safe.table(), &mut out).map(|()| out)
            }
        };
        return result
            .map(Text::Rust)
            .map_err(|bad| latin1_error(&value, bad));
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

    /// (input, safe table, quoted text or the unencodable span)
    type QuoteCase = (
        &'static str,
        &'static SafeTable,
        Result<&'static str, (usize, usize)>,
    );

    #[test]
    fn quote_table() {
        let cases: &[QuoteCase] = &[
            ("", &SCRIPT_NAME_SAFE, Ok("")),
            ("/", &SCRIPT_NAME_SAFE, Ok("/")),
            ("/a b", &SCRIPT_NAME_SAFE, Ok("/a%20b")),
            ("azAZ09_.-~", &SCRIPT_NAME_SAFE, Ok("azAZ09_.-~")),
            ("/;=,", &SCRIPT_NAME_SAFE, Ok("/%3B%3D%2C")),
            ("/;=,", &PATH_INFO_SAFE, Ok("/;=,")),
            ("%", &PATH_INFO_SAFE, Ok("%25")),
            ("?#&+", &PATH_INFO_SAFE, Ok("%3F%23%26%2B")),
            ("\u{0}\u{7f}", &PATH_INFO_SAFE, Ok("%00%7F")),
            ("\u{e9}\u{ff}", &PATH_INFO_SAFE, Ok("%E9%FF")),
            ("\u{80}", &SCRIPT_NAME_SAFE, Ok("%80")),
            ("a\u{100}", &SCRIPT_NAME_SAFE, Err((1, 2))),
            ("\u{100}\u{20ac}b\u{101}", &SCRIPT_NAME_SAFE, Err((0, 2))),
            ("ab\u{1f600}", &PATH_INFO_SAFE, Err((2, 3))),
            ("\u{e9}\u{ffff}\u{10000}", &PATH_INFO_SAFE, Err((1, 3))),
        ];
        for (input, safe, expected) in cases {
            let got = quote_latin1(input, safe).map_err(|u| (u.start, u.end));
            assert_eq!(got.as_deref(), expected.as_ref().map(|s| *s), "{input:?}");
        }
    }

    #[test]
    fn quote_surrogate_code_points() {
        // (code points, expected error span)
        let cases: &[(&[u32], (usize, usize))] = &[
            (&[0xD800], (0, 1)),
            (&[0x61, 0xDC80, 0xD800, 0x62], (1, 3)),
            (&[0xE9, 0xDFFF, 0x100], (1, 3)),
        ];
        for (cps, (start, end)) in cases {
            let mut out = String::new();
            let got = quote_latin1_into(cps.iter().copied(), &SCRIPT_NAME_SAFE, &mut out);
            assert_eq!(
                got,
                Err(Unencodable {
                    start: *start,
                    end: *end
                }),
                "{cps:?}"
            );
        }
    }
}
