//! The WSGI environ of one request: what the standard library's `WSGIRequestHandler.get_environ()`
//! and `ServerHandler` give for the same request, built on a base copied once per request.
//!
//! Values are made by the interpreter's Latin-1 decoder straight from the request's bytes; the
//! keys, methods and versions nearly every request has are interned strings.

use std::borrow::Cow;

use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::engine::http::forwarded::{Forwarded, Scheme};
use crate::engine::http::parse::{BodyFraming, RequestHead, Version};
use crate::engine::net::peer::PeerEnviron;

/// The keys `WSGIRequestHandler.get_environ()` sets before it adds the headers: a header that
/// maps to one of them (or to a key of the server's base environ) is skipped, as there. Python
/// reads them as `wsgiref_rs._native.REQUEST_KEYS`.
pub const REQUEST_KEYS: [&str; 9] = [
    "SERVER_PROTOCOL",
    "SERVER_SOFTWARE",
    "REQUEST_METHOD",
    "PATH_INFO",
    "QUERY_STRING",
    "REMOTE_HOST",
    "REMOTE_ADDR",
    "CONTENT_TYPE",
    "CONTENT_LENGTH",
];

/// A Python `str` from bytes one character per byte (Latin-1), as `http.server` decodes a
/// request, made by the interpreter's own decoder.
fn latin1<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyString>> {
    let len = ffi::Py_ssize_t::try_from(bytes.len())
        .map_err(|_| pyo3::exceptions::PyOverflowError::new_err("text too long"))?;
    // SAFETY: pointer and length of a live slice, which the decoder copies; a null `errors`
    // means strict, and Latin-1 decoding cannot fail.
    let text = unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyUnicode_DecodeLatin1(bytes.as_ptr().cast(), len, std::ptr::null()),
        )
    }?;
    Ok(text.cast_into::<PyString>()?)
}

/// The interned `str` of the methods nearly every request has, else a new one.
fn method<'py>(py: Python<'py>, method: &str) -> PyResult<Bound<'py, PyString>> {
    Ok(match method {
        "GET" => intern!(py, "GET").clone(),
        "POST" => intern!(py, "POST").clone(),
        "HEAD" => intern!(py, "HEAD").clone(),
        "PUT" => intern!(py, "PUT").clone(),
        "DELETE" => intern!(py, "DELETE").clone(),
        "OPTIONS" => intern!(py, "OPTIONS").clone(),
        "PATCH" => intern!(py, "PATCH").clone(),
        other => latin1(py, other.as_bytes())?,
    })
}

/// The bare key (`HOST`) and `HTTP_*` key of the header fields most requests carry, interned;
/// None for the others.
fn common_keys<'py>(
    py: Python<'py>,
    name: &[u8],
) -> Option<(Bound<'py, PyString>, Bound<'py, PyString>)> {
    macro_rules! keys {
        ($($header:literal => $bare:literal),* $(,)?) => {
            $(if name.eq_ignore_ascii_case($header.as_bytes()) {
                return Some((
                    intern!(py, $bare).clone(),
                    intern!(py, concat!("HTTP_", $bare)).clone(),
                ));
            })*
        };
    }
    keys! {
        "host" => "HOST",
        "user-agent" => "USER_AGENT",
        "accept" => "ACCEPT",
        "accept-encoding" => "ACCEPT_ENCODING",
        "accept-language" => "ACCEPT_LANGUAGE",
        "connection" => "CONNECTION",
        "cookie" => "COOKIE",
        "referer" => "REFERER",
        "cache-control" => "CACHE_CONTROL",
        "origin" => "ORIGIN",
        "authorization" => "AUTHORIZATION",
        "x-forwarded-for" => "X_FORWARDED_FOR",
        "x-forwarded-proto" => "X_FORWARDED_PROTO",
        "x-real-ip" => "X_REAL_IP",
        "if-none-match" => "IF_NONE_MATCH",
        "if-modified-since" => "IF_MODIFIED_SINCE",
    }
    None
}

/// The key `WSGIRequestHandler.get_environ()` makes of a header name: `-` to `_`, upper case.
fn header_key(name: &[u8]) -> Vec<u8> {
    name.iter()
        .map(|&b| {
            if b == b'-' {
                b'_'
            } else {
                b.to_ascii_uppercase()
            }
        })
        .collect()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `urllib.parse.unquote(path, 'iso-8859-1')` as Latin-1 bytes: `%XX` becomes the byte, anything
/// malformed stays.
pub fn unquote_latin1(path: &[u8]) -> Cow<'_, [u8]> {
    if !path.contains(&b'%') {
        return Cow::Borrowed(path);
    }
    let mut out = Vec::with_capacity(path.len());
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
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(path[i]);
                i += 1;
            }
        }
    }
    Cow::Owned(out)
}

/// The path and query of a request target as `http.server` and `WSGIRequestHandler` take them:
/// the target as sent (from the path on, for an absolute-form target), a leading `//` folded to
/// `/` (gh-87389), split at the first `?`.
fn split_target(target: &[u8]) -> (Cow<'_, [u8]>, &[u8]) {
    let (path, query) = match target.iter().position(|&b| b == b'?') {
        Some(i) => (&target[..i], &target[i + 1..]),
        None => (target, &b""[..]),
    };
    let path = if path.starts_with(b"//") {
        let rest = path
            .iter()
            .position(|&b| b != b'/')
            .map_or(&b""[..], |i| &path[i..]);
        Cow::Owned([&b"/"[..], rest].concat())
    } else {
        Cow::Borrowed(path)
    };
    (path, query)
}

/// Builds the environ for `head` from `base` (the server's fixed keys); `forwarded` is what a
/// trusted proxy said about the client (None when the peer is not trusted).
#[allow(clippy::too_many_arguments)]
pub fn build<'py>(
    py: Python<'py>,
    base: &Bound<'py, PyDict>,
    head: &RequestHead,
    peer: &PeerEnviron,
    forwarded: Option<&Forwarded>,
    input: Bound<'py, PyAny>,
    allow_underscores: bool,
    request_keys: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    let env = base.copy()?;
    let protocol = match head.version {
        Version::Http11 => intern!(py, "HTTP/1.1"),
        Version::Http10 => intern!(py, "HTTP/1.0"),
    };
    env.set_item(intern!(py, "SERVER_PROTOCOL"), protocol)?;
    env.set_item(intern!(py, "REQUEST_METHOD"), method(py, &head.method)?)?;
    let (path, query) = split_target(head.target.get(head.path_start..).unwrap_or_default());
    // An absolute-form target's empty path is "/" (RFC 9112 section 3.2.1).
    let path = if path.is_empty() && head.path_start > 0 {
        Cow::Borrowed(&b"/"[..])
    } else {
        path
    };
    let path = unquote_latin1(&path);
    if *path == *b"/" {
        env.set_item(intern!(py, "PATH_INFO"), intern!(py, "/"))?;
    } else {
        env.set_item(intern!(py, "PATH_INFO"), latin1(py, &path)?)?;
    }
    if query.is_empty() {
        env.set_item(intern!(py, "QUERY_STRING"), intern!(py, ""))?;
    } else {
        env.set_item(intern!(py, "QUERY_STRING"), latin1(py, query)?)?;
    }
    match forwarded.and_then(|f| f.addr) {
        Some(ip) => env.set_item(intern!(py, "REMOTE_ADDR"), ip.to_string())?,
        None => env.set_item(intern!(py, "REMOTE_ADDR"), peer.addr.bind(py))?,
    }
    if let Some(port) = &peer.port {
        env.set_item(intern!(py, "REMOTE_PORT"), port.bind(py))?;
    }
    let first = |wanted: &str| {
        head.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(wanted.as_bytes()))
    };
    match first("content-type") {
        Some((_, v)) => env.set_item(intern!(py, "CONTENT_TYPE"), latin1(py, v)?)?,
        None => env.set_item(intern!(py, "CONTENT_TYPE"), intern!(py, "text/plain"))?,
    }
    if let Some((_, v)) = first("content-length").filter(|(_, v)| !v.is_empty()) {
        env.set_item(intern!(py, "CONTENT_LENGTH"), latin1(py, v)?)?;
    }
    for (name, value) in &head.headers {
        if !allow_underscores && name.contains(&b'_') {
            // Would pass for the dashed name's HTTP_ key: refused, as nginx and gunicorn do.
            continue;
        }
        // As the stdlib: a header whose bare key is one of the request's own keys (the server's
        // base_environ, CONTENT_TYPE, PATH_INFO, ...; not os.environ's) is skipped.
        let key = match common_keys(py, name) {
            Some((bare, key)) => {
                if request_keys.contains(bare)? {
                    continue;
                }
                key
            }
            None => {
                let bare = header_key(name);
                if request_keys.contains(latin1(py, &bare)?)? {
                    continue;
                }
                let mut key = b"HTTP_".to_vec();
                key.extend_from_slice(&bare);
                latin1(py, &key)?
            }
        };
        let value = latin1(py, value)?;
        match env.get_item(&key)? {
            Some(old) => {
                let joined = format!("{},{}", old.extract::<String>()?, value.to_str()?);
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
    if head.body == BodyFraming::Chunked {
        // Only where the standard library could not frame the body (it has no chunked
        // decoding): a Content-Length body is read by CONTENT_LENGTH, as there. Werkzeug reads
        // an input said to be terminated with read() and no size, which the validator refuses.
        env.set_item(intern!(py, "wsgi.input_terminated"), true)?;
    }
    if peer.https {
        env.set_item(intern!(py, "wsgi.url_scheme"), intern!(py, "https"))?;
        env.set_item(intern!(py, "HTTPS"), intern!(py, "on"))?;
        if let Some(subject) = &peer.client_subject {
            env.set_item(intern!(py, "SSL_CLIENT_S_DN"), subject)?;
        }
    }
    // A trusted proxy knows what its client used; it has the last word.
    match forwarded.and_then(|f| f.scheme) {
        Some(Scheme::Https) => {
            env.set_item(intern!(py, "wsgi.url_scheme"), intern!(py, "https"))?;
            env.set_item(intern!(py, "HTTPS"), intern!(py, "on"))?;
        }
        Some(Scheme::Http) => {
            env.set_item(intern!(py, "wsgi.url_scheme"), intern!(py, "http"))?;
            // The process environment's HTTPS (copied into the base) would say otherwise.
            if env.contains(intern!(py, "HTTPS"))? {
                env.del_item(intern!(py, "HTTPS"))?;
            }
        }
        None => {}
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::{header_key, unquote_latin1};

    #[test]
    fn unquote_like_urllib() {
        for (raw, want) in [
            (&b"/a%20b"[..], &b"/a b"[..]),
            (b"/%e9t%C3%A9", b"/\xe9t\xc3\xa9"),
            (b"/100%", b"/100%"),
            (b"/%zz%4", b"/%zz%4"),
            (b"/plain", b"/plain"),
        ] {
            assert_eq!(&*unquote_latin1(raw), want);
        }
    }

    #[test]
    fn header_keys() {
        for (name, key) in [
            (&b"Host"[..], &b"HOST"[..]),
            (b"x-my-header", b"X_MY_HEADER"),
            (b"Content-Type", b"CONTENT_TYPE"),
        ] {
            assert_eq!(header_key(name), key);
        }
    }
}
