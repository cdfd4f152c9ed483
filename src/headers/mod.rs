//! `wsgiref.headers`: the `Headers` response-header collection.
//!
//! `Headers` wraps a caller's list of `(name, value)` tuples (the very list object, so changes
//! made through either side are seen by the other) and looks names up case-insensitively.
//! Behaviour follows the standard library class of the newest CPython, including its check that
//! names and values hold no control characters.
//!
//! Speed comes from a fast path for the overwhelmingly common data (exact 2-tuples of exact,
//! ASCII `str`) on an instance of exactly this class. Anything else (odd list items, non-ASCII
//! names, subclasses that override `get` or `_convert_string_type`) goes through the interpreter
//! so the result is the one Python code would give.
//!
//! One file per piece: `instance.rs` is what an instance holds; `class.rs` the Python class's
//! methods; `checks.rs` the type and control-character checks (and `Conv`, which runs a
//! subclass's own check instead); `lookup.rs` case-insensitive lookup by name (`Needle`) and the
//! base class's `get`,
//! `get_all` and `__delitem__`; `render.rs` the text the class produces (`str`, `repr`, MIME
//! parameters); `overrides.rs` tells which base methods a subclass replaced; `api.rs` is the
//! Rust API the handlers use, re-exported here.
//!
//! May use [`crate::pep3333`] and `pyhelpers`.

use pyo3::prelude::*;

mod api;
mod checks;
mod class;
mod instance;
mod lookup;
mod overrides;
mod render;

pub use api::{contains, get_first, len, pairs, set, set_default, to_bytes};
pub use instance::Headers;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Headers>()?;
    Ok(())
}
