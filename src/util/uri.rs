//! The request's URL as the environ describes it: `guess_scheme`, `application_uri` and
//! `request_uri`.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyString, PyTuple};

use super::environ::Environ;
use super::quote::{quote, Safe};
use super::text::Text;
use crate::pyhelpers::{exact_str, Given};

static HTTPS_VALUES: PyOnceLock<Py<PyTuple>> = PyOnceLock::new();

/// Whether an `HTTPS` value turns `guess_scheme` to 'https'.
pub fn https_flag(value: &str) -> bool {
    matches!(value, "yes" | "on" | "1")
}

/// `guess_scheme`'s test: `environ.get("HTTPS") in ('yes', 'on', '1')`.
pub(super) fn is_https(env: &Environ<'_, '_>, py: Python<'_>) -> PyResult<bool> {
    let value = env.get(intern!(py, "HTTPS"))?;
    if value.is_none() {
        return Ok(false);
    }
    if let Some(s) = exact_str(&value) {
        return Ok(https_flag(s));
    }
    let values = HTTPS_VALUES.get_or_try_init(py, || {
        PyTuple::new(py, ["yes", "on", "1"]).map(Bound::unbind)
    })?;
    values.bind(py).contains(value)
}

/// Return a guess for whether 'wsgi.url_scheme' should be 'http' or 'https'
///
/// 'https' when `environ.get("HTTPS")` is 'yes', 'on' or '1', else 'http'.
/// Holds the GIL (no I/O).
#[pyfunction]
#[pyo3(signature = (environ))]
pub fn guess_scheme<'py>(
    py: Python<'py>,
    environ: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyString>> {
    Ok(if is_https(&Environ::new(environ), py)? {
        intern!(py, "https").clone()
    } else {
        intern!(py, "http").clone()
    })
}

fn application_uri_text<'py>(py: Python<'py>, env: &Environ<'_, 'py>) -> PyResult<Text<'py>> {
    let scheme_key = intern!(py, "wsgi.url_scheme");
    let mut url = Text::of(env.item(scheme_key)?).add(py, intern!(py, "://").as_any())?;
    let host = env.get(intern!(py, "HTTP_HOST"))?;
    if host.is_truthy()? {
        url.iadd(py, &env.item(intern!(py, "HTTP_HOST"))?)?;
    } else {
        url.iadd(py, &env.item(intern!(py, "SERVER_NAME"))?)?;
        let default_port = if Text::of(env.item(scheme_key)?).eq_str("https")? {
            "443"
        } else {
            "80"
        };
        let port_key = intern!(py, "SERVER_PORT");
        let port = env.item(port_key)?;
        let differs = match exact_str(&port) {
            Some(p) => p != default_port,
            None => port.ne(default_port)?,
        };
        if differs {
            let suffix = Text::Rust(":".to_owned()).add(py, &env.item(port_key)?)?;
            url.iadd_text(py, suffix)?;
        }
    }
    let script_name = env.get(intern!(py, "SCRIPT_NAME"))?;
    let script_name = if script_name.is_truthy()? {
        script_name
    } else {
        intern!(py, "/").clone().into_any()
    };
    url.iadd_text(py, quote(py, script_name, Safe::ScriptName)?)?;
    Ok(url)
}

/// Return the application's base URI (no PATH_INFO or QUERY_STRING)
///
/// Scheme, then HTTP_HOST (or SERVER_NAME plus a non-default SERVER_PORT), then the
/// latin-1 percent-encoded SCRIPT_NAME (or '/').
/// Holds the GIL (no I/O).
#[pyfunction]
#[pyo3(signature = (environ))]
pub(super) fn application_uri<'py>(
    py: Python<'py>,
    environ: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(application_uri_text(py, &Environ::new(environ))?.into_object(py))
}

/// Return the full request URI, optionally including the query string
///
/// `application_uri(environ)`, then the percent-encoded PATH_INFO, then '?' and
/// QUERY_STRING when `include_query` is true and QUERY_STRING is not empty.
/// Holds the GIL (no I/O).
#[pyfunction]
#[pyo3(
    signature = (environ, include_query = Given(None)),
    text_signature = "(environ, include_query=True)"
)]
pub(super) fn request_uri<'py>(
    py: Python<'py>,
    environ: &Bound<'py, PyAny>,
    include_query: Given<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    let env = Environ::new(environ);
    let mut url = application_uri_text(py, &env)?;
    let path_info = env.get_or(intern!(py, "PATH_INFO"), intern!(py, ""))?;
    let path_info = quote(py, path_info, Safe::PathInfo)?;
    if env.get(intern!(py, "SCRIPT_NAME"))?.is_truthy()? {
        url.iadd_text(py, path_info)?;
    } else {
        url.iadd_text(py, path_info.drop_first(py)?)?;
    }
    let include_query = match include_query.0 {
        Some(flag) => flag.is_truthy()?,
        None => true,
    };
    if include_query && env.get(intern!(py, "QUERY_STRING"))?.is_truthy()? {
        let query = Text::Rust("?".to_owned()).add(py, &env.item(intern!(py, "QUERY_STRING"))?)?;
        url.iadd_text(py, query)?;
    }
    Ok(url.into_object(py))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_flag_table() {
        // (HTTPS value, https?)
        let cases = [
            ("yes", true),
            ("on", true),
            ("1", true),
            ("YES", false),
            ("", false),
            ("off", false),
        ];
        for (value, expected) in cases {
            assert_eq!(https_flag(value), expected, "{value:?}");
        }
    }
}
