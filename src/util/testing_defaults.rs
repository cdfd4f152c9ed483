//! `setup_testing_defaults`: the environ keys a WSGI application expects, added in the
//! stdlib's order without replacing any.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyTuple;

use super::environ::Environ;
use super::text::Text;
use super::uri::is_https;

static BYTES_IO: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static STRING_IO: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static WSGI_VERSION: PyOnceLock<Py<PyTuple>> = PyOnceLock::new();

/// Update 'environ' with trivial defaults for testing purposes
///
/// Adds the CGI and wsgi.* keys a WSGI application expects, in the stdlib's order,
/// never replacing a key already present; wsgi.input and wsgi.errors are a fresh
/// BytesIO and StringIO.
/// Holds the GIL (no I/O).
#[pyfunction]
#[pyo3(signature = (environ))]
pub(super) fn setup_testing_defaults(py: Python<'_>, environ: &Bound<'_, PyAny>) -> PyResult<()> {
    let env = Environ::new(environ);
    let server_name = intern!(py, "SERVER_NAME");
    let script_name = intern!(py, "SCRIPT_NAME");
    let path_info = intern!(py, "PATH_INFO");
    let url_scheme = intern!(py, "wsgi.url_scheme");

    env.setdefault(server_name, intern!(py, "127.0.0.1"))?;
    env.setdefault(intern!(py, "SERVER_PROTOCOL"), intern!(py, "HTTP/1.0"))?;
    env.setdefault(intern!(py, "HTTP_HOST"), &env.item(server_name)?)?;
    env.setdefault(intern!(py, "REQUEST_METHOD"), intern!(py, "GET"))?;
    if !env.contains(script_name)? && !env.contains(path_info)? {
        env.setdefault(script_name, intern!(py, ""))?;
        env.setdefault(path_info, intern!(py, "/"))?;
    }

    let version =
        WSGI_VERSION.get_or_try_init(py, || PyTuple::new(py, [1, 0]).map(Bound::unbind))?;
    env.setdefault(intern!(py, "wsgi.version"), version.bind(py))?;
    let zero = 0_i32.into_pyobject(py)?.into_any();
    env.setdefault(intern!(py, "wsgi.run_once"), &zero)?;
    env.setdefault(intern!(py, "wsgi.multithread"), &zero)?;
    env.setdefault(intern!(py, "wsgi.multiprocess"), &zero)?;

    env.setdefault_with(intern!(py, "wsgi.input"), || {
        BYTES_IO.import(py, "io", "BytesIO")?.call0()
    })?;
    env.setdefault_with(intern!(py, "wsgi.errors"), || {
        STRING_IO.import(py, "io", "StringIO")?.call0()
    })?;
    let scheme = if is_https(&env, py)? {
        intern!(py, "https")
    } else {
        intern!(py, "http")
    };
    env.setdefault(url_scheme, scheme)?;

    let server_port = intern!(py, "SERVER_PORT");
    if Text::of(env.item(url_scheme)?).eq_str("http")? {
        env.setdefault(server_port, intern!(py, "80"))?;
    } else if Text::of(env.item(url_scheme)?).eq_str("https")? {
        env.setdefault(server_port, intern!(py, "443"))?;
    }
    Ok(())
}
