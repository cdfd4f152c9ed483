//! The status and headers an application gave `start_response`, kept as they go out on the wire:
//! one buffer holds the status text and every `Name: value\r\n` line. The buffer goes back to
//! the connection after each response, so starting a response allocates nothing once the
//! connection has served one.
//!
//! [`accepted`] checks the common `start_response` call in one native pass: an exact `str`
//! status and an exact list of exact `(str, str)` tuples that the standard library's checks all
//! let through.
//! Anything else (a wrong type, a control character, a hop-by-hop name, a malformed status)
//! takes the standard path, which raises the standard library's error.

use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};

use crate::pep3333::header_fields::{has_control_chars, is_hop_by_hop_ascii};
use crate::pep3333::latin1::push_text;
use crate::pep3333::start_response::status_ok;
use crate::pyhelpers::{debug_enabled, status_checked};

/// A status and its header pairs, as the application gave them.
pub type Given = (String, Vec<(String, String)>);

/// A response's status and headers, once started.
#[derive(Default)]
pub struct StartedHead {
    /// The status text, then the header lines, in Latin-1.
    text: Vec<u8>,
    status_len: usize,
    started: bool,
    /// The Content-Length the application declared: its last one, None when that one is no
    /// number.
    pub declared: Option<u64>,
    pub has_date: bool,
    pub has_server: bool,
    /// The status and headers as given, kept only when Latin-1 cannot encode one of them: such
    /// a head is never written, and the standard library's UnicodeEncodeError is raised from
    /// this text instead (see `objects::unencodable_head`).
    pub unencodable: Option<Box<Given>>,
}

/// Room for the status line and headers of a common response.
const HEAD_ROOM: usize = 128;

impl StartedHead {
    /// A head not started yet, that will fill `buffer` (emptied) when it starts.
    pub fn with_buffer(mut buffer: Vec<u8>) -> Self {
        buffer.clear();
        // A new connection's first head: room for a common one at once, instead of the
        // reallocations of growing from nothing.
        buffer.reserve(HEAD_ROOM);
        StartedHead {
            text: buffer,
            ..StartedHead::default()
        }
    }

    /// The buffer, for the connection's next response.
    pub fn take_buffer(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.text)
    }

    pub fn is_started(&self) -> bool {
        self.started
    }

    /// Starts the response with `status`, forgetting any head started before; the headers
    /// follow through [`push`](Self::push).
    pub fn begin(&mut self, status: &str) {
        self.reset();
        self.started = true;
        self.push_latin1(status);
        self.status_len = self.text.len();
    }

    /// Adds a header line.
    pub fn push(&mut self, name: &str, value: &str) {
        if name.eq_ignore_ascii_case("content-length") {
            self.declared = value.trim().parse().ok();
        } else if name.eq_ignore_ascii_case("date") {
            self.has_date = true;
        } else if name.eq_ignore_ascii_case("server") {
            self.has_server = true;
        }
        self.push_latin1(name);
        self.text.extend_from_slice(b": ");
        self.push_latin1(value);
        self.text.extend_from_slice(b"\r\n");
    }

    /// Back to not started: for the error page that replaces a response not sent yet.
    pub fn reset(&mut self) {
        self.text.clear();
        self.status_len = 0;
        self.started = false;
        self.declared = None;
        self.has_date = false;
        self.has_server = false;
        self.unencodable = None;
    }

    /// The status text, Latin-1.
    pub fn status(&self) -> &[u8] {
        &self.text[..self.status_len]
    }

    /// The header lines, each ending in CRLF.
    pub fn lines(&self) -> &[u8] {
        &self.text[self.status_len..]
    }

    /// The status code, 500 when the status does not start with one.
    pub fn code(&self) -> u16 {
        match self.status() {
            [a, b, c, ..] if [a, b, c].iter().all(|d| d.is_ascii_digit()) => {
                u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
            }
            _ => 500,
        }
    }

    /// The status up to its first space, as the access log shows it ("" when not started).
    pub fn log_code(&self) -> String {
        if let Some(given) = &self.unencodable {
            return given.0.split(' ').next().unwrap_or_default().to_owned();
        }
        let status = self.status();
        let end = status
            .iter()
            .position(|&b| b == b' ')
            .unwrap_or(status.len());
        status[..end].iter().map(|&b| char::from(b)).collect()
    }

    /// Appends `text` in Latin-1; a character beyond it becomes '?' and marks the head as one
    /// that cannot be written (the caller keeps the original in `unencodable`).
    fn push_latin1(&mut self, text: &str) {
        push_text(&mut self.text, text);
    }
}

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

#[cfg(test)]
mod tests {
    use super::StartedHead;

    #[test]
    fn lines_and_facts() {
        let mut head = StartedHead::with_buffer(b"stale".to_vec());
        assert!(!head.is_started());
        head.begin("200 OK");
        head.push("Content-Type", "text/plain");
        head.push("content-length", " 13 ");
        head.push("Date", "x");
        assert!(head.is_started());
        assert_eq!(head.status(), b"200 OK");
        assert_eq!(
            head.lines(),
            b"Content-Type: text/plain\r\ncontent-length:  13 \r\nDate: x\r\n"
        );
        assert_eq!(
            (head.code(), head.declared, head.has_date, head.has_server),
            (200, Some(13), true, false)
        );
        assert_eq!(head.log_code(), "200");
    }

    #[test]
    fn the_last_length_counts() {
        let mut head = StartedHead::default();
        head.begin("200 OK");
        head.push("Content-Length", "5");
        head.push("Content-Length", "five");
        assert_eq!(head.declared, None);
    }

    #[test]
    fn codes() {
        for (status, code, log) in [
            ("404 Not Found", 404, "404"),
            ("2x0 OK", 500, "2x0"),
            ("20", 500, "20"),
            ("599é", 599, "599é"),
        ] {
            let mut head = StartedHead::default();
            head.begin(status);
            assert_eq!(
                (head.code(), head.log_code().as_str()),
                (code, log),
                "{status}"
            );
        }
        let head = StartedHead::default();
        assert_eq!(head.log_code(), "");
    }

    #[test]
    fn reset_forgets() {
        let mut head = StartedHead::default();
        head.begin("200 OK");
        head.push("Server", "x");
        head.reset();
        assert!(!head.is_started());
        assert_eq!(
            (head.status(), head.lines(), head.has_server),
            (&b""[..], &b""[..], false)
        );
    }
}
