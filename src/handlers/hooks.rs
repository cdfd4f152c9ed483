//! Which of `BaseHandler`'s overridable methods a handler really uses.
//!
//! CPython's `BaseHandler` is a template: every step calls `self.<hook>()`, and a subclass (or an
//! instance attribute) may replace any of them. Going through Python for each of the twenty-odd
//! steps of a request would cost more than the work itself, so each hook is resolved once per class
//! (cached by the type's version tag, which CPython bumps whenever the class or a base changes)
//! and once per call into the handler for instance attributes. A hook that still resolves to our
//! own native method is run directly in Rust; anything else is called through Python, so an
//! override always wins.

use std::collections::HashMap;

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyType};

use super::core::HandlerCore;

/// The overridable methods of `BaseHandler`, named as in CPython.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Hook {
    SetupEnviron,
    FinishResponse,
    GetScheme,
    SetContentLength,
    CleanupHeaders,
    StartResponse,
    ConvertStringType,
    SendPreamble,
    Write,
    Sendfile,
    FinishContent,
    Close,
    SendHeaders,
    ResultIsFile,
    ClientIsModern,
    LogException,
    HandleError,
    ErrorOutput,
    RawWrite,
    RawFlush,
    GetStdin,
    GetStderr,
    AddCgiVars,
    /// Python 3.12 on.
    ValidateStatus,
}

impl Hook {
    pub const ALL: [Hook; 24] = [
        Hook::SetupEnviron,
        Hook::FinishResponse,
        Hook::GetScheme,
        Hook::SetContentLength,
        Hook::CleanupHeaders,
        Hook::StartResponse,
        Hook::ConvertStringType,
        Hook::SendPreamble,
        Hook::Write,
        Hook::Sendfile,
        Hook::FinishContent,
        Hook::Close,
        Hook::SendHeaders,
        Hook::ResultIsFile,
        Hook::ClientIsModern,
        Hook::LogException,
        Hook::HandleError,
        Hook::ErrorOutput,
        Hook::RawWrite,
        Hook::RawFlush,
        Hook::GetStdin,
        Hook::GetStderr,
        Hook::AddCgiVars,
        Hook::ValidateStatus,
    ];

    /// Whether the running version's `BaseHandler` has this method: `_validate_status` came in
    /// 3.12 (before, a subclass's method of that name is never called).
    pub fn exists(self) -> bool {
        cfg!(Py_3_12) || self != Hook::ValidateStatus
    }

    /// The method's Python name.
    pub fn name(self) -> &'static str {
        match self {
            Hook::SetupEnviron => "setup_environ",
            Hook::FinishResponse => "finish_response",
            Hook::GetScheme => "get_scheme",
            Hook::SetContentLength => "set_content_length",
            Hook::CleanupHeaders => "cleanup_headers",
            Hook::StartResponse => "start_response",
            Hook::ConvertStringType => "_convert_string_type",
            Hook::SendPreamble => "send_preamble",
            Hook::Write => "write",
            Hook::Sendfile => "sendfile",
            Hook::FinishContent => "finish_content",
            Hook::Close => "close",
            Hook::SendHeaders => "send_headers",
            Hook::ResultIsFile => "result_is_file",
            Hook::ClientIsModern => "client_is_modern",
            Hook::LogException => "log_exception",
            Hook::HandleError => "handle_error",
            Hook::ErrorOutput => "error_output",
            Hook::RawWrite => "_write",
            Hook::RawFlush => "_flush",
            Hook::GetStdin => "get_stdin",
            Hook::GetStderr => "get_stderr",
            Hook::AddCgiVars => "add_cgi_vars",
            Hook::ValidateStatus => "_validate_status",
        }
    }

    /// The name of the `SimpleHandler` flavour of this hook on `HandlerCore`, if it has one.
    fn simple_name(self) -> Option<&'static str> {
        match self {
            Hook::RawWrite => Some("_simple_write"),
            Hook::RawFlush => Some("_simple_flush"),
            Hook::GetStdin => Some("_simple_get_stdin"),
            Hook::GetStderr => Some("_simple_get_stderr"),
            Hook::AddCgiVars => Some("_simple_add_cgi_vars"),
            _ => None,
        }
    }

    fn from_name(name: &str) -> Option<Hook> {
        Some(match name {
            "setup_environ" => Hook::SetupEnviron,
            "finish_response" => Hook::FinishResponse,
            "get_scheme" => Hook::GetScheme,
            "set_content_length" => Hook::SetContentLength,
            "cleanup_headers" => Hook::CleanupHeaders,
            "start_response" => Hook::StartResponse,
            "_convert_string_type" => Hook::ConvertStringType,
            "send_preamble" => Hook::SendPreamble,
            "write" => Hook::Write,
            "sendfile" => Hook::Sendfile,
            "finish_content" => Hook::FinishContent,
            "close" => Hook::Close,
            "send_headers" => Hook::SendHeaders,
            "result_is_file" => Hook::ResultIsFile,
            "client_is_modern" => Hook::ClientIsModern,
            "log_exception" => Hook::LogException,
            "handle_error" => Hook::HandleError,
            "error_output" => Hook::ErrorOutput,
            "_write" => Hook::RawWrite,
            "_flush" => Hook::RawFlush,
            "get_stdin" => Hook::GetStdin,
            "get_stderr" => Hook::GetStderr,
            "add_cgi_vars" => Hook::AddCgiVars,
            "_validate_status" => Hook::ValidateStatus,
            _ => return None,
        })
    }
}

/// How one hook resolves for a given handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impl {
    /// `BaseHandler`'s own method, run in Rust.
    Base,
    /// `SimpleHandler`'s method, run in Rust.
    Simple,
    /// Overridden: call it through Python.
    Python,
}

/// The resolution of every hook for one handler: two bits a hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dispatch(u64);

impl Dispatch {
    const fn all_base() -> Self {
        Dispatch(0)
    }

    pub fn get(self, hook: Hook) -> Impl {
        match (self.0 >> (2 * hook as u32)) & 0b11 {
            0 => Impl::Base,
            1 => Impl::Simple,
            _ => Impl::Python,
        }
    }

    fn set(&mut self, hook: Hook, imp: Impl) {
        let shift = 2 * hook as u32;
        let bits = match imp {
            Impl::Base => 0,
            Impl::Simple => 1,
            Impl::Python => 2,
        };
        self.0 = (self.0 & !(0b11 << shift)) | (bits << shift);
    }

    /// Marks that per-request state may be read from and written to the instance `__dict__`
    /// directly: the class keeps `object`'s attribute access and has no data descriptor for any
    /// state name, so the dict is exactly what `getattr`/`setattr` would use.
    const PLAIN_STATE: u64 = 1 << 62;

    pub fn plain_state(self) -> bool {
        self.0 & Self::PLAIN_STATE != 0
    }

    fn set_plain_state(&mut self, plain: bool) {
        if plain {
            self.0 |= Self::PLAIN_STATE;
        } else {
            self.0 &= !Self::PLAIN_STATE;
        }
    }

    /// True when the hook runs natively (either flavour).
    pub fn native(self, hook: Hook) -> bool {
        self.get(hook) != Impl::Python
    }

    /// Packs the dispatch for caching in an atomic; bit 63 marks "present".
    pub fn pack(self) -> u64 {
        self.0 | (1 << 63)
    }

    pub fn unpack(bits: u64) -> Option<Dispatch> {
        (bits >> 63 == 1).then_some(Dispatch(bits & !(1 << 63)))
    }
}

/// Our own method objects on `HandlerCore`, per hook: (base flavour, simple flavour).
struct NativeMethods(Vec<(Py<PyAny>, Option<Py<PyAny>>)>);

static NATIVE_METHODS: PyOnceLock<NativeMethods> = PyOnceLock::new();

/// Per-class resolutions, keyed by the type's address and checked against its version tag.
static BY_TYPE: Mutex<Option<HashMap<usize, (u32, Dispatch)>>> = Mutex::new(None);

fn native_methods(py: Python<'_>) -> PyResult<&NativeMethods> {
    NATIVE_METHODS.get_or_try_init(py, || {
        let core = py.get_type::<HandlerCore>();
        let mut out = Vec::with_capacity(Hook::ALL.len());
        for hook in Hook::ALL.into_iter().filter(|h| h.exists()) {
            let base = core.getattr(hook.name())?.unbind();
            let simple = match hook.simple_name() {
                Some(n) => Some(core.getattr(n)?.unbind()),
                None => None,
            };
            out.push((base, simple));
        }
        Ok(NativeMethods(out))
    })
}

fn version_tag(ty: &Bound<'_, PyType>) -> u32 {
    // SAFETY: `ty` is a live type object; reading its version tag is what CPython's own method
    // cache does. A tag of 0 means "no valid tag", which we never cache.
    unsafe { (*ty.as_type_ptr()).tp_version_tag }
}

/// The handler's per-request state attributes, set by CPython's code on the instance.
pub const STATE_NAMES: [&str; 13] = [
    "status",
    "headers",
    "result",
    "environ",
    "bytes_sent",
    "headers_sent",
    "stdin",
    "stdout",
    "stderr",
    "base_env",
    "wsgi_multithread",
    "wsgi_multiprocess",
    "_flush",
];

/// Whether instances of `ty` keep their state in `__dict__` with nothing in between.
fn state_is_plain(ty: &Bound<'_, PyType>) -> PyResult<bool> {
    let py = ty.py();
    let object = py.get_type::<pyo3::types::PyAny>();
    for special in ["__getattribute__", "__setattr__"] {
        if !ty.getattr(special)?.is(&object.getattr(special)?) {
            return Ok(false);
        }
    }
    let mro = ty.getattr("__mro__")?;
    for name in STATE_NAMES {
        for class in mro.try_iter()? {
            let found = class?.getattr("__dict__")?.get_item(name).ok();
            if let Some(found) = found {
                let kind = found.get_type();
                if kind.hasattr("__set__")? || kind.hasattr("__delete__")? {
                    return Ok(false);
                }
                break;
            }
        }
    }
    Ok(true)
}

fn resolve_type(ty: &Bound<'_, PyType>) -> PyResult<Dispatch> {
    let py = ty.py();
    let natives = native_methods(py)?;
    let mut d = Dispatch::all_base();
    let hooks = Hook::ALL.iter().filter(|h| h.exists());
    for (hook, (base, simple)) in hooks.zip(natives.0.iter()) {
        let found = ty.getattr(hook.name())?;
        let imp = if found.is(base.bind(py)) {
            Impl::Base
        } else if simple.as_ref().is_some_and(|s| found.is(s.bind(py))) {
            Impl::Simple
        } else {
            Impl::Python
        };
        d.set(*hook, imp);
    }
    d.set_plain_state(state_is_plain(ty)?);
    Ok(d)
}

/// The hooks as `type(handler)` defines them (cached).
fn for_type(ty: &Bound<'_, PyType>) -> PyResult<Dispatch> {
    let key = ty.as_type_ptr() as usize;
    let tag = version_tag(ty);
    if tag != 0 {
        if let Some(map) = BY_TYPE.lock().as_ref() {
            if let Some(&(cached_tag, d)) = map.get(&key) {
                if cached_tag == tag {
                    return Ok(d);
                }
            }
        }
    }
    let d = resolve_type(ty)?;
    // The lookups above give the type a valid tag if it had none.
    let tag = version_tag(ty);
    if tag != 0 {
        BY_TYPE
            .lock()
            .get_or_insert_with(HashMap::new)
            .insert(key, (tag, d));
    }
    Ok(d)
}

/// The hooks as this handler instance sees them: its class's, less any shadowed by an instance
/// attribute of the same name.
pub fn for_instance(slf: &Bound<'_, PyAny>) -> PyResult<Dispatch> {
    let mut d = for_type(&slf.get_type())?;
    if let Ok(dict) = slf.getattr(pyo3::intern!(slf.py(), "__dict__")) {
        if let Ok(dict) = dict.cast::<PyDict>() {
            for key in dict.keys() {
                if let Ok(key) = key.cast::<PyString>() {
                    if let Some(hook) = key.to_str().ok().and_then(Hook::from_name) {
                        d.set(hook, Impl::Python);
                    }
                }
            }
        }
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_packs_two_bits_per_hook() {
        let mut d = Dispatch::all_base();
        d.set(Hook::RawWrite, Impl::Simple);
        d.set(Hook::Write, Impl::Python);
        assert_eq!(d.get(Hook::RawWrite), Impl::Simple);
        assert_eq!(d.get(Hook::Write), Impl::Python);
        assert_eq!(d.get(Hook::AddCgiVars), Impl::Base);
        assert_eq!(Dispatch::unpack(d.pack()), Some(d));
        assert_eq!(Dispatch::unpack(0), None);
    }

    #[test]
    fn hook_names_round_trip() {
        for hook in Hook::ALL {
            assert_eq!(Hook::from_name(hook.name()), Some(hook));
        }
        assert_eq!(Hook::from_name("run"), None);
    }
}
