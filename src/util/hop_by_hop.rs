//! `is_hop_by_hop`: the HTTP/1.1 hop-by-hop header names, which a WSGI application may not
//! set (the handlers check every response header with it).

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PySet, PyString};

use crate::pep3333::header_fields::{is_hop_by_hop_ascii, is_hop_by_hop_lowered, HOP_BY_HOP};
use crate::pyhelpers::exact_str;

static HOP_BY_HOP_SET: PyOnceLock<Py<PySet>> = PyOnceLock::new();

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
