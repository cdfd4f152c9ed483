//! What every request of a server shares: where its application comes from, the base environ,
//! the limits and timeouts, the trusted proxies, the logger, the stop signal and the request
//! objects kept for reuse. Made once by `Engine()`; read by every request.

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::engine::http::forwarded::TrustedProxies;
use crate::engine::http::limits::Limits;
use crate::engine::wsgi::recycled::Spare;
use crate::engine::wsgi::response::ServerSide;
use crate::engine::wsgi::scoreboard::Board;

/// Where each request's application comes from. The standard library's handler asks
/// `server.get_app()` for each request, so `set_app()` while serving holds from the next one on.
pub enum AppSource {
    /// The same application for every request (`wsgiref_rs.serve()`).
    Fixed(Py<PyAny>),
    /// A `WSGIServer` whose `get_app()` is overridden: called for each request.
    GetApp(Py<PyAny>),
    /// A `WSGIServer` whose class keeps `WSGIServer.get_app()`, `return self.application`, and
    /// plain attribute access (no `__getattribute__` of its own, no data descriptor named
    /// `application`), and its instance `__dict__`: the attribute is read from there for each
    /// request (from the class when the instance has none), which spares a Python call, unless
    /// a `get_app` has been set on the instance since.
    Application { server: Py<PyAny>, dict: Py<PyDict> },
}

impl AppSource {
    /// The application to call for the request about to be served.
    pub fn current<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self {
            AppSource::Fixed(app) => Ok(app.bind(py).clone()),
            AppSource::GetApp(server) => server.bind(py).call_method0(pyo3::intern!(py, "get_app")),
            AppSource::Application { server, dict } => {
                let dict = dict.bind(py);
                if let Some(get_app) = dict.get_item(pyo3::intern!(py, "get_app"))? {
                    return get_app.call0();
                }
                match dict.get_item(pyo3::intern!(py, "application"))? {
                    Some(app) => Ok(app),
                    None => server.bind(py).getattr(pyo3::intern!(py, "application")),
                }
            }
        }
    }
}

/// What every request of a server shares.
pub struct Settings {
    pub app: AppSource,
    pub base_environ: Py<PyDict>,
    /// The server's name and stop signal, which each request's response reads.
    pub server: Arc<ServerSide>,
    pub limits: Limits,
    pub timeout: Duration,
    /// `log(requestline, code, size, client_address)`, or None when logging is off.
    pub log: Option<Py<PyAny>>,
    /// Whether `log` also takes the request's details (see [`crate::engine::wsgi::request`]):
    /// a custom access-log format needs them, the Common Log Format does not.
    pub log_details: bool,
    pub allow_underscores: bool,
    /// The keys `WSGIRequestHandler.get_environ()` has set before it adds the headers (the
    /// server's base_environ and the request's CGI keys): a header that maps to one is skipped.
    pub request_keys: Py<PyAny>,
    /// `remote_host(ip, port)`: REMOTE_HOST for a request, or None to keep the base environ's;
    /// set when the handler class overrides `address_string`.
    pub remote_host: Option<Py<PyAny>>,
    /// The peers whose X-Forwarded-For, X-Forwarded-Proto and Forwarded headers count.
    pub forwarded: TrustedProxies,
    /// The request objects the application kept nothing of, for the next requests.
    pub spare_objects: Spare,
    /// Where the supervisor watches this worker's requests; None: nobody watches.
    pub scoreboard: Option<Arc<Board>>,
}

/// Servers of Python applications, for the engine's tests.
#[cfg(test)]
pub mod testing {
    use std::ffi::CStr;

    use pyo3::types::{PyFrozenSet, PyModule};

    use super::*;
    use crate::engine::stop::StopSignal;

    /// Runs `f` attached to an interpreter started for the tests.
    pub fn with_python<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> R {
        Python::initialize();
        Python::attach(f)
    }

    /// The `app` that the Python `source` defines.
    pub fn python_app<'py>(py: Python<'py>, source: &CStr) -> Bound<'py, PyAny> {
        PyModule::from_code(py, source, c"test_app.py", c"test_app")
            .and_then(|module| module.getattr("app"))
            .expect("the test application")
    }

    /// The settings of a server of `app`, with the defaults elsewhere and a short timeout.
    pub fn settings(py: Python<'_>, app: &Bound<'_, PyAny>) -> Arc<Settings> {
        let base_environ = PyDict::new(py);
        for (key, value) in [("SERVER_NAME", "localhost"), ("SERVER_PORT", "80")] {
            base_environ.set_item(key, value).unwrap();
        }
        Arc::new(Settings {
            app: AppSource::Fixed(app.clone().unbind()),
            base_environ: base_environ.unbind(),
            server: Arc::new(ServerSide {
                software: "test-server/1".into(),
                stop: StopSignal::default(),
            }),
            limits: Limits::default(),
            timeout: Duration::from_secs(5),
            log: None,
            log_details: false,
            allow_underscores: false,
            request_keys: PyFrozenSet::empty(py).unwrap().into_any().unbind(),
            remote_host: None,
            forwarded: TrustedProxies::default(),
            spare_objects: Default::default(),
            scoreboard: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use pyo3::types::PyString;

    use super::testing::with_python;
    use super::*;

    #[test]
    fn each_request_asks_its_application_where_the_stdlib_would() {
        with_python(|py| {
            let globals = PyDict::new(py);
            py.run(
                cr#"
class Server:
    application = "class attribute"
    def get_app(self):
        return self.application

class Overriding(Server):
    def get_app(self):
        return "get_app()"

plain, overriding = Server(), Overriding()
"#,
                Some(&globals),
                None,
            )
            .unwrap();
            let item = |name: &str| globals.get_item(name).unwrap().unwrap();
            let (plain, overriding) = (item("plain"), item("overriding"));
            let current =
                |source: &AppSource| -> String { source.current(py).unwrap().extract().unwrap() };
            let fixed = AppSource::Fixed(PyString::new(py, "fixed").into_any().unbind());
            assert_eq!(current(&fixed), "fixed");
            assert_eq!(
                current(&AppSource::GetApp(overriding.unbind())),
                "get_app()"
            );
            let dict = plain
                .getattr("__dict__")
                .unwrap()
                .cast_into::<PyDict>()
                .unwrap();
            let read = AppSource::Application {
                server: plain.clone().unbind(),
                dict: dict.clone().unbind(),
            };
            assert_eq!(current(&read), "class attribute", "none on the instance");
            plain.setattr("application", "set_app()").unwrap();
            assert_eq!(
                current(&read),
                "set_app()",
                "set while serving: the next request"
            );
            let instance_get_app = py.eval(c"lambda: 'instance get_app'", None, None).unwrap();
            plain.setattr("get_app", instance_get_app).unwrap();
            assert_eq!(current(&read), "instance get_app");
        });
    }
}
