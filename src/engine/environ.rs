//! The WSGI environ of one request: what the standard library's `WSGIRequestHandler.get_environ()`
//! and `ServerHandler` give for the same request, built on a base copied once per request.

use std::net::SocketAddr;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use super::parse::RequestHead;

/// Text from bytes one character per byte (Latin-1), as `http.server` decodes a request.
fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `urllib.parse.unquote(path, 'iso-8859-1')`: `%XX` becomes the byte, anything malformed stays.
pub fn unquote_latin1(path: &[u8]) -> String {
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < path.len() {
        let decoded = match (
            path.get(i),
            path.get(i + 1).copied().and_then(hex),
            path.get(i + 2).copied().and_then(hex),
        ) {
            (Some(b'%'), Some(hi), Some(lo)) => Some((hi << 4) | lo),
            _ => None,
        };
        match decoded {
            Some(byte) => {
                out.push(char::from(byte));
                i += 3;
            }
            None => {
                out.push(char::from(path[i]));
                i += 1;
            }
        }
    }
    out
}

/// The path and query of a request target as `http.server` and `WSGIRequestHandler` take them:
/// the target as sent (an absolute-form target keeps its scheme and host), a leading `//`
/// folded to `/` (gh-87389), split at the first `?`.
fn split_target(target: &[u8]) -> (Vec<u8>, &[u8]) {
    let (path, query) = match target.iter().position(|&b| b == b'?') {
        Some(i) => (&target[..i], &target[i + 1..]),
        None => (target, &b""[..]),
    };
    let path = if path.starts_with(b"//") {
        let rest = path
            .iter()
            .position(|&b| b != b'/')
            .map_or(&b""[..], |i| &path[i..]);
        [&b"/"[..], rest].concat()
    } else {
        path.to_vec()
    };
    (path, query)
}

/// Builds the environ for `head` from `base` (the server's fixed keys).
pub fn build<'py>(
    py: Python<'py>,
    base: &Bound<'py, PyDict>,
    head: &RequestHead,
    peer: SocketAddr,
    input: Bound<'py, PyAny>,
    allow_underscores: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let env = base.copy()?;
    env.set_item(intern!(py, "SERVER_PROTOCOL"), head.version.as_str())?;
    env.set_item(intern!(py, "REQUEST_METHOD"), head.method.as_str())?;
    let (path, query) = split_target(&head.target);
    env.set_item(intern!(py, "PATH_INFO"), unquote_latin1(&path))?;
    env.set_item(intern!(py, "QUERY_STRING"), latin1(query))?;
    env.set_item(intern!(py, "REMOTE_ADDR"), peer.ip().to_string())?;
    env.set_item(intern!(py, "REMOTE_PORT"), peer.port().to_string())?;
    let first = |wanted: &str| {
        head.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(wanted.as_bytes()))
    };
    match first("content-type") {
        Some((_, v)) => env.set_item(intern!(py, "CONTENT_TYPE"), latin1(v))?,
        None => env.set_item(intern!(py, "CONTENT_TYPE"), intern!(py, "text/plain"))?,
    }
    if let Some((_, v)) = first("content-length").filter(|(_, v)| !v.is_empty()) {
        env.set_item(intern!(py, "CONTENT_LENGTH"), latin1(v))?;
    }
    for (name, value) in &head.headers {
        if !allow_underscores && name.contains(&b'_') {
            // Would pass for the dashed name's HTTP_ key: refused, as nginx and gunicorn do.
            continue;
        }
        let key: String = name
            .iter()
            .map(|&b| {
                if b == b'-' {
                    '_'
                } else {
                    char::from(b.to_ascii_uppercase())
                }
            })
            .collect();
        if env.contains(key.as_str())? {
            continue;
        }
        let key = PyString::new(py, &format!("HTTP_{key}"));
        let value = latin1(value);
        match env.get_item(&key)? {
            Some(old) => {
                let joined = format!("{},{}", old.extract::<String>()?, value);
                env.set_item(&key, joined)?;
            }
            None => env.set_item(&key, value)?,
        }
    }
    env.set_item(intern!(py, "wsgi.input"), input)?;
    env.set_item(
        intern!(py, "wsgi.errors"),
        crate::pyhelpers::sys_module(py)?.getattr(intern!(py, "stderr"))?,
    )?;
    env.set_item(intern!(py, "wsgi.input_terminated"), true)?;
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::unquote_latin1;

    #[test]
    fn unquote_like_urllib() {
        for (raw, want) in [
            (&b"/a%20b"[..], "/a b"),
            (b"/%e9t%C3%A9", "/\u{e9}t\u{c3}\u{a9}"),
            (b"/100%", "/100%"),
            (b"/%zz%4", "/%zz%4"),
            (b"/plain", "/plain"),
        ] {
            assert_eq!(unquote_latin1(raw), want);
        }
    }
}
