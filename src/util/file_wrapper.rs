//! `FileWrapper`: a file-like object as an iterable of `read(blksize)` blocks.

use pyo3::exceptions::PyAttributeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyTuple};

use crate::pyhelpers::Given;

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

/// The `AttributeError` for deleting an attribute that is not set on `obj`: before Python 3.11
/// CPython names only the attribute.
fn missing_on_delete(obj: &Bound<'_, PyAny>, name: &str) -> PyErr {
    if cfg!(Py_3_11) {
        missing_attribute(obj, name)
    } else {
        PyAttributeError::new_err(name.to_owned())
    }
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
            None => Err(missing_on_delete(slf.as_any(), "filelike")),
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
            None => Err(missing_on_delete(slf.as_any(), "blksize")),
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

    /// Python 3.9 and 3.10 only (removed in 3.11): the next block, whatever `key` says, with
    /// the standard library's DeprecationWarning; IndexError at the end.
    ///
    /// Holds the GIL (no I/O of its own).
    #[cfg(not(Py_3_11))]
    fn __getitem__<'py>(
        slf: &Bound<'py, Self>,
        _key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let category = py.get_type::<pyo3::exceptions::PyDeprecationWarning>();
        // stacklevel 1 from native code is the caller's line, as the stdlib's 2 is from its
        // Python frame.
        PyErr::warn(
            py,
            &category,
            c"FileWrapper's __getitem__ method ignores 'key' parameter. Use iterator protocol instead.",
            1,
        )?;
        match Self::__next__(slf)? {
            Some(data) => Ok(data),
            None => Err(pyo3::exceptions::PyIndexError::new_err(())),
        }
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
