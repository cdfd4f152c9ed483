//! The common `start_response` call checked in one native pass: an exact `str` status and an
//! exact list of exact `(str, str)` tuples that the standard library's checks all let through.
//! Anything else (a wrong type, a control character, a hop-by-hop name, a malformed status)
//! takes the standard path, which raises the standard library's error.

use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};

use crate::engine::wsgi::response_head::StartedHead;
use crate::headers::has_control_chars;
use crate::pyhelpers::{debug_enabled, status_checked};
use crate::util::is_hop_by_hop_ascii;

/// Starts `head` with the status and headers when the standard checks would accept them
/// unchanged and all of them are ASCII; false (with `head` in any state) otherwise.
pub fn accepted(
    status: &Bound<'_, PyAny>,
    headers: &Bound<'_, PyAny>,
    head: &mut StartedHead,
) -> bool {
    accept(status, headers, head).is_some()
}

fn accept(
    status: &Bound<'_, PyAny>,
    headers: &Bound<'_, PyAny>,
    head: &mut StartedHead,
) -> Option<()> {
    let py = status.py();
    let status_checked = status_checked(py);
    let checked = debug_enabled(py);
    let status = status.cast_exact::<PyString>().ok()?.to_str().ok()?;
    if !status.is_ascii() || (status_checked && !status_ok(status)) {
        return None;
    }
    head.begin(status);
    let list = headers.cast_exact::<PyList>().ok()?;
    for item in list.iter() {
        let pair = item.cast_exact::<PyTuple>().ok()?;
        if pair.len() != 2 {
            return None;
        }
        let (name, value) = (pair.get_item(0).ok()?, pair.get_item(1).ok()?);
        let name = name.cast_exact::<PyString>().ok()?.to_str().ok()?;
        let value = value.cast_exact::<PyString>().ok()?.to_str().ok()?;
        // A non-ASCII name is compared with the hop-by-hop names through str.lower() on the
        // standard path; a non-ASCII value may be one Latin-1 cannot encode.
        if !name.is_ascii() || !value.is_ascii() {
            return None;
        }
        if has_control_chars(name, true) || has_control_chars(value, false) {
            return None;
        }
        if checked && is_hop_by_hop_ascii(name) {
            return None;
        }
        head.push(name, value);
    }
    Some(())
}

/// The standard library's three assertions on a status, for ASCII text.
fn status_ok(status: &str) -> bool {
    let b = status.as_bytes();
    status.is_ascii() && b.len() >= 4 && b[..3].iter().all(u8::is_ascii_digit) && b[3] == b' '
}

#[cfg(test)]
mod tests {
    use super::status_ok;

    #[test]
    fn statuses() {
        for (status, ok) in [
            ("200 OK", true),
            ("404 ", true),
            ("200", false),
            ("20x OK", false),
            ("200-OK", false),
            ("２00 OK", false),
        ] {
            assert_eq!(status_ok(status), ok, "{status}");
        }
    }
}
