//! The checks `Headers` makes on every name and value: an exact `str` (an `AssertionError`
//! otherwise) without control characters (a `ValueError`), or whatever a subclass's own
//! `_convert_string_type` decides.

use pyo3::exceptions::{PyAssertionError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use super::instance::Headers;
use super::overrides::{inherits, CONVERT};
use crate::pep3333::header_fields::has_control_chars;
use crate::pyhelpers::exact_str;

/// Message of the `ValueError` raised for a control character in a name or value.
pub(super) const CONTROL_CHARS_MESSAGE: &str = "Control characters not allowed in headers";
/// Template (for Python's `str.format`) of the `AssertionError` raised for a non-`str`.
pub(super) const NOT_STR_TEMPLATE: &str = "Header names/values must be of type str (got {0})";

/// The `AssertionError` the standard library raises for a name or value that is not a `str`.
pub(super) fn not_str_error(value: &Bound<'_, PyAny>) -> PyErr {
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
pub(super) fn check_header_str(value: &Bound<'_, PyAny>, is_name: bool) -> PyResult<()> {
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

/// The text of `value` if it passes the base class's check: `Some` for valid UTF-8, `None` for
/// an exact `str` holding lone surrogates; the check's error otherwise.
pub(super) fn checked_text<'a>(
    value: &'a Bound<'_, PyAny>,
    is_name: bool,
) -> PyResult<Option<&'a str>> {
    check_header_str(value, is_name)?;
    Ok(exact_str(value))
}

/// How names and values are checked: natively, or through a subclass's own
/// `_convert_string_type`, whose return value then replaces the checked value.
pub(super) enum Conv<'py> {
    Native,
    Dispatch(Bound<'py, PyAny>),
}

impl<'py> Conv<'py> {
    pub(super) fn of(slf: &Bound<'py, Headers>) -> PyResult<Self> {
        if inherits(slf, &CONVERT)? {
            Ok(Conv::Native)
        } else {
            Ok(Conv::Dispatch(slf.clone().into_any()))
        }
    }

    pub(super) fn is_native(&self) -> bool {
        matches!(self, Conv::Native)
    }

    /// `self._convert_string_type(value, name=is_name)`.
    pub(super) fn convert(
        &self,
        value: Bound<'py, PyAny>,
        is_name: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
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
}
