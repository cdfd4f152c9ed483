//! HTTP/1.1 as RFC 9110 and RFC 9112 write it, pure: no GIL, no I/O, no other part of the engine.
//! The fuzz crate (`fuzz/`) compiles the parsers from these very files, so they name each other
//! as `super::<file>` only.
//!
//! [`parse`] (a request head, parsed with httparse, its framing decided as RFC 9112 section 6
//! asks, smuggling refused), [`chunked`] (an incremental decoder that never reads past the body),
//! [`limits`] (the bounds a request is held to), [`fields`] (a head's header fields),
//! [`host`] (the Host field and absolute-form targets), [`forwarded`] (the proxy headers of
//! trusted peers) and [`decimal`] (numbers written as text).

pub mod chunked;
pub mod decimal;
pub mod fields;
pub mod forwarded;
pub mod host;
pub mod limits;
pub mod parse;
#[cfg(test)]
pub mod rng;
