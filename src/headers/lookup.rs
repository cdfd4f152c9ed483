//! Finding headers by name, case-insensitively: the `Needle` a looked-up name becomes, and
//! the base class's `get`, `get_all` and `__delitem__` scans built on it.

use std::cell::OnceCell;

use pyo3::basic::CompareOp;
use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};

use super::checks::{Conv, CONTROL_CHARS_MESSAGE};
use super::instance::Headers;
use super::overrides::{inherits, DELITEM, GET};
use crate::pep3333::header_fields::has_control_chars;
use crate::pyhelpers::{live_items, live_pairs};

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

    /// `text` as Rust text, fetched once per scan for [`Needle::compare`].
    fn text_str(&self) -> Option<&str> {
        self.text.as_ref().and_then(|t| t.to_str().ok())
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

/// `self.get(name)`: the base method, or a subclass's override.
pub(super) fn get_dispatch<'py>(
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

/// What `get`, `get_all` and `__delitem__` begin with: the needle for `name` (checked by the
/// instance's own `_convert_string_type`) and the list to search.
fn search<'py>(
    slf: &Bound<'py, Headers>,
    name: &Bound<'py, PyAny>,
) -> PyResult<(Needle<'py>, Bound<'py, PyList>)> {
    let needle = Needle::new(&Conv::of(slf)?, name)?;
    Ok((needle, slf.get().list(slf.py())))
}

/// The base class's `get`.
pub(super) fn get_impl<'py>(
    slf: &Bound<'py, Headers>,
    name: &Bound<'py, PyAny>,
    default: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = slf.py();
    let (needle, list) = search(slf, name)?;
    let text = needle.text_str();
    let mut ran_python = false;
    for pair in live_pairs(&list) {
        let (key, value) = pair?;
        if needle.compare(&key, text, CompareOp::Eq, &mut ran_python)? {
            return Ok(value);
        }
    }
    Ok(default.unwrap_or_else(|| py.None().into_bound(py)))
}

/// The base class's `get_all`.
pub(super) fn get_all_impl<'py>(
    slf: &Bound<'py, Headers>,
    name: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    let py = slf.py();
    let (needle, list) = search(slf, name)?;
    let text = needle.text_str();
    let mut ran_python = false;
    let mut values = Vec::new();
    for item in live_items(&list) {
        let item = item?;
        let (key, _) = item_at(&item, 0)?;
        if needle.compare(&key, text, CompareOp::Eq, &mut ran_python)? {
            values.push(item_at(&item, 1)?.0);
        }
    }
    PyList::new(py, values)
}

/// The base class's `__delitem__`: removes every header named `name`, rewriting the list in
/// place.
pub(super) fn delitem_impl<'py>(
    slf: &Bound<'py, Headers>,
    name: &Bound<'py, PyAny>,
) -> PyResult<()> {
    let py = slf.py();
    let (needle, list) = search(slf, name)?;
    let text = needle.text_str();
    let mut ran_python = false;
    let mut kept = Vec::with_capacity(list.len());
    let mut removed = false;
    for item in live_items(&list) {
        let item = item?;
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
pub(super) fn delitem_dispatch<'py>(
    slf: &Bound<'py, Headers>,
    name: &Bound<'py, PyAny>,
) -> PyResult<()> {
    if inherits(slf, &DELITEM)? {
        delitem_impl(slf, name)
    } else {
        slf.as_any().del_item(name)
    }
}
