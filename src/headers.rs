//! `wsgiref.headers`: the `Headers` response-header collection.
//!
//! `Headers` wraps a caller's list of `(name, value)` tuples (the very list object, so changes
//! made through either side are seen by the other) and looks names up case-insensitively.
//! Behaviour follows the standard library class of the newest CPython, including its check that
//! names and values hold no control characters.
//!
//! Speed comes from a fast path for the overwhelmingly common data (exact 2-tuples of exact,
//! ASCII `str`) on an instance of exactly this class. Anything else (odd list items, non-ASCII
//! names, subclasses that override `get` or `_convert_string_type`) goes through the interpreter
//! so the result is the one Python code would give.
//!
//! Other Rust code (the handlers) uses the `pub` functions at the bottom of this file.

use std::cell::OnceCell;

use parking_lot::Mutex;
use pyo3::basic::CompareOp;
use pyo3::exceptions::{PyAssertionError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use crate::pyhelpers::exact_str;

/// Message of the `ValueError` raised for a control character in a name or value.
const CONTROL_CHARS_MESSAGE: &str = "Control characters not allowed in headers";
/// Message of the `TypeError` raised when `Headers()` is given something other than a list.
const NOT_A_LIST_MESSAGE: &str = "Headers must be a list of name/value tuples";
/// Template (for Python's `str.format`) of the `AssertionError` raised for a non-`str`.
const NOT_STR_TEMPLATE: &str = "Header names/values must be of type str (got {0})";

// ---------------------------------------------------------------------------------------------
// Pure string logic.
// ---------------------------------------------------------------------------------------------

/// True if `s` holds a character that is not allowed in a header name (`is_name`) or value:
/// any of U+0000..U+001F or U+007F, except that a value may hold a horizontal tab.
pub fn has_control_chars(s: &str, is_name: bool) -> bool {
    // Control characters are ASCII, and UTF-8 never uses ASCII bytes inside a multi-byte
    // character, so a byte scan is exact.
    s.bytes()
        .any(|b| b == 0x7f || (b < 0x20 && (is_name || b != b'\t')))
}

/// Appends the Python `repr()` of the ASCII string `s` to `out`.
///
/// Python picks single quotes unless the text holds a single quote and no double quote;
/// it escapes the chosen quote, the backslash, `\t`, `\n`, `\r` and other control characters
/// (as `\xhh`, lowercase hex). The caller guarantees `s.is_ascii()`.
fn push_ascii_repr(out: &mut String, s: &str) {
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
fn push_param_key(out: &mut String, key: &str) {
    for c in key.chars() {
        out.push(if c == '_' { '-' } else { c });
    }
}

/// Appends a MIME parameter `key="value"` (key with dashes for underscores; backslash and
/// double quote in the value escaped with a backslash). An empty value gives the bare key.
fn push_param(out: &mut String, key: &str, value: &str) {
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

/// `item[index]`, fast for an exact tuple long enough, else through the interpreter.
/// The flag says whether Python code may have run.
fn item_at<'py>(item: &Bound<'py, PyAny>, index: usize) -> PyResult<(Bound<'py, PyAny>, bool)> {
    if let Ok(t) = item.cast_exact::<PyTuple>() {
        if t.len() > index {
            return Ok((t.get_item(index)?, false));
        }
    }
    Ok((item.get_item(index)?, true))
}

/// The `AssertionError` the standard library raises for a name or value that is not a `str`.
fn not_str_error(value: &Bound<'_, PyAny>) -> PyErr {
    let py = value.py();
    let message = value.repr().and_then(|r| {
        PyString::new(py, NOT_STR_TEMPLATE).call_method1(intern!(py, "format"), (r,))
    });
    match message {
        Ok(m) => PyAssertionError::new_err(m.unbind()),
        Err(e) => e,
    }
}

/// The base class's own check: `value` must be an exact `str` without control characters.
fn check_header_str(value: &Bound<'_, PyAny>, is_name: bool) -> PyResult<()> {
    let Ok(s) = value.cast_exact::<PyString>() else {
        return Err(not_str_error(value));
    };
    let bad = match s.to_str() {
        Ok(text) => has_control_chars(text, is_name),
        // Lone surrogates: the lossy form keeps every ASCII character in place.
        Err(_) => has_control_chars(&s.to_string_lossy(), is_name),
    };
    if bad {
        Err(PyValueError::new_err(CONTROL_CHARS_MESSAGE))
    } else {
        Ok(())
    }
}

/// A method of the base class that the standard library's code reaches through `self`, so that
/// a subclass (or a patch of the class) can replace it.
struct BaseAttr {
    name: &'static str,
    /// The interned name.
    key: PyOnceLock<Py<PyString>>,
    /// The base class's own attribute.
    ours: PyOnceLock<Py<PyAny>>,
}

impl BaseAttr {
    const fn new(name: &'static str) -> Self {
        BaseAttr {
            name,
            key: PyOnceLock::new(),
            ours: PyOnceLock::new(),
        }
    }

    fn key<'py>(&self, py: Python<'py>) -> &Bound<'py, PyString> {
        self.key
            .get_or_init(py, || PyString::intern(py, self.name).unbind())
            .bind(py)
    }
}

static GET: BaseAttr = BaseAttr::new("get");
static CONVERT: BaseAttr = BaseAttr::new("_convert_string_type");
static DELITEM: BaseAttr = BaseAttr::new("__delitem__");
static SETITEM: BaseAttr = BaseAttr::new("__setitem__");
static CONTAINS: BaseAttr = BaseAttr::new("__contains__");
static SETDEFAULT: BaseAttr = BaseAttr::new("setdefault");
static STR: BaseAttr = BaseAttr::new("__str__");
static BYTES: BaseAttr = BaseAttr::new("__bytes__");

/// Whether the class of `slf` still has the base class's `attr` (neither overridden by a
/// subclass nor replaced on the class), so the Rust code may run instead of a Python lookup.
/// Attributes set on the instance itself are not looked at.
fn inherits(slf: &Bound<'_, Headers>, attr: &BaseAttr) -> PyResult<bool> {
    let py = slf.py();
    let key = attr.key(py);
    let ours = attr.ours.get_or_try_init(py, || {
        py.get_type::<Headers>().getattr(key).map(Bound::unbind)
    })?;
    Ok(slf.get_type().getattr(key)?.is(ours))
}

/// How names and values are checked: natively, or through a subclass's own
/// `_convert_string_type`, whose return value then replaces the checked value.
enum Conv<'py> {
    Native,
    Dispatch(Bound<'py, PyAny>),
}

impl<'py> Conv<'py> {
    fn of(slf: &Bound<'py, Headers>) -> PyResult<Self> {
        if inherits(slf, &CONVERT)? {
            Ok(Conv::Native)
        } else {
            Ok(Conv::Dispatch(slf.clone().into_any()))
        }
    }

    fn is_native(&self) -> bool {
        matches!(self, Conv::Native)
    }

    /// `self._convert_string_type(value, name=is_name)`.
    fn convert(&self, value: Bound<'py, PyAny>, is_name: bool) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Conv::Native => {
                check_header_str(&value, is_name)?;
                Ok(value)
            }
            Conv::Dispatch(obj) => {
                let py = obj.py();
                let kwargs = PyDict::new(py);
                kwargs.set_item(intern!(py, "name"), is_name)?;
                obj.call_method(intern!(py, "_convert_string_type"), (value,), Some(&kwargs))
            }
        }
    }
}

/// A looked-up name, lowered and checked, ready to compare with the keys of the list.
struct Needle<'py> {
    /// The name to compare against, as Python would (`name.lower()` after the check), built on
    /// demand when `text` is set.
    obj: OnceCell<Bound<'py, PyAny>>,
    /// An exact, valid-UTF-8 `str` whose ASCII-lowercased form is the lowered name: either the
    /// caller's ASCII name, or a lowered name without ASCII capitals. `None` when the lowered
    /// name is something else, which is then compared with Python `==`.
    text: Option<Bound<'py, PyString>>,
}

impl<'py> Needle<'py> {
    /// `conv(name.lower(), name=True)`, the first step of `get`, `get_all` and `__delitem__`.
    fn new(conv: &Conv<'py>, name: &Bound<'py, PyAny>) -> PyResult<Self> {
        let py = name.py();
        if conv.is_native() {
            if let Ok(s) = name.cast_exact::<PyString>() {
                if let Ok(text) = s.to_str() {
                    if text.is_ascii() {
                        if has_control_chars(text, true) {
                            return Err(PyValueError::new_err(CONTROL_CHARS_MESSAGE));
                        }
                        return Ok(Needle {
                            obj: OnceCell::new(),
                            text: Some(s.clone()),
                        });
                    }
                }
            }
        }
        let lowered = name.call_method0(intern!(py, "lower"))?;
        let converted = conv.convert(lowered, true)?;
        let text = converted
            .cast_exact::<PyString>()
            .ok()
            .filter(|s| {
                s.to_str()
                    .is_ok_and(|t| !t.bytes().any(|b| b.is_ascii_uppercase()))
            })
            .cloned();
        Ok(Needle {
            obj: OnceCell::from(converted),
            text,
        })
    }

    /// The lowered name as a Python object.
    fn object(&self, py: Python<'py>) -> PyResult<&Bound<'py, PyAny>> {
        if let Some(obj) = self.obj.get() {
            return Ok(obj);
        }
        let lowered = match &self.text {
            Some(t) => PyString::new(py, &t.to_str()?.to_ascii_lowercase()).into_any(),
            None => return Err(PyValueError::new_err("internal: needle without a name")),
        };
        Ok(self.obj.get_or_init(|| lowered))
    }

    /// The truth of `key.lower() == name` (`op` Eq) or `key.lower() != name` (`op` Ne).
    /// `text` is `self.text` as a `&str`, fetched once by the caller. Sets `*ran_python` when
    /// Python code other than built-in `str` methods may have run.
    fn compare(
        &self,
        key: &Bound<'py, PyAny>,
        text: Option<&str>,
        op: CompareOp,
        ran_python: &mut bool,
    ) -> PyResult<bool> {
        let py = key.py();
        let mut key_lowered = None;
        if let (Some(text), Ok(key_str)) = (text, key.cast_exact::<PyString>()) {
            if let Ok(k) = key_str.to_str() {
                let equal = if k.is_ascii() {
                    Some(k.eq_ignore_ascii_case(text))
                } else {
                    // `str.lower` of an exact str: never has ASCII capitals.
                    let lowered = key_str.call_method0(intern!(py, "lower"))?;
                    let equal = lowered
                        .cast_exact::<PyString>()
                        .ok()
                        .and_then(|l| l.to_str().ok().map(|l| l.eq_ignore_ascii_case(text)));
                    key_lowered = Some(lowered);
                    equal
                };
                if let Some(equal) = equal {
                    return Ok(if matches!(op, CompareOp::Eq) {
                        equal
                    } else {
                        !equal
                    });
                }
            }
        }
        // General case: run the comparison in Python (which may run user code).
        *ran_python = true;
        let lowered = match key_lowered {
            Some(l) => l,
            None => key.call_method0(intern!(py, "lower"))?,
        };
        let result = lowered.rich_compare(self.object(py)?, op)?;
        result.is_truthy()
    }
}

// ---------------------------------------------------------------------------------------------
// The class.
// ---------------------------------------------------------------------------------------------

/// Manage a collection of HTTP response headers.
///
/// Wraps the list of (name, value) tuples it is given (the very list, not a copy); names are
/// compared case-insensitively and the order of the list is kept.
#[pyclass(
    frozen,
    sequence,
    subclass,
    dict,
    weakref,
    module = "wsgiref_rs.headers"
)]
pub struct Headers {
    headers: Mutex<Py<PyList>>,
}

impl Headers {
    /// A new `Headers` wrapping `list` (no checks: Rust callers know their data).
    pub fn wrap(list: Bound<'_, PyList>) -> Self {
        Headers {
            headers: Mutex::new(list.unbind()),
        }
    }

    /// The wrapped list (the very object, so changes to it are changes to the headers).
    pub fn list<'py>(&self, py: Python<'py>) -> Bound<'py, PyList> {
        self.headers.lock().bind(py).clone()
    }

    /// Makes `list` the wrapped list.
    pub fn set_list(&self, list: Bound<'_, PyList>) {
        let old = std::mem::replace(&mut *self.headers.lock(), list.unbind());
        // The old list is released after the lock, as its destruction may run Python code.
        drop(old);
    }
}

/// `self.get(name)`: the base method, or a subclass's override.
fn get_dispatch<'py>(
    slf: &Bound<'py, Headers>,
    name: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = slf.py();
    if inherits(slf, &GET)? {
        get_impl(slf, name, None)
    } else {
        slf.call_method1(intern!(py, "get"), (name,))
    }
}

/// The base class's `get`.
fn get_impl<'py>(
    slf: &Bound<'py, Headers>,
    name: &Bound<'py, PyAny>,
    default: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = slf.py();
    let conv = Conv::of(slf)?;
    let needle = Needle::new(&conv, name)?;
    let list = slf.get().list(py);
    let text = needle.text.as_ref().and_then(|t| t.to_str().ok());
    let mut ran_python = false;
    let mut i = 0;
    while i < list.len() {
        let item = list.get_item(i)?;
        i += 1;
        let (key, value) = crate::pyhelpers::unpack_pair(&item)?;
        if needle.compare(&key, text, CompareOp::Eq, &mut ran_python)? {
            return Ok(value);
        }
    }
    Ok(default.unwrap_or_else(|| py.None().into_bound(py)))
}

/// The base class's `__delitem__`: removes every header named `name`, rewriting the list in
/// place.
fn delitem_impl<'py>(slf: &Bound<'py, Headers>, name: &Bound<'py, PyAny>) -> PyResult<()> {
    let py = slf.py();
    let conv = Conv::of(slf)?;
    let needle = Needle::new(&conv, name)?;
    let list = slf.get().list(py);
    let text = needle.text.as_ref().and_then(|t| t.to_str().ok());
    let mut ran_python = false;
    let mut kept = Vec::with_capacity(list.len());
    let mut removed = false;
    let mut i = 0;
    while i < list.len() {
        let item = list.get_item(i)?;
        i += 1;
        let (key, ran) = item_at(&item, 0)?;
        ran_python |= ran;
        if needle.compare(&key, text, CompareOp::Ne, &mut ran_python)? {
            kept.push(item);
        } else {
            removed = true;
        }
    }
    // With no removal and no Python code run, the list is unchanged: skip the rewrite.
    if removed || ran_python {
        let kept = PyList::new(py, kept)?;
        slf.get().list(py).set_slice(0, usize::MAX, &kept)?;
    }
    Ok(())
}

/// `del self[name]`: the base method, or a subclass's override.
fn delitem_dispatch<'py>(slf: &Bound<'py, Headers>, name: &Bound<'py, PyAny>) -> PyResult<()> {
    if inherits(slf, &DELITEM)? {
        delitem_impl(slf, name)
    } else {
        slf.as_any().del_item(name)
    }
}

/// `"%s: %s" % kv` lines joined by CRLF plus the blank line, built in Rust when every item is
/// an exact 2-tuple of exact `str` (valid UTF-8); `None` otherwise.
fn render_fast(list: &Bound<'_, PyList>) -> Option<String> {
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
fn render<'py>(list: &Bound<'py, PyList>) -> PyResult<Bound<'py, PyAny>> {
    let py = list.py();
    if let Some(text) = render_fast(list) {
        return Ok(PyString::new(py, &text).into_any());
    }
    let format = intern!(py, "%s: %s");
    let lines = PyList::empty(py);
    let mut i = 0;
    while i < list.len() {
        let item = list.get_item(i)?;
        i += 1;
        lines.append(format.rem(&item)?)?;
    }
    let empty = intern!(py, "");
    lines.append(empty)?;
    lines.append(empty)?;
    intern!(py, "\r\n").call_method1(intern!(py, "join"), (lines,))
}

/// The `repr()` of the list, built in Rust when every item is an exact 2-tuple of exact `str`;
/// `None` otherwise. Non-ASCII strings get Python's own `repr`.
fn list_repr_fast(list: &Bound<'_, PyList>) -> PyResult<Option<String>> {
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

/// The text of `value` if it passes the base class's check: `Some` for valid UTF-8, `None` for
/// an exact `str` holding lone surrogates; the check's error otherwise.
fn checked_text<'a>(value: &'a Bound<'_, PyAny>, is_name: bool) -> PyResult<Option<&'a str>> {
    check_header_str(value, is_name)?;
    Ok(exact_str(value))
}

/// The value `add_header` builds, for the base class's checks, built in Rust. Raises what the
/// checks raise, in the same order; `None` if a string is not valid UTF-8 (the caller then
/// starts again through Python: these checks change nothing, so running them twice is safe).
fn add_header_text(
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

#[pymethods]
impl Headers {
    /// Creates an empty instance; `__init__` sets the list.
    ///
    /// Holds the GIL (no I/O).
    #[new]
    #[pyo3(signature = (*_args, **_kwargs), text_signature = "(headers=None)")]
    fn __new__(
        py: Python<'_>,
        _args: &Bound<'_, PyTuple>,
        _kwargs: Option<&Bound<'_, PyDict>>,
    ) -> Self {
        Headers::wrap(PyList::empty(py))
    }

    /// Wraps `headers`, a list of (name, value) tuples (a new empty list if None), and checks
    /// that every name and value is a str without control characters (unless run with -O).
    ///
    /// Holds the GIL (no I/O).
    #[pyo3(signature = (headers=None))]
    fn __init__(slf: &Bound<'_, Self>, headers: Option<Bound<'_, PyAny>>) -> PyResult<()> {
        let py = slf.py();
        let list = match headers {
            None => PyList::empty(py),
            Some(h) if h.is_exact_instance_of::<PyList>() => h.cast_into::<PyList>()?,
            Some(_) => return Err(PyTypeError::new_err(NOT_A_LIST_MESSAGE)),
        };
        slf.get().set_list(list.clone());
        if crate::pyhelpers::debug_enabled(py) {
            let conv = Conv::of(slf)?;
            let mut i = 0;
            while i < list.len() {
                let item = list.get_item(i)?;
                i += 1;
                let (key, value) = crate::pyhelpers::unpack_pair(&item)?;
                conv.convert(key, true)?;
                conv.convert(value, false)?;
            }
        }
        Ok(())
    }

    /// The wrapped list of (name, value) tuples (the very object).
    ///
    /// Holds the GIL (no I/O).
    #[getter(_headers)]
    fn get_headers<'py>(slf: &Bound<'py, Self>) -> Bound<'py, PyList> {
        slf.get().list(slf.py())
    }

    /// Replaces the wrapped list (must be a list).
    ///
    /// Holds the GIL (no I/O).
    #[setter(_headers)]
    fn set_headers(slf: &Bound<'_, Self>, value: Bound<'_, PyAny>) -> PyResult<()> {
        match value.cast_into::<PyList>() {
            Ok(list) => {
                slf.get().set_list(list);
                Ok(())
            }
            Err(_) => Err(PyTypeError::new_err("_headers must be a list")),
        }
    }

    /// Returns `value` if it is a str (not a subclass) without control characters (HTAB is
    /// allowed in values, not in names); raises AssertionError or ValueError otherwise.
    ///
    /// Holds the GIL (no I/O).
    #[pyo3(signature = (value, *, name))]
    fn _convert_string_type<'py>(
        _slf: &Bound<'py, Self>,
        value: Bound<'py, PyAny>,
        name: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        check_header_str(&value, name.is_truthy()?)?;
        Ok(value)
    }

    /// Returns the number of headers, duplicates included.
    ///
    /// Holds the GIL (no I/O).
    fn __len__(slf: &Bound<'_, Self>) -> usize {
        slf.get().list(slf.py()).len()
    }

    /// Replaces every header named `name` (any case) with one `(name, val)` at the end.
    ///
    /// Holds the GIL (no I/O).
    fn __setitem__<'py>(
        slf: &Bound<'py, Self>,
        name: Bound<'py, PyAny>,
        val: Bound<'py, PyAny>,
    ) -> PyResult<()> {
        let py = slf.py();
        delitem_dispatch(slf, &name)?;
        let list = slf.get().list(py);
        let conv = Conv::of(slf)?;
        let name = conv.convert(name, true)?;
        let val = conv.convert(val, false)?;
        list.append(PyTuple::new(py, [name, val])?)
    }

    /// Removes every header named `name` (any case); no error if there is none.
    ///
    /// Holds the GIL (no I/O).
    fn __delitem__<'py>(slf: &Bound<'py, Self>, name: Bound<'py, PyAny>) -> PyResult<()> {
        delitem_impl(slf, &name)
    }

    /// Returns the value of the first header named `name` (any case), or None.
    ///
    /// Holds the GIL (no I/O).
    fn __getitem__<'py>(
        slf: &Bound<'py, Self>,
        name: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        get_dispatch(slf, &name)
    }

    /// Returns whether a header named `name` (any case) has a value other than None.
    ///
    /// Holds the GIL (no I/O).
    fn __contains__<'py>(slf: &Bound<'py, Self>, name: Bound<'py, PyAny>) -> PyResult<bool> {
        Ok(!get_dispatch(slf, &name)?.is_none())
    }

    /// Returns the values of all headers named `name` (any case), in list order.
    ///
    /// Holds the GIL (no I/O).
    fn get_all<'py>(
        slf: &Bound<'py, Self>,
        name: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let py = slf.py();
        let conv = Conv::of(slf)?;
        let needle = Needle::new(&conv, &name)?;
        let list = slf.get().list(py);
        let text = needle.text.as_ref().and_then(|t| t.to_str().ok());
        let mut ran_python = false;
        let mut values = Vec::new();
        let mut i = 0;
        while i < list.len() {
            let item = list.get_item(i)?;
            i += 1;
            let (key, _) = item_at(&item, 0)?;
            if needle.compare(&key, text, CompareOp::Eq, &mut ran_python)? {
                values.push(item_at(&item, 1)?.0);
            }
        }
        PyList::new(py, values)
    }

    /// Returns the value of the first header named `name` (any case), or `default`.
    ///
    /// Holds the GIL (no I/O).
    #[pyo3(signature = (name, default=None))]
    fn get<'py>(
        slf: &Bound<'py, Self>,
        name: Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        get_impl(slf, &name, default)
    }

    /// Returns a new list of all header names, in order, duplicates included.
    ///
    /// Holds the GIL (no I/O).
    fn keys<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyList>> {
        pick(slf, 0)
    }

    /// Returns a new list of all header values, in order, duplicates included.
    ///
    /// Holds the GIL (no I/O).
    fn values<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyList>> {
        pick(slf, 1)
    }

    /// Returns a copy of the list of (name, value) tuples.
    ///
    /// Holds the GIL (no I/O).
    fn items<'py>(slf: &Bound<'py, Self>) -> Bound<'py, PyList> {
        let list = slf.get().list(slf.py());
        list.get_slice(0, list.len())
    }

    /// Returns `ClassName([...list...])`, with the runtime class name.
    ///
    /// Holds the GIL (no I/O).
    fn __repr__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let list = slf.get().list(py);
        let class_name = if slf.is_exact_instance_of::<Headers>() {
            intern!(py, "Headers").clone().into_any()
        } else {
            slf.getattr(intern!(py, "__class__"))?
                .getattr(intern!(py, "__name__"))?
        };
        if let Some(name) = exact_str(&class_name) {
            if let Some(body) = list_repr_fast(&list)? {
                let mut out = String::with_capacity(name.len() + body.len() + 2);
                out.push_str(name);
                out.push('(');
                out.push_str(&body);
                out.push(')');
                return Ok(PyString::new(py, &out).into_any());
            }
        }
        let args = PyTuple::new(py, [class_name, list.into_any()])?;
        intern!(py, "%s(%r)").rem(args)
    }

    /// Returns the headers as `Name: value` lines, each ending in CRLF, then a blank line.
    ///
    /// Holds the GIL (no I/O).
    fn __str__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        render(&slf.get().list(slf.py()))
    }

    /// Returns `str(self)` encoded as ISO-8859-1.
    ///
    /// Holds the GIL (no I/O).
    fn __bytes__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let text = if inherits(slf, &STR)? {
            let list = slf.get().list(py);
            if let Some(text) = render_fast(&list) {
                if let Some(bytes) = crate::latin1::encode(&text) {
                    return Ok(PyBytes::new(py, &bytes).into_any());
                }
                PyString::new(py, &text).into_any()
            } else {
                render(&list)?
            }
        } else {
            slf.str()?.into_any()
        };
        text.call_method1(intern!(py, "encode"), (intern!(py, "iso-8859-1"),))
    }

    /// Returns the value of the first header named `name` (any case); if there is none, appends
    /// `(name, value)` and returns `value`.
    ///
    /// Holds the GIL (no I/O).
    fn setdefault<'py>(
        slf: &Bound<'py, Self>,
        name: Bound<'py, PyAny>,
        value: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let found = get_dispatch(slf, &name)?;
        if !found.is_none() {
            return Ok(found);
        }
        let list = slf.get().list(py);
        let conv = Conv::of(slf)?;
        let name = conv.convert(name, true)?;
        let checked = conv.convert(value.clone(), false)?;
        list.append(PyTuple::new(py, [name, checked])?)?;
        Ok(value)
    }

    /// Appends header `_name` with value `_value` (may be None) followed by MIME parameters
    /// from the keywords: underscores become dashes, a None value gives the bare key, any
    /// other value is written `key="value"` with backslash and double quote escaped.
    ///
    /// Holds the GIL (no I/O).
    #[pyo3(signature = (_name, _value, **_params))]
    fn add_header<'py>(
        slf: &Bound<'py, Self>,
        _name: Bound<'py, PyAny>,
        _value: Bound<'py, PyAny>,
        _params: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<()> {
        let py = slf.py();
        let conv = Conv::of(slf)?;
        if conv.is_native() {
            if let Some(joined) = add_header_text(&_name, &_value, _params)? {
                let list = slf.get().list(py);
                let joined = PyString::new(py, &joined);
                return list.append(PyTuple::new(py, [_name, joined.into_any()])?);
            }
        }
        // General case (a subclass's own check, or strings that are not valid UTF-8).
        let parts = PyList::empty(py);
        if !_value.is_none() {
            parts.append(conv.convert(_value, false)?)?;
        }
        if let Some(params) = _params {
            for (key, value) in params.iter() {
                let key = conv.convert(key, true)?;
                let dashed = |key: &Bound<'py, PyAny>| {
                    key.call_method1(intern!(py, "replace"), (intern!(py, "_"), intern!(py, "-")))
                };
                if value.is_none() {
                    parts.append(dashed(&key)?)?;
                } else {
                    let value = conv.convert(value, false)?;
                    let format_param = crate::pyhelpers::format_param(py)?;
                    parts.append(format_param.call1((dashed(&key)?, value))?)?;
                }
            }
        }
        let list = slf.get().list(py);
        let name = conv.convert(_name, true)?;
        let joined = intern!(py, "; ").call_method1(intern!(py, "join"), (parts,))?;
        list.append(PyTuple::new(py, [name, joined])?)
    }

    /// Returns the state for copy and pickle: the instance dict (or None) and the list.
    ///
    /// Holds the GIL (no I/O).
    fn __getstate__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let dict = slf.getattr(intern!(py, "__dict__"))?;
        let dict = if dict.is_truthy()? {
            dict
        } else {
            py.None().into_bound(py)
        };
        let slots = PyDict::new(py);
        slots.set_item(intern!(py, "_headers"), slf.get().list(py))?;
        PyTuple::new(py, [dict, slots.into_any()])
    }
}

/// `[k for k, v in list]` (`index` 0) or `[v for k, v in list]` (`index` 1).
fn pick<'py>(slf: &Bound<'py, Headers>, index: usize) -> PyResult<Bound<'py, PyList>> {
    let py = slf.py();
    let list = slf.get().list(py);
    let mut out = Vec::with_capacity(list.len());
    let mut i = 0;
    while i < list.len() {
        let item = list.get_item(i)?;
        i += 1;
        let (key, value) = crate::pyhelpers::unpack_pair(&item)?;
        out.push(if index == 0 { key } else { value });
    }
    PyList::new(py, out)
}

// ---------------------------------------------------------------------------------------------
// Rust API for the rest of the crate. Each call behaves like the Python expression named,
// honouring subclass overrides the way the standard library's code would.
// ---------------------------------------------------------------------------------------------

/// `headers.get(name)`: the first value for `name` (any case), `None` if absent or None.
/// Pass names made with `intern!` to avoid an allocation per call.
pub fn get_first<'py>(
    headers: &Bound<'py, Headers>,
    name: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let value = get_dispatch(headers, name)?;
    Ok(if value.is_none() { None } else { Some(value) })
}

/// `name in headers`.
pub fn contains<'py>(headers: &Bound<'py, Headers>, name: &Bound<'py, PyAny>) -> PyResult<bool> {
    if inherits(headers, &CONTAINS)? {
        Ok(!get_dispatch(headers, name)?.is_none())
    } else {
        headers.as_any().contains(name)
    }
}

/// `headers[name] = value`.
pub fn set<'py>(
    headers: &Bound<'py, Headers>,
    name: &Bound<'py, PyAny>,
    value: &Bound<'py, PyAny>,
) -> PyResult<()> {
    if inherits(headers, &SETITEM)? {
        Headers::__setitem__(headers, name.clone(), value.clone())
    } else {
        headers.as_any().set_item(name, value)
    }
}

/// `headers.setdefault(name, value)`.
pub fn set_default<'py>(
    headers: &Bound<'py, Headers>,
    name: &Bound<'py, PyAny>,
    value: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    if inherits(headers, &SETDEFAULT)? {
        Headers::setdefault(headers, name.clone(), value.clone())
    } else {
        headers.call_method1(SETDEFAULT.key(headers.py()), (name, value))
    }
}

/// `len(headers)`.
pub fn len(headers: &Bound<'_, Headers>) -> PyResult<usize> {
    headers.as_any().len()
}

/// `bytes(headers)`: the header block as sent on the wire.
pub fn to_bytes<'py>(headers: &Bound<'py, Headers>) -> PyResult<Bound<'py, PyBytes>> {
    let py = headers.py();
    let bytes = if inherits(headers, &BYTES)? {
        Headers::__bytes__(headers)?
    } else {
        py.get_type::<PyBytes>().call1((headers,))?
    };
    Ok(bytes.cast_into::<PyBytes>()?)
}

/// `[(k, v) for k, v in headers._headers]`: the pairs, in order.
pub fn pairs<'py>(
    headers: &Bound<'py, Headers>,
) -> PyResult<Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>> {
    let list = headers.get().list(headers.py());
    let mut out = Vec::with_capacity(list.len());
    let mut i = 0;
    while i < list.len() {
        let item = list.get_item(i)?;
        i += 1;
        out.push(crate::pyhelpers::unpack_pair(&item)?);
    }
    Ok(out)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Headers>()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_chars() {
        // (text, as a name, as a value)
        let cases: &[(&str, bool, bool)] = &[
            ("Content-Type", false, false),
            ("", false, false),
            ("a\tb", true, false),
            ("a\nb", true, true),
            ("a\rb", true, true),
            ("\x00", true, true),
            ("\x08", true, true),
            ("\x0a", true, true),
            ("\x1f", true, true),
            ("\x20", false, false),
            ("\x7f", true, true),
            ("\u{80}", false, false),
            ("\u{85}", false, false),
            ("caf\u{e9}", false, false),
            ("\u{212a}\x01", true, true),
            ("~", false, false),
        ];
        for &(text, name, value) in cases {
            assert_eq!(has_control_chars(text, true), name, "name {text:?}");
            assert_eq!(has_control_chars(text, false), value, "value {text:?}");
        }
    }

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

    #[test]
    fn latin1_encoding() {
        use crate::latin1::encode as latin1;
        let cases: &[(&str, Option<&[u8]>)] = &[
            ("", Some(b"")),
            ("abc", Some(b"abc")),
            ("caf\u{e9}", Some(b"caf\xe9")),
            ("\u{ff}", Some(b"\xff")),
            ("\u{100}", None),
            ("a\u{20ac}", None),
        ];
        for &(text, expected) in cases {
            assert_eq!(latin1(text).as_deref(), expected, "latin1 {text:?}");
        }
    }

    #[test]
    fn lookups_through_python() {
        Python::initialize();
        Python::attach(|py| -> PyResult<()> {
            let list = PyList::new(
                py,
                [
                    PyTuple::new(py, ["Content-Type", "text/plain"])?,
                    PyTuple::new(py, ["\u{212a}ey", "k\u{e9}lvin"])?,
                ],
            )?;
            let headers = Bound::new(py, Headers::wrap(list))?;
            let get = |name: &str| -> PyResult<Option<String>> {
                get_first(&headers, &PyString::new(py, name).into_any())?
                    .map(|v| v.extract::<String>())
                    .transpose()
            };
            // (name, expected value)
            let cases: &[(&str, Option<&str>)] = &[
                ("content-type", Some("text/plain")),
                ("CONTENT-TYPE", Some("text/plain")),
                ("content_type", None),
                ("key", Some("k\u{e9}lvin")),
                ("\u{212a}EY", Some("k\u{e9}lvin")),
                ("missing", None),
            ];
            for &(name, expected) in cases {
                assert_eq!(get(name)?.as_deref(), expected, "get {name:?}");
            }
            let name = PyString::new(py, "X-New").into_any();
            set(&headers, &name, &PyString::new(py, "1").into_any())?;
            assert_eq!(len(&headers)?, 3);
            assert!(contains(&headers, &PyString::new(py, "x-new").into_any())?);
            let text = Headers::__str__(&headers)?.extract::<String>()?;
            assert_eq!(
                text,
                "Content-Type: text/plain\r\n\u{212a}ey: k\u{e9}lvin\r\nX-New: 1\r\n\r\n"
            );
            // U+212A is not ISO-8859-1.
            assert!(to_bytes(&headers).is_err());
            set(
                &headers,
                &PyString::new(py, "KEY").into_any(),
                &PyString::new(py, "\u{e9}").into_any(),
            )?;
            let bytes = to_bytes(&headers)?;
            assert_eq!(
                bytes.as_bytes(),
                b"Content-Type: text/plain\r\nX-New: 1\r\nKEY: \xe9\r\n\r\n"
            );
            Ok(())
        })
        .unwrap();
    }
}
