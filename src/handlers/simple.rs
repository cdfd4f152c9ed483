//! `SimpleHandler`'s stream methods: input, errors, the base environ, and output.

use pyo3::exceptions::PyDeprecationWarning;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use super::support::{attr, set_attr};

/// `SimpleHandler.__init__`: the attributes CPython sets, in its order.
pub fn init(
    slf: &Bound<'_, PyAny>,
    [stdin, stdout, stderr, environ]: [&Bound<'_, PyAny>; 4],
    multithread: &Bound<'_, PyAny>,
    multiprocess: &Bound<'_, PyAny>,
) -> PyResult<()> {
    set_attr!(slf, "stdin", stdin)?;
    set_attr!(slf, "stdout", stdout)?;
    set_attr!(slf, "stderr", stderr)?;
    set_attr!(slf, "base_env", environ)?;
    set_attr!(slf, "wsgi_multithread", multithread)?;
    set_attr!(slf, "wsgi_multiprocess", multiprocess)
}

pub fn get_stdin<'py>(slf: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    attr!(slf, "stdin")
}

pub fn get_stderr<'py>(slf: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    attr!(slf, "stderr")
}

/// `self.environ.update(self.base_env)`.
pub fn add_cgi_vars(slf: &Bound<'_, PyAny>) -> PyResult<()> {
    let environ = attr!(slf, "environ")?;
    let base = attr!(slf, "base_env")?;
    if let (Ok(env), Ok(base)) = (environ.cast_exact::<PyDict>(), base.cast_exact::<PyDict>()) {
        return env.update(base.as_mapping());
    }
    environ.call_method1(pyo3::intern!(slf.py(), "update"), (base,))?;
    Ok(())
}

/// Writes `data` to `self.stdout`, insisting on the whole of it: a stream that writes only part
/// gets the rest again, with the stdlib's DeprecationWarning.
pub fn write(slf: &Bound<'_, PyAny>, data: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = slf.py();
    let stdout = attr!(slf, "stdout")?;
    let write = pyo3::intern!(py, "write");
    let mut result = stdout.call_method1(write, (data,))?;
    if result.is_none() || result.eq(data.len()?)? {
        return Ok(());
    }
    PyErr::warn(
        py,
        &py.get_type::<PyDeprecationWarning>(),
        c"SimpleHandler.stdout.write() should not do partial writes",
        1,
    )?;
    let mut data = data.clone();
    loop {
        data = data.get_item(slice_from(&result)?)?;
        if !data.is_truthy()? {
            return Ok(());
        }
        result = stdout.call_method1(write, (&data,))?;
    }
}

/// `slice(start, None)`, for `data[start:]` with whatever object the stream returned.
fn slice_from<'py>(start: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: PySlice_New takes borrowed references (NULL meaning None) and returns a new
    // reference or NULL with an exception set.
    unsafe {
        Bound::from_owned_ptr_or_err(
            start.py(),
            pyo3::ffi::PySlice_New(start.as_ptr(), std::ptr::null_mut(), std::ptr::null_mut()),
        )
    }
}

/// Writes bytes the handler produced itself (status line, headers, body chunks) to `self.stdout`.
pub fn write_bytes(slf: &Bound<'_, PyAny>, bytes: &[u8]) -> PyResult<()> {
    write(slf, PyBytes::new(slf.py(), bytes).as_any())
}

/// `self.stdout.flush()`; then, as in CPython, `self._flush` becomes the stream's own `flush`,
/// so later flushes go straight to it (and past any override of `_flush`).
pub fn flush(slf: &Bound<'_, PyAny>) -> PyResult<()> {
    let stdout = attr!(slf, "stdout")?;
    stdout.call_method0(pyo3::intern!(slf.py(), "flush"))?;
    let flush = stdout.getattr(pyo3::intern!(slf.py(), "flush"))?;
    set_attr!(slf, "_flush", flush)
}
