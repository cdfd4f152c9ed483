//! The environ, reached as the stdlib reaches it.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

/// An environ: an exact `dict` is used directly; anything else (`dict` subclasses
/// included) through its own `get`, `__getitem__`, `__setitem__`, `__contains__` and
/// `setdefault`, called exactly as the stdlib calls them.
pub(crate) enum Environ<'a, 'py> {
    Dict(&'a Bound<'py, PyDict>),
    Other(&'a Bound<'py, PyAny>),
}

impl<'a, 'py> Environ<'a, 'py> {
    pub(crate) fn new(environ: &'a Bound<'py, PyAny>) -> Self {
        match environ.cast_exact::<PyDict>() {
            Ok(dict) => Environ::Dict(dict),
            Err(_) => Environ::Other(environ),
        }
    }

    /// `environ.get(key)`
    pub(super) fn get(&self, key: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Environ::Dict(d) => Ok(d
                .get_item(key)?
                .unwrap_or_else(|| d.py().None().into_bound(d.py()))),
            Environ::Other(o) => o.call_method1(intern!(o.py(), "get"), (key,)),
        }
    }

    /// `environ.get(key, default)`
    pub(super) fn get_or(
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
    pub(super) fn item(&self, key: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Environ::Dict(d) => d
                .get_item(key)?
                .ok_or_else(|| pyo3::exceptions::PyKeyError::new_err(key.clone().unbind())),
            Environ::Other(o) => o.get_item(key),
        }
    }

    /// `environ[key] = value`
    pub(crate) fn set(&self, key: &Bound<'py, PyString>, value: Bound<'py, PyAny>) -> PyResult<()> {
        match self {
            Environ::Dict(d) => d.set_item(key, value),
            Environ::Other(o) => o.set_item(key, value),
        }
    }

    /// `key in environ`
    pub(super) fn contains(&self, key: &Bound<'py, PyString>) -> PyResult<bool> {
        match self {
            Environ::Dict(d) => d.contains(key),
            Environ::Other(o) => o.contains(key),
        }
    }

    /// `environ.setdefault(key, value)`, result unused.
    pub(super) fn setdefault(
        &self,
        key: &Bound<'py, PyString>,
        value: &Bound<'py, PyAny>,
    ) -> PyResult<()> {
        match self {
            Environ::Dict(d) => d.set_default(key, value).map(drop),
            Environ::Other(o) => o
                .call_method1(intern!(o.py(), "setdefault"), (key, value))
                .map(drop),
        }
    }

    /// `environ.setdefault(key, make())`; an exact dict that already has the key
    /// skips `make` (nothing can tell the difference).
    pub(super) fn setdefault_with(
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
