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

use super::dispatch::{Dispatch, Hook, Impl};
use super::instance::HandlerCore;

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
