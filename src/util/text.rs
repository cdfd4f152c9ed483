//! Values being built: Rust text while every piece is an exact `str`, the Python object the
//! stdlib's expression would give as soon as one is not.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PySlice, PyString};

use crate::pyhelpers::exact_str;

static OPERATOR_IADD: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static SLICE_1_: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static SLICE__M1: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `slice(start, stop)` exactly as `x[start:stop]` builds it (step None), cached.
pub(super) fn cached_slice<'py>(
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

/// A value under construction: Rust text as long as every piece was an exact `str`,
/// otherwise the Python object the stdlib's expression would have produced.
pub(super) enum Text<'py> {
    Rust(String),
    Py(Bound<'py, PyAny>),
}

impl<'py> Text<'py> {
    /// Takes a Python value as the start of an expression.
    pub(super) fn of(value: Bound<'py, PyAny>) -> Self {
        match exact_str(&value) {
            Some(s) => Text::Rust(s.to_owned()),
            None => Text::Py(value),
        }
    }

    pub(super) fn into_object(self, py: Python<'py>) -> Bound<'py, PyAny> {
        match self {
            Text::Rust(s) => PyString::new(py, &s).into_any(),
            Text::Py(o) => o,
        }
    }

    /// `self + other`
    pub(super) fn add(self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Self> {
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
    pub(super) fn add_text(self, py: Python<'py>, other: &Text<'py>) -> PyResult<Self> {
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
    pub(super) fn iadd(&mut self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<()> {
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
    pub(super) fn iadd_text(&mut self, py: Python<'py>, other: Text<'py>) -> PyResult<()> {
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
    pub(super) fn truthy(&self) -> PyResult<bool> {
        match self {
            Text::Rust(s) => Ok(!s.is_empty()),
            Text::Py(o) => o.is_truthy(),
        }
    }

    /// `self == literal`, as an `if` tests it.
    pub(super) fn eq_str(&self, literal: &str) -> PyResult<bool> {
        match self {
            Text::Rust(s) => Ok(s == literal),
            Text::Py(o) => o.eq(literal),
        }
    }

    /// `self.endswith('/')`, as an `if` tests it.
    pub(super) fn ends_with_slash(&self) -> PyResult<bool> {
        match self {
            Text::Rust(s) => Ok(s.ends_with('/')),
            Text::Py(o) => o
                .call_method1(intern!(o.py(), "endswith"), (intern!(o.py(), "/"),))?
                .is_truthy(),
        }
    }

    /// `self[:-1]`
    pub(super) fn drop_last(self, py: Python<'py>) -> PyResult<Self> {
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
    pub(super) fn drop_first(self, py: Python<'py>) -> PyResult<Self> {
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
