//! `wsgiref.util`: environ helpers and `FileWrapper`.
//!
//! Every function follows CPython's `wsgiref.util` step by step: the same environ
//! look-ups, in the same order and with the same number of arguments, and the same
//! operators applied to the same values. The common case (an exact `dict` holding
//! exact `str` values) runs in Rust. Anything else (another mapping type, a `dict`
//! subclass, `str` subclasses, non-`str` values, lone surrogates) evaluates the very
//! expression the standard library would, through the interpreter, so user types see
//! the same calls and raise the same errors.

use pyo3::exceptions::{PyAttributeError, PyIndexError, PyTypeError, PyUnicodeEncodeError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PySet, PySlice, PyString, PyTuple};

use crate::pyhelpers::{exact_str, Given};

// ---------------------------------------------------------------------------
// Pure Rust string transforms
// ---------------------------------------------------------------------------

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

/// `posixpath.normpath` on text: drops empty and '.' components, resolves '..'
/// (never above an absolute root), keeps exactly two leading slashes but turns three
/// or more into one, and gives '.' for an empty result.
pub fn normpath(path: &str) -> String {
    if path.is_empty() {
        return ".".to_owned();
    }
    let leading = if !path.starts_with('/') {
        0
    } else if path.starts_with("//") && !path.starts_with("///") {
        2
    } else {
        1
    };
    let mut kept: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if leading > 0 && kept.is_empty() => {}
            ".." if kept.last().is_some_and(|last| *last != "..") => {
                kept.pop();
            }
            _ => kept.push(part),
        }
    }
    let mut out = "/".repeat(leading);
    for (i, part) in kept.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(part);
    }
    if out.is_empty() {
        out.push('.');
    }
    out
}

/// The first step of `shift_path_info` on PATH_INFO text: splits on '/', drops the
/// empty and '.' segments between the first and the last one, and takes the second
/// segment out. Returns the name shifted and the PATH_INFO left behind, or `None`
/// when there is no '/' at all (where the stdlib raises `IndexError`).
pub fn split_first_segment(path_info: &str) -> Option<(&str, String)> {
    let mut parts = path_info.split('/');
    let first = parts.next()?;
    let rest: Vec<&str> = parts.collect();
    let (last, middle) = rest.split_last()?;
    let mut middle = middle.iter().filter(|p| !p.is_empty() && **p != ".");
    let Some(name) = middle.next() else {
        return Some((last, first.to_owned()));
    };
    let mut remaining = String::with_capacity(path_info.len());
    remaining.push_str(first);
    for part in middle.chain(std::iter::once(last)) {
        remaining.push('/');
        remaining.push_str(part);
    }
    Some((name, remaining))
}

/// The SCRIPT_NAME `shift_path_info` stores once `name` moved over from PATH_INFO:
/// the normalised `script_name + '/' + name`, without a trailing '/' unless `name`
/// is empty (then it always ends with one).
pub fn shifted_script_name(script_name: &str, name: &str) -> String {
    let mut out = normpath(&format!("{script_name}/{name}"));
    if out.ends_with('/') {
        out.pop();
    }
    if name.is_empty() && !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// The hop-by-hop header names of HTTP/1.1, lowercase.
const HOP_BY_HOP: [&str; 8] = [
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

/// Whether an `HTTPS` value turns `guess_scheme` to 'https'.
pub fn https_flag(value: &str) -> bool {
    matches!(value, "yes" | "on" | "1")
}

// ---------------------------------------------------------------------------
// Cached Python objects
// ---------------------------------------------------------------------------

static BYTES_IO: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static STRING_IO: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static URLLIB_QUOTE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static POSIX_NORMPATH: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static OPERATOR_IADD: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static HTTPS_VALUES: PyOnceLock<Py<PyTuple>> = PyOnceLock::new();
static WSGI_VERSION: PyOnceLock<Py<PyTuple>> = PyOnceLock::new();
static HOP_BY_HOP_SET: PyOnceLock<Py<PySet>> = PyOnceLock::new();
static SLICE_1_M1: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static SLICE_1_: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static SLICE__M1: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `slice(start, stop)` exactly as `x[start:stop]` builds it (step None), cached.
fn cached_slice<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyAny>>,
    start: Option<isize>,
    stop: Option<isize>,
) -> PyResult<&'py Bound<'py, PyAny>> {
    cell.get_or_try_init(py, || {
        Ok::<_, PyErr>(py.get_type::<PySlice>().call1((start, stop))?.unbind())
    })
    .map(|s| s.bind(py))
}

/// `a += b` for Python objects (the rare case where `a` is not an exact `str`).
fn inplace_add<'py>(a: &Bound<'py, PyAny>, b: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    OPERATOR_IADD
        .import(a.py(), "operator", "iadd")?
        .call1((a, b))
}

// ---------------------------------------------------------------------------
// The environ, reached as the stdlib reaches it
// ---------------------------------------------------------------------------

/// An environ: an exact `dict` is used directly; anything else (`dict` subclasses
/// included) through its own `get`, `__getitem__`, `__setitem__`, `__contains__` and
/// `setdefault`, called exactly as the stdlib calls them.
enum Environ<'a, 'py> {
    Dict(&'a Bound<'py, PyDict>),
    Other(&'a Bound<'py, PyAny>),
}

impl<'a, 'py> Environ<'a, 'py> {
    fn new(environ: &'a Bound<'py, PyAny>) -> Self {
        match environ.cast_exact::<PyDict>() {
            Ok(dict) => Environ::Dict(dict),
            Err(_) => Environ::Other(environ),
        }
    }

    /// `environ.get(key)`
    fn get(&self, key: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Environ::Dict(d) => Ok(d
                .get_item(key)?
                .unwrap_or_else(|| d.py().None().into_bound(d.py()))),
            Environ::Other(o) => o.call_method1(intern!(o.py(), "get"), (key,)),
        }
    }

    /// `environ.get(key, default)`
    fn get_or(
        &self,
        key: &Bound<'py, PyString>,
        default: &Bound<'py, PyString>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Environ::Dict(d) => Ok(d
                .get_item(key)?
                .unwrap_or_else(|| default.clone().into_any())),
            Environ::Other(o) => o.call_method1(intern!(o.py(), "get"), (key, default)),
        }
    }

    /// `environ[key]`
    fn item(&self, key: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Environ::Dict(d) => d
                .get_item(key)?
                .ok_or_else(|| pyo3::exceptions::PyKeyError::new_err(key.clone().unbind())),
            Environ::Other(o) => o.get_item(key),
        }
    }

    /// `environ[key] = value`
    fn set(&self, key: &Bound<'py, PyString>, value: Bound<'py, PyAny>) -> PyResult<()> {
        match self {
            Environ::Dict(d) => d.set_item(key, value),
            Environ::Other(o) => o.set_item(key, value),
        }
    }

    /// `key in environ`
    fn contains(&self, key: &Bound<'py, PyString>) -> PyResult<bool> {
        match self {
            Environ::Dict(d) => d.contains(key),
            Environ::Other(o) => o.contains(key),
        }
    }

    /// `environ.setdefault(key, value)`, result unused.
    fn setdefault(&self, key: &Bound<'py, PyString>, value: &Bound<'py, PyAny>) -> PyResult<()> {
        match self {
            Environ::Dict(d) => d.set_default(key, value).map(drop),
            Environ::Other(o) => o
                .call_method1(intern!(o.py(), "setdefault"), (key, value))
                .map(drop),
        }
    }

    /// `environ.setdefault(key, make())`; an exact dict that already has the key
    /// skips `make` (nothing can tell the difference).
    fn setdefault_with(
        &self,
        key: &Bound<'py, PyString>,
        make: impl FnOnce() -> PyResult<Bound<'py, PyAny>>,
    ) -> PyResult<()> {
        if let Environ::Dict(d) = self {
            if d.contains(key)? {
                return Ok(());
            }
        }
        self.setdefault(key, &make()?)
    }
}

// ---------------------------------------------------------------------------
// Values being built: Rust text while everything is an exact str
// ---------------------------------------------------------------------------

/// A value under construction: Rust text as long as every piece was an exact `str`,
/// otherwise the Python object the stdlib's expression would have produced.
enum Text<'py> {
    Rust(String),
    Py(Bound<'py, PyAny>),
}

impl<'py> Text<'py> {
    /// Takes a Python value as the start of an expression.
    fn of(value: Bound<'py, PyAny>) -> Self {
        match exact_str(&value) {
            Some(s) => Text::Rust(s.to_owned()),
            None => Text::Py(value),
        }
    }

    fn into_object(self, py: Python<'py>) -> Bound<'py, PyAny> {
        match self {
            Text::Rust(s) => PyString::new(py, &s).into_any(),
            Text::Py(o) => o,
        }
    }

    /// `self + other`
    fn add(self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Self> {
        match self {
            Text::Rust(mut s) => match exact_str(other) {
                Some(o) => {
                    s.push_str(o);
                    Ok(Text::Rust(s))
                }
                None => Ok(Text::Py(PyString::new(py, &s).add(other)?)),
            },
            Text::Py(o) => Ok(Text::Py(o.add(other)?)),
        }
    }

    /// `self + other` where `other` is a piece of text too.
    fn add_text(self, py: Python<'py>, other: &Text<'py>) -> PyResult<Self> {
        match (self, other) {
            (Text::Rust(mut s), Text::Rust(o)) => {
                s.push_str(o);
                Ok(Text::Rust(s))
            }
            (this, Text::Py(o)) => this.add(py, o),
            (Text::Py(this), Text::Rust(o)) => Ok(Text::Py(this.add(PyString::new(py, o))?)),
        }
    }

    /// `self += other`
    fn iadd(&mut self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<()> {
        match self {
            Text::Rust(s) => match exact_str(other) {
                Some(o) => s.push_str(o),
                // An exact str has no in-place add: `+=` is `+`.
                None => *self = Text::Py(PyString::new(py, s).add(other)?),
            },
            Text::Py(o) => *self = Text::Py(inplace_add(o, other)?),
        }
        Ok(())
    }

    /// `self += other` where `other` is a piece of text too.
    fn iadd_text(&mut self, py: Python<'py>, other: Text<'py>) -> PyResult<()> {
        match (&mut *self, other) {
            (Text::Rust(s), Text::Rust(o)) => {
                s.push_str(&o);
                Ok(())
            }
            (_, other) => {
                let other = other.into_object(py);
                self.iadd(py, &other)
            }
        }
    }

    /// `bool(self)`
    fn truthy(&self) -> PyResult<bool> {
        match self {
            Text::Rust(s) => Ok(!s.is_empty()),
            Text::Py(o) => o.is_truthy(),
        }
    }

    /// `self == literal`, as an `if` tests it.
    fn eq_str(&self, literal: &str) -> PyResult<bool> {
        match self {
            Text::Rust(s) => Ok(s == literal),
            Text::Py(o) => o.eq(literal),
        }
    }

    /// `self.endswith('/')`, as an `if` tests it.
    fn ends_with_slash(&self) -> PyResult<bool> {
        match self {
            Text::Rust(s) => Ok(s.ends_with('/')),
            Text::Py(o) => o
                .call_method1(intern!(o.py(), "endswith"), (intern!(o.py(), "/"),))?
                .is_truthy(),
        }
    }

    /// `self[:-1]`
    fn drop_last(self, py: Python<'py>) -> PyResult<Self> {
        match self {
            Text::Rust(mut s) => {
                s.pop();
                Ok(Text::Rust(s))
            }
            Text::Py(o) => Ok(Text::Py(o.get_item(cached_slice(
                py,
                &SLICE__M1,
                None,
                Some(-1),
            )?)?)),
        }
    }

    /// `self[1:]`
    fn drop_first(self, py: Python<'py>) -> PyResult<Self> {
        match self {
            Text::Rust(s) => {
                let skip = s.chars().next().map_or(0, char::len_utf8);
                Ok(Text::Rust(s[skip..].to_owned()))
            }
            Text::Py(o) => Ok(Text::Py(o.get_item(cached_slice(
                py,
                &SLICE_1_,
                Some(1),
                None,
            )?)?)),
        }
    }
}

// ---------------------------------------------------------------------------
// quote(value, safe=..., encoding='latin1')
// ---------------------------------------------------------------------------

/// Which `safe` argument the stdlib passes to `quote`.
#[derive(Clone, Copy)]
enum Safe {
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
fn quote<'py>(py: Python<'py>, value: Bound<'py, PyAny>, safe: Safe) -> PyResult<Text<'py>> {
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

// ---------------------------------------------------------------------------
// The functions
// ---------------------------------------------------------------------------

/// `guess_scheme`'s test: `environ.get("HTTPS") in ('yes', 'on', '1')`.
fn is_https(env: &Environ<'_, '_>, py: Python<'_>) -> PyResult<bool> {
    let value = env.get(intern!(py, "HTTPS"))?;
    if value.is_none() {
        return Ok(false);
    }
    if let Some(s) = exact_str(&value) {
        return Ok(https_flag(s));
    }
    let values = HTTPS_VALUES.get_or_try_init(py, || {
        PyTuple::new(py, ["yes", "on", "1"]).map(Bound::unbind)
    })?;
    values.bind(py).contains(value)
}

/// Return a guess for whether 'wsgi.url_scheme' should be 'http' or 'https'
///
/// 'https' when `environ.get("HTTPS")` is 'yes', 'on' or '1', else 'http'.
/// Holds the GIL (no I/O).
#[pyfunction]
#[pyo3(signature = (environ))]
pub fn guess_scheme<'py>(
    py: Python<'py>,
    environ: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyString>> {
    Ok(if is_https(&Environ::new(environ), py)? {
        intern!(py, "https").clone()
    } else {
        intern!(py, "http").clone()
    })
}

fn application_uri_text<'py>(py: Python<'py>, env: &Environ<'_, 'py>) -> PyResult<Text<'py>> {
    let scheme_key = intern!(py, "wsgi.url_scheme");
    let mut url = Text::of(env.item(scheme_key)?).add(py, intern!(py, "://").as_any())?;
    let host = env.get(intern!(py, "HTTP_HOST"))?;
    if host.is_truthy()? {
        url.iadd(py, &env.item(intern!(py, "HTTP_HOST"))?)?;
    } else {
        url.iadd(py, &env.item(intern!(py, "SERVER_NAME"))?)?;
        let default_port = if Text::of(env.item(scheme_key)?).eq_str("https")? {
            "443"
        } else {
            "80"
        };
        let port_key = intern!(py, "SERVER_PORT");
        let port = env.item(port_key)?;
        let differs = match exact_str(&port) {
            Some(p) => p != default_port,
            None => port.ne(default_port)?,
        };
        if differs {
            let suffix = Text::Rust(":".to_owned()).add(py, &env.item(port_key)?)?;
            url.iadd_text(py, suffix)?;
        }
    }
    let script_name = env.get(intern!(py, "SCRIPT_NAME"))?;
    let script_name = if script_name.is_truthy()? {
        script_name
    } else {
        intern!(py, "/").clone().into_any()
    };
    url.iadd_text(py, quote(py, script_name, Safe::ScriptName)?)?;
    Ok(url)
}

/// Return the application's base URI (no PATH_INFO or QUERY_STRING)
///
/// Scheme, then HTTP_HOST (or SERVER_NAME plus a non-default SERVER_PORT), then the
/// latin-1 percent-encoded SCRIPT_NAME (or '/').
/// Holds the GIL (no I/O).
#[pyfunction]
#[pyo3(signature = (environ))]
fn application_uri<'py>(
    py: Python<'py>,
    environ: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(application_uri_text(py, &Environ::new(environ))?.into_object(py))
}

/// Return the full request URI, optionally including the query string
///
/// `application_uri(environ)`, then the percent-encoded PATH_INFO, then '?' and
/// QUERY_STRING when `include_query` is true and QUERY_STRING is not empty.
/// Holds the GIL (no I/O).
#[pyfunction]
#[pyo3(
    signature = (environ, include_query = Given(None)),
    text_signature = "(environ, include_query=True)"
)]
fn request_uri<'py>(
    py: Python<'py>,
    environ: &Bound<'py, PyAny>,
    include_query: Given<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    let env = Environ::new(environ);
    let mut url = application_uri_text(py, &env)?;
    let path_info = env.get_or(intern!(py, "PATH_INFO"), intern!(py, ""))?;
    let path_info = quote(py, path_info, Safe::PathInfo)?;
    if env.get(intern!(py, "SCRIPT_NAME"))?.is_truthy()? {
        url.iadd_text(py, path_info)?;
    } else {
        url.iadd_text(py, path_info.drop_first(py)?)?;
    }
    let include_query = match include_query.0 {
        Some(flag) => flag.is_truthy()?,
        None => true,
    };
    if include_query && env.get(intern!(py, "QUERY_STRING"))?.is_truthy()? {
        let query = Text::Rust("?".to_owned()).add(py, &env.item(intern!(py, "QUERY_STRING"))?)?;
        url.iadd_text(py, query)?;
    }
    Ok(url.into_object(py))
}

/// Shift a name from PATH_INFO to SCRIPT_NAME, returning it
///
/// Returns None when PATH_INFO is empty (the environ is then left alone) or when
/// the name shifted is '.'; modifies the environ in place otherwise.
/// Holds the GIL (no I/O).
#[pyfunction]
#[pyo3(signature = (environ))]
fn shift_path_info<'py>(
    py: Python<'py>,
    environ: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let env = Environ::new(environ);
    let path_info_key = intern!(py, "PATH_INFO");
    let script_name_key = intern!(py, "SCRIPT_NAME");
    let empty = intern!(py, "");

    let path_info = env.get_or(path_info_key, empty)?;
    if !path_info.is_truthy()? {
        return Ok(None);
    }

    // path_parts = path_info.split('/'); keep the meaningful middle parts;
    // name = path_parts[1]; del path_parts[1]
    let (name, remaining) = match exact_str(&path_info) {
        Some(text) => match split_first_segment(text) {
            Some((name, remaining)) => (Text::Rust(name.to_owned()), Text::Rust(remaining)),
            None => return Err(PyIndexError::new_err("list index out of range")),
        },
        None => {
            let parts = path_info.call_method1(intern!(py, "split"), (intern!(py, "/"),))?;
            let middle_slice = cached_slice(py, &SLICE_1_M1, Some(1), Some(-1))?;
            let kept = PyList::empty(py);
            for part in parts.get_item(middle_slice)?.try_iter()? {
                let part = part?;
                if part.is_truthy()? && part.ne(intern!(py, "."))? {
                    kept.append(part)?;
                }
            }
            parts.set_item(middle_slice, kept)?;
            let name = parts.get_item(1)?;
            parts.del_item(1)?;
            (Text::Py(name), Text::Py(parts))
        }
    };

    // script_name = posixpath.normpath(script_name + '/' + name)
    let script_name = env.get_or(script_name_key, empty)?;
    let script_name = match (exact_str(&script_name), &name) {
        (Some(s), Text::Rust(n)) => Text::Rust(shifted_script_name(s, n)),
        _ => {
            let joined = Text::of(script_name)
                .add(py, intern!(py, "/").as_any())?
                .add_text(py, &name)?;
            let mut normalized = match joined {
                Text::Rust(s) => Text::Rust(normpath(&s)),
                Text::Py(o) => match exact_str(&o) {
                    Some(s) => Text::Rust(normpath(s)),
                    None => Text::Py(
                        POSIX_NORMPATH
                            .import(py, "posixpath", "normpath")?
                            .call1((o,))?,
                    ),
                },
            };
            if normalized.ends_with_slash()? {
                normalized = normalized.drop_last(py)?;
            }
            if !name.truthy()? && !normalized.ends_with_slash()? {
                normalized.iadd(py, intern!(py, "/").as_any())?;
            }
            normalized
        }
    };

    env.set(script_name_key, script_name.into_object(py))?;
    let remaining = match remaining {
        Text::Rust(s) => PyString::new(py, &s).into_any(),
        Text::Py(parts) => intern!(py, "/").call_method1(intern!(py, "join"), (parts,))?,
    };
    env.set(path_info_key, remaining)?;

    if name.eq_str(".")? {
        return Ok(None);
    }
    Ok(Some(name.into_object(py)))
}

/// Update 'environ' with trivial defaults for testing purposes
///
/// Adds the CGI and wsgi.* keys a WSGI application expects, in the stdlib's order,
/// never replacing a key already present; wsgi.input and wsgi.errors are a fresh
/// BytesIO and StringIO.
/// Holds the GIL (no I/O).
#[pyfunction]
#[pyo3(signature = (environ))]
fn setup_testing_defaults(py: Python<'_>, environ: &Bound<'_, PyAny>) -> PyResult<()> {
    let env = Environ::new(environ);
    let server_name = intern!(py, "SERVER_NAME");
    let script_name = intern!(py, "SCRIPT_NAME");
    let path_info = intern!(py, "PATH_INFO");
    let url_scheme = intern!(py, "wsgi.url_scheme");

    env.setdefault(server_name, intern!(py, "127.0.0.1"))?;
    env.setdefault(intern!(py, "SERVER_PROTOCOL"), intern!(py, "HTTP/1.0"))?;
    env.setdefault(intern!(py, "HTTP_HOST"), &env.item(server_name)?)?;
    env.setdefault(intern!(py, "REQUEST_METHOD"), intern!(py, "GET"))?;
    if !env.contains(script_name)? && !env.contains(path_info)? {
        env.setdefault(script_name, intern!(py, ""))?;
        env.setdefault(path_info, intern!(py, "/"))?;
    }

    let version =
        WSGI_VERSION.get_or_try_init(py, || PyTuple::new(py, [1, 0]).map(Bound::unbind))?;
    env.setdefault(intern!(py, "wsgi.version"), version.bind(py))?;
    let zero = 0_i32.into_pyobject(py)?.into_any();
    env.setdefault(intern!(py, "wsgi.run_once"), &zero)?;
    env.setdefault(intern!(py, "wsgi.multithread"), &zero)?;
    env.setdefault(intern!(py, "wsgi.multiprocess"), &zero)?;

    env.setdefault_with(intern!(py, "wsgi.input"), || {
        BYTES_IO.import(py, "io", "BytesIO")?.call0()
    })?;
    env.setdefault_with(intern!(py, "wsgi.errors"), || {
        STRING_IO.import(py, "io", "StringIO")?.call0()
    })?;
    let scheme = if is_https(&env, py)? {
        intern!(py, "https")
    } else {
        intern!(py, "http")
    };
    env.setdefault(url_scheme, scheme)?;

    let server_port = intern!(py, "SERVER_PORT");
    if Text::of(env.item(url_scheme)?).eq_str("http")? {
        env.setdefault(server_port, intern!(py, "80"))?;
    } else if Text::of(env.item(url_scheme)?).eq_str("https")? {
        env.setdefault(server_port, intern!(py, "443"))?;
    }
    Ok(())
}

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

// ---------------------------------------------------------------------------
// FileWrapper
// ---------------------------------------------------------------------------

/// Wrapper to convert file-like objects to iterables
///
/// Iterating calls `filelike.read(blksize)` until it returns a false value;
/// `close` is the filelike's own `close` when it has one.
#[pyclass(subclass, dict, weakref, module = "wsgiref_rs.util")]
pub struct FileWrapper {
    /// The wrapped file-like object; `None` before `__init__` or after `del`.
    pub filelike: Option<Py<PyAny>>,
    /// The argument given to `read`; `None` before `__init__` or after `del`.
    pub blksize: Option<Py<PyAny>>,
}

static DEFAULT_BLKSIZE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static BUILTIN_HASATTR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static PLAIN_IO_TYPES: PyOnceLock<Vec<Py<PyAny>>> = PyOnceLock::new();

/// Whether `obj` is exactly one of the io module's own classes (BytesIO, StringIO,
/// FileIO, BufferedReader, BufferedRandom, TextIOWrapper): their attribute look-ups
/// run no Python code and `close` and `read` always exist, so one look-up is as good
/// as the stdlib's two.
fn is_plain_io(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    let py = obj.py();
    let types = PLAIN_IO_TYPES.get_or_try_init(py, || {
        let io = py.import("io")?;
        [
            "BytesIO",
            "StringIO",
            "FileIO",
            "BufferedReader",
            "BufferedRandom",
            "TextIOWrapper",
        ]
        .iter()
        .map(|name| io.getattr(*name).map(Bound::unbind))
        .collect::<PyResult<Vec<_>>>()
    })?;
    let ty = obj.get_type();
    Ok(types.iter().any(|t| ty.is(t.bind(py))))
}

/// The `AttributeError` for an attribute that is not set on `obj`.
fn missing_attribute(obj: &Bound<'_, PyAny>, name: &str) -> PyErr {
    let type_name = obj
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "FileWrapper".to_owned());
    PyAttributeError::new_err(format!("'{type_name}' object has no attribute '{name}'"))
}

#[pymethods]
impl FileWrapper {
    /// Allocate an empty wrapper; `__init__` fills it in.
    ///
    /// Holds the GIL (no I/O).
    #[new]
    #[pyo3(signature = (*_args, **_kwargs), text_signature = "(filelike, blksize=8192)")]
    fn py_new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        FileWrapper {
            filelike: None,
            blksize: None,
        }
    }

    /// Wrap `filelike`, reading `blksize` at a time; copy its `close` if it has one.
    ///
    /// Holds the GIL (no I/O).
    #[pyo3(signature = (filelike, blksize = Given(None)))]
    fn __init__(
        slf: &Bound<'_, Self>,
        filelike: Bound<'_, PyAny>,
        blksize: Given<'_>,
    ) -> PyResult<()> {
        let py = slf.py();
        let blksize = match blksize.0 {
            Some(b) => b,
            None => DEFAULT_BLKSIZE
                .get_or_try_init(py, || {
                    8192_i32.into_pyobject(py).map(|n| n.into_any().unbind())
                })?
                .bind(py)
                .clone(),
        };
        if slf.is_exact_instance_of::<FileWrapper>() {
            let mut this = slf.try_borrow_mut()?;
            this.filelike = Some(filelike.clone().unbind());
            this.blksize = Some(blksize.unbind());
        } else {
            // A subclass may override these attributes: assign as Python would.
            slf.setattr(intern!(py, "filelike"), &filelike)?;
            slf.setattr(intern!(py, "blksize"), blksize)?;
        }
        // if hasattr(filelike, 'close'): self.close = filelike.close
        let close = intern!(py, "close");
        let has_close = is_plain_io(&filelike)? || {
            // builtins.hasattr: the stdlib's own test, which (unlike a failed getattr)
            // builds no AttributeError for a missing attribute.
            let hasattr = BUILTIN_HASATTR.import(py, "builtins", "hasattr")?;
            hasattr.call1((&filelike, close))?.is_truthy()?
        };
        if has_close {
            slf.setattr(close, filelike.getattr(close)?)?;
        }
        Ok(())
    }

    /// The wrapped file-like object.
    ///
    /// Holds the GIL (no I/O).
    #[getter]
    fn get_filelike(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let this = slf.try_borrow()?;
        match &this.filelike {
            Some(f) => Ok(f.clone_ref(slf.py())),
            None => Err(missing_attribute(slf.as_any(), "filelike")),
        }
    }

    #[setter]
    fn set_filelike(&mut self, value: Py<PyAny>) {
        self.filelike = Some(value);
    }

    #[deleter]
    fn delete_filelike(slf: &Bound<'_, Self>) -> PyResult<()> {
        match slf.try_borrow_mut()?.filelike.take() {
            Some(_) => Ok(()),
            None => Err(missing_attribute(slf.as_any(), "filelike")),
        }
    }

    /// The size passed to each `read` call.
    ///
    /// Holds the GIL (no I/O).
    #[getter]
    fn get_blksize(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let this = slf.try_borrow()?;
        match &this.blksize {
            Some(b) => Ok(b.clone_ref(slf.py())),
            None => Err(missing_attribute(slf.as_any(), "blksize")),
        }
    }

    #[setter]
    fn set_blksize(&mut self, value: Py<PyAny>) {
        self.blksize = Some(value);
    }

    #[deleter]
    fn delete_blksize(slf: &Bound<'_, Self>) -> PyResult<()> {
        match slf.try_borrow_mut()?.blksize.take() {
            Some(_) => Ok(()),
            None => Err(missing_attribute(slf.as_any(), "blksize")),
        }
    }

    /// Return the state pickle and copy save: what the stdlib instance's `__dict__`
    /// holds (filelike, blksize, then the instance dict: close and any extras).
    ///
    /// Holds the GIL (no I/O).
    fn __getstate__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyDict>> {
        let py = slf.py();
        let state = PyDict::new(py);
        {
            let this = slf.try_borrow()?;
            if let Some(filelike) = &this.filelike {
                state.set_item(intern!(py, "filelike"), filelike)?;
            }
            if let Some(blksize) = &this.blksize {
                state.set_item(intern!(py, "blksize"), blksize)?;
            }
        }
        if let Ok(dict) = slf.getattr(intern!(py, "__dict__")) {
            state.update(dict.cast::<pyo3::types::PyMapping>()?)?;
        }
        Ok(state)
    }

    /// Restore what `__getstate__` saved, attribute by attribute.
    ///
    /// Holds the GIL (no I/O).
    fn __setstate__(slf: &Bound<'_, Self>, state: &Bound<'_, PyAny>) -> PyResult<()> {
        for item in state.call_method0(intern!(slf.py(), "items"))?.try_iter()? {
            let (key, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
            slf.as_any().setattr(key.cast_into::<PyString>()?, value)?;
        }
        Ok(())
    }

    /// Return the wrapper itself.
    ///
    /// Holds the GIL (no I/O).
    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// Return the next `filelike.read(blksize)`; stop at a false value.
    ///
    /// Holds the GIL (no I/O).
    /// (Any reading is done by the filelike's own `read`.)
    fn __next__<'py>(slf: &Bound<'py, Self>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let py = slf.py();
        let exact = slf.is_exact_instance_of::<FileWrapper>();
        // data = self.filelike.read(self.blksize), in that order
        let filelike = if exact {
            Self::get_filelike(slf)?.into_bound(py)
        } else {
            slf.getattr(intern!(py, "filelike"))?
        };
        let read = intern!(py, "read");
        let data = if exact && is_plain_io(&filelike)? {
            // Looking up `read` on a plain io object has no side effects, so call the
            // method directly (no bound method object); blksize is then still read
            // after `filelike`, and before the call, as in the stdlib.
            let blksize = Self::get_blksize(slf)?;
            filelike.call_method1(read, (blksize,))?
        } else {
            let read = filelike.getattr(read)?;
            let blksize = if exact {
                Self::get_blksize(slf)?.into_bound(py)
            } else {
                slf.getattr(intern!(py, "blksize"))?
            };
            read.call1((blksize,))?
        };
        Ok(if data.is_truthy()? { Some(data) } else { None })
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(guess_scheme, m)?)?;
    m.add_function(wrap_pyfunction!(application_uri, m)?)?;
    m.add_function(wrap_pyfunction!(request_uri, m)?)?;
    m.add_function(wrap_pyfunction!(shift_path_info, m)?)?;
    m.add_function(wrap_pyfunction!(setup_testing_defaults, m)?)?;
    m.add_function(wrap_pyfunction!(is_hop_by_hop, m)?)?;
    m.add_class::<FileWrapper>()?;
    // PyO3 names the type "wsgiref_rs.util.FileWrapper" in `tp_name`, which the
    // interpreter prints in its own messages ("'...' object has no attribute 'x'",
    // "... is not subscriptable"); the stdlib's class prints plain 'FileWrapper'.
    // `__module__` (already "wsgiref_rs.util"), `__name__` and `__qualname__` live
    // elsewhere and are unaffected.
    let ty = m.py().get_type::<FileWrapper>();
    // SAFETY: `ty` is a live type object and we hold the GIL during module
    // initialisation, before any other code can see the type. `tp_name` is only a
    // pointer the interpreter reads for messages; the heap type keeps (and frees) its
    // own copy of the original name separately, so pointing `tp_name` at a 'static
    // C string leaks nothing and never dangles.
    unsafe {
        (*ty.as_type_ptr()).tp_name = c"FileWrapper".as_ptr();
    }
    Ok(())
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

    #[test]
    fn normpath_table() {
        // (input, expected) -- checked against posixpath.normpath
        let cases = [
            ("", "."),
            (".", "."),
            ("/", "/"),
            ("//", "//"),
            ("///", "/"),
            ("////a", "/a"),
            ("//a//b", "//a/b"),
            ("a/./b", "a/b"),
            ("a/../b", "b"),
            ("a/../..", ".."),
            ("../a", "../a"),
            ("../../a/..", "../.."),
            ("/..", "/"),
            ("/../a", "/a"),
            ("//..", "//"),
            ("a/", "a"),
            ("a/b/../../..", ".."),
            ("/a/\u{0}/../b", "/a/b"),
            ("x/\u{e9}/.", "x/\u{e9}"),
            ("...", "..."),
        ];
        for (input, expected) in cases {
            assert_eq!(normpath(input), expected, "{input:?}");
        }
    }

    #[test]
    fn split_first_segment_table() {
        // (PATH_INFO, Some((name, remaining PATH_INFO)) or None for IndexError)
        let cases: [(&str, Option<(&str, &str)>); 12] = [
            ("abc", None),
            ("/", Some(("", ""))),
            ("/a", Some(("a", ""))),
            ("/a/", Some(("a", "/"))),
            ("/a/b", Some(("a", "/b"))),
            ("//a", Some(("a", ""))),
            ("/./a", Some(("a", ""))),
            ("/.", Some((".", ""))),
            ("/a/./b/", Some(("a", "/b/"))),
            ("x/y/z", Some(("y", "x/z"))),
            ("/..//x", Some(("..", "/x"))),
            ("///", Some(("", ""))),
        ];
        for (input, expected) in cases {
            let got = split_first_segment(input);
            let got = got.as_ref().map(|(n, r)| (*n, r.as_str()));
            assert_eq!(got, expected, "{input:?}");
        }
    }

    #[test]
    fn shifted_script_name_table() {
        // (SCRIPT_NAME, name, new SCRIPT_NAME)
        let cases = [
            ("", "a", "/a"),
            ("", "", "/"),
            ("/a", "", "/a/"),
            ("/a", "b", "/a/b"),
            ("", ".", ""),
            ("/a", "..", ""),
            ("a", "..", "."),
            ("/", "", "/"),
            ("//", "x", "/x"),
            ("", "..", ""),
            ("..", "..", "../.."),
        ];
        for (script_name, name, expected) in cases {
            assert_eq!(
                shifted_script_name(script_name, name),
                expected,
                "{script_name:?} {name:?}"
            );
        }
    }

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

    #[test]
    fn https_flag_table() {
        // (HTTPS value, https?)
        let cases = [
            ("yes", true),
            ("on", true),
            ("1", true),
            ("YES", false),
            ("", false),
            ("off", false),
        ];
        for (value, expected) in cases {
            assert_eq!(https_flag(value), expected, "{value:?}");
        }
    }
}
