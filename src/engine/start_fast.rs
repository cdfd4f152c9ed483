//! The common `start_response` call checked in one native pass: an exact `str` status and an
//! exact list of exact `(str, str)` tuples that the standard library's checks all let through.
//! Anything else (a wrong type, a control character, a hop-by-hop name, a malformed status)
//! takes the standard path, which raises the standard library's error.

use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};

use crate::headers::has_control_chars;
use crate::pyhelpers::debug_enabled;
use crate::util::is_hop_by_hop_ascii;

/// The status and header pairs, when the standard checks would accept them unchanged.
pub fn accepted(
    status: &Bound<'_, PyAny>,
    headers: &Bound<'_, PyAny>,
) -> Option<(String, Vec<(String, String)>)> {
    let py = status.py();
    let checked = debug_enabled(py);
    let status = status.cast_exact::<PyString>().ok()?.to_str().ok()?;
    if checked && !status_ok(status) {
        return None;
    }
    let list = headers.cast_exact::<PyList>().ok()?;
    let mut pairs = Vec::with_capacity(list.len());
    for item in list.iter() {
        let pair = item.cast_exact::<PyTuple>().ok()?;
        if pair.len() != 2 {
            return None;
        }
        let name = text(&pair.get_item(0).ok()?)?;
        if !name.is_ascii() {
            // Compared with the hop-by-hop names through str.lower() on the standard path.
            return None;
        }
        let value = text(&pair.get_item(1).ok()?)?;
        if has_control_chars(&name, true) || has_control_chars(&value, false) {
            return None;
        }
        if checked && is_hop_by_hop_ascii(&name) {
            return None;
        }
        pairs.push((name, value));
    }
    Some((status.to_owned(), pairs))
}

fn text(value: &Bound<'_, PyAny>) -> Option<String> {
    Some(
        value
            .cast_exact::<PyString>()
            .ok()?
            .to_str()
            .ok()?
            .to_owned(),
    )
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
