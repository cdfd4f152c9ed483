//! `wsgiref.headers`: the `Headers` response-header collection.

use pyo3::prelude::*;

pub fn register(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}
