//! Which of the base class's methods a subclass (or a patch of the class) replaced: the Rust
//! code runs a method only where Python code would have reached the base class's own.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyString;

use super::instance::Headers;

/// A method of the base class that the standard library's code reaches through `self`, so that
/// a subclass (or a patch of the class) can replace it.
pub(super) struct BaseAttr {
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

    pub(super) fn key<'py>(&self, py: Python<'py>) -> &Bound<'py, PyString> {
        self.key
            .get_or_init(py, || PyString::intern(py, self.name).unbind())
            .bind(py)
    }
}

pub(super) static GET: BaseAttr = BaseAttr::new("get");
pub(super) static CONVERT: BaseAttr = BaseAttr::new("_convert_string_type");
pub(super) static DELITEM: BaseAttr = BaseAttr::new("__delitem__");
pub(super) static SETITEM: BaseAttr = BaseAttr::new("__setitem__");
pub(super) static CONTAINS: BaseAttr = BaseAttr::new("__contains__");
pub(super) static SETDEFAULT: BaseAttr = BaseAttr::new("setdefault");
pub(super) static STR: BaseAttr = BaseAttr::new("__str__");
pub(super) static BYTES: BaseAttr = BaseAttr::new("__bytes__");

/// Whether the class of `slf` still has the base class's `attr` (neither overridden by a
/// subclass nor replaced on the class), so the Rust code may run instead of a Python lookup.
/// Attributes set on the instance itself are not looked at.
pub(super) fn inherits(slf: &Bound<'_, Headers>, attr: &BaseAttr) -> PyResult<bool> {
    let py = slf.py();
    let key = attr.key(py);
    let ours = attr.ours.get_or_try_init(py, || {
        py.get_type::<Headers>().getattr(key).map(Bound::unbind)
    })?;
    Ok(slf.get_type().getattr(key)?.is(ours))
}
