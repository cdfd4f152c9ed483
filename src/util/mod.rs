//! `wsgiref.util`: environ helpers and `FileWrapper`.
//!
//! Every function follows CPython's `wsgiref.util` step by step: the same environ
//! look-ups, in the same order and with the same number of arguments, and the same
//! operators applied to the same values. The common case (an exact `dict` holding
//! exact `str` values) runs in Rust. Anything else (another mapping type, a `dict`
//! subclass, `str` subclasses, non-`str` values, lone surrogates) evaluates the very
//! expression the standard library would, through the interpreter, so user types see
//! the same calls and raise the same errors.
//!
//! One file per piece: `environ.rs` reaches the environ (an exact `dict` directly, anything
//! else through its own methods), `text.rs` builds values that stay Rust text while every
//! piece is an exact `str`, `quote.rs` percent-encodes over Latin-1, `uri.rs` holds
//! `guess_scheme`, `application_uri` and `request_uri`, `path.rs` `shift_path_info`,
//! `testing_defaults.rs` `setup_testing_defaults` and `file_wrapper.rs` `FileWrapper`;
//! `is_hop_by_hop` is `crate::pep3333::header_fields`'s, which the handlers check with too. The
//! crate uses `guess_scheme` from here.
//!
//! May use [`crate::pep3333`] and `pyhelpers`.

use pyo3::prelude::*;

mod environ;
mod file_wrapper;
mod path;
mod quote;
mod testing_defaults;
mod text;
mod uri;

pub use crate::pep3333::header_fields::is_hop_by_hop;
pub(crate) use environ::Environ;
pub use file_wrapper::FileWrapper;
use path::shift_path_info;
use testing_defaults::setup_testing_defaults;
pub use uri::guess_scheme;
use uri::{application_uri, request_uri};

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(guess_scheme, m)?)?;
    m.add_function(wrap_pyfunction!(application_uri, m)?)?;
    m.add_function(wrap_pyfunction!(request_uri, m)?)?;
    m.add_function(wrap_pyfunction!(shift_path_info, m)?)?;
    m.add_function(wrap_pyfunction!(setup_testing_defaults, m)?)?;
    m.add_function(wrap_pyfunction!(is_hop_by_hop, m)?)?;
    m.add_class::<FileWrapper>()?;
    // PyO3 names the type "wsgiref_rs.util.FileWrapper" in `tp_name`, which the
    // interpreter prints in its own messages ("'...' object has no attribute 'x'",
    // "... is not subscriptable"); the stdlib's class prints plain 'FileWrapper'.
    // `__module__` (already "wsgiref_rs.util"), `__name__` and `__qualname__` live
    // elsewhere and are unaffected.
    let ty = m.py().get_type::<FileWrapper>();
    // SAFETY: `ty` is a live type object and we hold the GIL during module
    // initialisation, before any other code can see the type. `tp_name` is only a
    // pointer the interpreter reads for messages; the heap type keeps (and frees) its
    // own copy of the original name separately, so pointing `tp_name` at a 'static
    // C string leaks nothing and never dangles.
    unsafe {
        (*ty.as_type_ptr()).tp_name = c"FileWrapper".as_ptr();
    }
    Ok(())
}
